import Foundation
import XCTest

/// A thousand classes with a Zipf long tail (iNaturalist-style): a few steps train, and the
/// outputs stay proportional to the images rather than to K² — test.json holds the confusion
/// matrix as its cells that occur, the report shows the top confusions instead of a K×K heat
/// map, every class is a row of the sortable per_class.csv — with peak memory bounded.
final class ManyClassesTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("many-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  func testAThousandZipfClassesTrainAndReportInProportionToTheImages() throws {
    let classes = 1000
    // Zipf with exponent 1: class c has ⌈100 / (c + 1)⌉ training images (100, 50, 34, … 1).
    let trainCounts = (0..<classes).map { Int((100.0 / Double($0 + 1)).rounded(.up)) }
    let root = directory.appendingPathComponent("zipf")
    for c in 0..<classes {
      for (split, count) in [("train", trainCounts[c]), ("valid", 1), ("test", 2)] {
        let folder = root.appendingPathComponent("\(split)/" + String(format: "c%04d", c))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for n in 0..<count {
          try SyntheticData.writeNetpbm(
            class: c, image: n, height: 8, width: 8, channels: 1,
            to: folder.appendingPathComponent("\(n).pgm").path)
        }
      }
    }
    let data = directory.appendingPathComponent("data").path
    let pack = try CommandRunner.single([
      "pack", "--source", "folder", "--input", root.path, "--out", data, "--shards", "1",
    ])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    let run = directory.appendingPathComponent("run").path
    let train = try CommandRunner.run(
      executable: "/usr/bin/time",
      arguments: [
        "-f", "peak-kb %M", try CommandRunner.binary(), "train", "--data", data, "--epochs", "2",
        "--epoch-size",
        "256", "--batch-size", "64", "--out", run, "--tsne-points", "0",
      ])
    XCTAssertEqual(train.status, 0, train.standardError)
    let peak = try XCTUnwrap(
      train.standardError.split(separator: "\n").last { $0.hasPrefix("peak-kb ") }.flatMap {
        Int($0.dropFirst(8))
      })
    XCTAssertLessThan(peak, 400 << 10, "peak resident memory \(peak) kB")
    XCTAssertTrue(
      train.standardOutput.contains("(the 10 classes of lowest recall of 1000;"), train.standardOutput)

    let testJSON = try Data(contentsOf: URL(fileURLWithPath: "\(run)/test.json"))
    XCTAssertLessThan(testJSON.count, 400_000, "test.json grows with the classes, not with their square")
    let report = try XCTUnwrap(JSONSerialization.jsonObject(with: testJSON) as? [String: Any])
    XCTAssertNil(report["confusion_matrix"])
    let cells = try XCTUnwrap(report["confusion_matrix_sparse"] as? [[Int]])
    XCTAssertEqual(cells.reduce(0) { $0 + $1[2] }, 2 * classes, "every test image is in one cell")
    XCTAssertLessThanOrEqual(cells.count, 2 * classes)
    XCTAssertEqual(cells, cells.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) })
    let recall = try XCTUnwrap(report["recall"] as? [Double])
    for c in [0, 999] {
      let correct = cells.first { $0[0] == c && $0[1] == c }?[2] ?? 0
      XCTAssertEqual(recall[c], Double(correct) / 2, "class \(c)")
    }
    let groups = try XCTUnwrap(report["shot_groups"] as? [String: Any])
    XCTAssertEqual((groups["few"] as? [String: Any])?["classes"].map { ($0 as! [Int]).count }, 995)

    let table = try String(contentsOfFile: "\(run)/per_class.csv", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(table.count, 1 + classes)
    XCTAssertEqual(table[0], "class,name,train,val,test,precision,recall,f1,shot_group")
    XCTAssertTrue(table[1].hasPrefix("0,c0000,100,1,2,"), String(table[1]))
    XCTAssertTrue(table[1].hasSuffix(",medium"), String(table[1]))
    XCTAssertTrue(table[1000].hasPrefix("999,c0999,1,1,2,"), String(table[1000]))
    XCTAssertTrue(table[1000].hasSuffix(",few"), String(table[1000]))

    let html = try String(contentsOfFile: "\(run)/report.html", encoding: .utf8)
    XCTAssertTrue(html.contains("<h3>Top confusions</h3>"))
    XCTAssertTrue(html.contains("All 1000 classes: <a href=\"per_class.csv\">per_class.csv</a>"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run)/confusion-matrix.svg"))
    XCTAssertLessThan(html.utf8.count, 400_000)
    // evaluate reads the sparse matrix back and agrees.
    let evaluate = try CommandRunner.single(["evaluate", "--run", run])
    XCTAssertEqual(evaluate.status, 0, evaluate.standardError)
    let again = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(evaluate.lines.last!.utf8)) as? [String: Any])
    XCTAssertEqual(again["confusion_matrix_sparse"] as? [[Int]], cells)
  }
}
