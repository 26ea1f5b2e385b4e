import Foundation
import PRNG
import Training
import XCTest

#if canImport(FoundationXML)
  import FoundationXML
#endif

final class ReportTests: XCTestCase {
  /// Perplexity calibration: every row of the conditional affinities has entropy log(30) nats.
  func testAffinitiesMatchThePerplexity() {
    let points = randomPoints(count: 120, dimensions: 5, clusters: 1, seed: 1)
    var tsne = TSNE()
    tsne.perplexity = 30
    let p = tsne.jointProbabilities(points)
    let n = points.count
    XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6)
    for i in 0..<n { XCTAssertEqual(p[i * n + (i + 1) % n], p[((i + 1) % n) * n + i]) }
    for i in [0, 57, 119] {
      var distances = [Double](repeating: 0, count: n)
      for j in 0..<n {
        distances[j] = zip(points[i], points[j]).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
      }
      let row = tsne.conditionalRow(distances: distances, of: i)
      let entropy = -row.filter { $0 > 0 }.reduce(0) { $0 + $1 * log($1) }
      XCTAssertEqual(exp(entropy), 30, accuracy: 0.01)
      XCTAssertEqual(row[i], 0)
    }
  }

  /// Three well-separated clusters in 10-D stay separated in 2-D: every point's nearest
  /// neighbour in the embedding belongs to its own cluster.
  func testEmbeddingKeepsClustersApart() {
    let points = randomPoints(count: 90, dimensions: 10, clusters: 3, seed: 2)
    var tsne = TSNE()
    tsne.perplexity = 10
    tsne.iterations = 400
    let y = tsne.embed(points)
    for i in y.indices {
      let nearest = y.indices.filter { $0 != i }.min {
        hypot(y[$0].x - y[i].x, y[$0].y - y[i].y) < hypot(y[$1].x - y[i].x, y[$1].y - y[i].y)
      }!
      XCTAssertEqual(nearest % 3, i % 3, "point \(i)")
    }
    XCTAssertTrue(y.allSatisfy { $0.x.isFinite && $0.y.isFinite })
  }

  /// Every figure and the report page parse as XML, even with class names that need escaping.
  func testSVGAndHTMLAreWellFormedXML() throws {
    let names = ["T-shirt/top", "a<b & \"c\"", "it's"]
    let matrix = ConfusionMatrix(counts: [[5, 1, 0], [2, 3, 0], [1, 1, 0]])
    let figures = [
      Plots.learningCurve(title: "loss & more", train: [(1, 2.0), (2, 1.5)], valid: [(2, 1.7)]),
      Plots.learningCurve(title: "flat", train: [(1, 0.5)], valid: []),
      Plots.confusionMatrix(matrix, classNames: names),
      Plots.recallByClassCount(recall: [0.8, 0.6, 0], trainCounts: [100, 10, 1], classNames: names),
      Plots.iouByPixelShare(iou: [0.9, nil, 0.25], pixelShare: [0.9, 0.0004, 0.0996], classNames: names),
      Plots.embedding([(0, 0), (1, 2), (-1, 0.5)], labels: [0, 1, 2], classNames: names),
    ]
    for svg in figures { try assertWellFormed(svg) }
    XCTAssertTrue(figures[2].contains("a&lt;b &amp; &quot;c&quot;"))
    // Pixel counts fit their cells: at most 5 characters.
    let pixels = Plots.confusionMatrix(
      ConfusionMatrix(counts: [[3_396_935, 5284], [999_600, 12_345_678]]), classNames: ["a", "b"])
    for cell in [">3.4M<", ">5284<", ">1.0M<", ">12M<"] { XCTAssertTrue(pixels.contains(cell), cell) }

    // A whole run directory's report.
    let run = try makeRunDirectory(classNames: names, matrix: matrix)
    let written = try RunReport.build(run)
    // loss, macro-F1, confusion matrix, recall bars, t-SNE, report.html, per_class.csv
    XCTAssertEqual(written.count, 7)
    for path in written where !path.hasSuffix(".csv") {
      try assertWellFormed(String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self))
    }
    // Names with commas or quotes are quoted as RFC 4180 says.
    XCTAssertEqual(
      try String(contentsOfFile: run.perClassTable, encoding: .utf8).split(separator: "\n").map {
        $0.split(separator: ",").prefix(5).joined(separator: ",")
      },
      [
        "class,name,train,val,test", "0,T-shirt/top,100,5,6", "1,\"a<b & \"\"c\"\"\",10,5,5", "2,it's,1,5,2",
      ])
    let page = String(decoding: FileManager.default.contents(atPath: run.report)!, as: UTF8.self)
    for expected in [
      "macro-F1", "Class distribution", "Hyper-parameters", "<svg", "it&apos;s",
      "<td class=\"l\">medium-shot</td><td>20 to 100</td><td>1.0000</td><td class=\"l\">T-shirt/top</td>",
      // Recalls 1, 1, 0; training images 100, 10, 1: class 0 medium-shot, classes 1 and 2 few-shot.
      "<td class=\"l\">few-shot</td><td>fewer than 20</td><td>0.5000</td>",
    ] {
      XCTAssertTrue(page.contains(expected), expected)
    }
  }

  /// A segmentation run's rows carry mIoU and FWIoU in the last two columns, which round-trip;
  /// logs of older builds (10 and 13 columns) still read, those cells empty.
  func testMetricsLogsCarryTheIoUsAndReadOlderLogs() throws {
    var counts = PredictionCounts(classes: 2)
    counts.add(logits: [2, 0, 1, 0, 3, 0], labels: [0, 1, 0], count: 3)
    let row = MetricsRow(
      epoch: 1, step: 7, loss: 0.5, evaluation: Evaluation(counts), learningRate: 0.1, imagesPerSecond: 9,
      pixels: true)
    // Truth 0 → 0 twice; truth 1 → 0 once: IoU 2/3 and 0, FWIoU 2/3 · 2/3.
    XCTAssertEqual(row.meanIoU!, 1.0 / 3, accuracy: 1e-12)
    XCTAssertEqual(row.frequencyWeightedIoU!, 4.0 / 9, accuracy: 1e-12)
    XCTAssertTrue(row.scalars.contains { $0.name == "miou" })
    let path = NSTemporaryDirectory() + "log-\(UUID().uuidString).csv"
    defer { try? FileManager.default.removeItem(atPath: path) }
    var log = MetricsLog(path: path)
    try log.append(row)
    XCTAssertEqual(try MetricsLog(path: path, keepingEpochsUpTo: 5).rows, [row])
    XCTAssertTrue(
      try String(contentsOfFile: path, encoding: .utf8).hasPrefix(MetricsRow.columns.joined(separator: ",")))
    XCTAssertEqual(MetricsRow.columns.suffix(2), ["miou", "fwiou"])

    let older = [
      "epoch,step,loss,accuracy,top5,macro_f1,balanced_accuracy,lr,recon_mse,images_per_s",
      "1,7,0.5,0.5,,0.4,0.5,0.1,,9", "2,14,0.4,0.6,,0.5,0.6,0.1,,9,0.7,,0.2",
    ]
    try Data((older.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    let rows = try MetricsLog(path: path, keepingEpochsUpTo: 5).rows
    XCTAssertEqual(rows.map(\.epoch), [1, 2])
    XCTAssertEqual(rows[1].shotAccuracies, [0.7, nil, 0.2])
    XCTAssertNil(rows[1].meanIoU)
    XCTAssertNil(rows[0].frequencyWeightedIoU)
  }

  private func makeRunDirectory(classNames: [String], matrix: ConfusionMatrix) throws -> RunDirectory {
    let run = RunDirectory(path: NSTemporaryDirectory() + "run-\(UUID().uuidString)")
    try run.prepare()
    let json = """
      {"configuration": \(String(decoding: try encoder().encode(TrainingConfiguration()), as: UTF8.self)),
       "dataset": {"path": "data/x", "id": "abc", "source": "folder", "imbalance": "none",
         "class_names": \(String(decoding: try JSONEncoder().encode(classNames), as: UTF8.self)),
         "train_counts": [100, 10, 1], "val_counts": [5, 5, 5], "test_counts": [6, 5, 2]},
       "ranks": 2, "versions": {"imbal-dist": "test"}}
      """
    try writeAtomically(Data(json.utf8), to: run.hyperParameters)
    var counts = PredictionCounts(classes: 3)
    counts.add(logits: [3, 1, 0, 0, 2, 1, 1, 2, 0], labels: [0, 1, 2], count: 3)
    var train = MetricsLog(path: run.trainLog)
    var valid = MetricsLog(path: run.validLog)
    for epoch in 1...3 {
      let row = MetricsRow(
        epoch: epoch, step: 10 * epoch, loss: 1 / Double(epoch), evaluation: Evaluation(counts),
        learningRate: 0.1, imagesPerSecond: 100,
        shotGroups: OutputOptions().shotGroups(Evaluation(counts), trainCounts: [100, 10, 1]))
      try train.append(row)
      try valid.append(row)
    }
    XCTAssertEqual(try MetricsLog(path: run.trainLog, keepingEpochsUpTo: 2).rows, Array(train.rows.prefix(2)))
    let report = TestReport(
      split: "test", evaluation: Evaluation(counts), classNames: classNames, checkpoint: "best.safetensors",
      epoch: 3, tta: .flip, imagesPerSecond: 10,
      shotGroups: OutputOptions().shotGroups(Evaluation(counts), trainCounts: [100, 10, 1]))
    try writeAtomically(report.file, to: run.testResult)
    try RunReport.writeEmbedding([(0, 0), (1, 1), (2, 0)], labels: [0, 1, 2], to: run.embedding)
    return run
  }

  private func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return encoder
  }

  private func assertWellFormed(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
    // XMLParser does not know HTML's doctype-less entities; our pages use none but the five of XML.
    let parser = XMLParser(data: Data(text.replacingOccurrences(of: "<!DOCTYPE html>", with: "").utf8))
    let ok = parser.parse()
    XCTAssertTrue(
      ok, "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")", file: file, line: line)
  }

  private func randomPoints(count: Int, dimensions: Int, clusters: Int, seed: UInt64) -> [[Float]] {
    var rng = Xoshiro256(seed: seed, stream: [1])
    return (0..<count).map { i in
      (0..<dimensions).map { d in Float((d == i % clusters ? 20.0 : 0.0) + rng.nextGaussian()) }
    }
  }
}
