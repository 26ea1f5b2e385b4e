import Foundation
import Training
import XCTest

final class MetricsTests: XCTestCase {
  /// Hand computation (rows = truth, columns = prediction):
  ///   [[5, 1, 0],
  ///    [2, 3, 0],
  ///    [1, 1, 0]]     class 2 is never predicted.
  /// precision = [5/8, 3/5, 0]; recall = [5/6, 3/5, 0/2]
  /// F1_0 = 2·(5/8)(5/6)/((5/8)+(5/6)) = 5/7; F1_1 = 3/5; F1_2 = 0 (zero division → 0, not NaN)
  /// accuracy = 8/13; macro-F1 = (5/7 + 3/5 + 0)/3 = 46/105; balanced accuracy = (5/6 + 3/5 + 0)/3 = 43/90
  func testHandComputedMatrixWithAnUnpredictedClass() {
    let metrics = ClassificationMetrics(ConfusionMatrix(counts: [[5, 1, 0], [2, 3, 0], [1, 1, 0]]))
    XCTAssertEqual(metrics.accuracy, 8.0 / 13, accuracy: 1e-12)
    XCTAssertEqual(metrics.precision, [5.0 / 8, 3.0 / 5, 0])
    XCTAssertEqual(metrics.recall[0], 5.0 / 6, accuracy: 1e-12)
    XCTAssertEqual(metrics.recall[1], 3.0 / 5, accuracy: 1e-12)
    XCTAssertEqual(metrics.recall[2], 0)
    XCTAssertEqual(metrics.f1[0], 5.0 / 7, accuracy: 1e-12)
    XCTAssertEqual(metrics.f1[1], 3.0 / 5, accuracy: 1e-12)
    XCTAssertEqual(metrics.f1[2], 0)
    XCTAssertEqual(metrics.macroF1, 46.0 / 105, accuracy: 1e-12)
    XCTAssertEqual(metrics.balancedAccuracy, 43.0 / 90, accuracy: 1e-12)
    XCTAssertEqual(metrics.support, [6, 5, 2])
  }

  /// A class absent from the split counts in macro-F1 (as 0) but not in balanced accuracy,
  /// as scikit-learn's `f1_score(average="macro", zero_division=0, labels=range(K))` and
  /// `balanced_accuracy_score` do.
  func testAbsentClass() {
    let metrics = ClassificationMetrics(ConfusionMatrix(counts: [[4, 0, 0], [0, 2, 0], [0, 0, 0]]))
    XCTAssertEqual(metrics.accuracy, 1)
    XCTAssertEqual(metrics.balancedAccuracy, 1)
    XCTAssertEqual(metrics.macroF1, 2.0 / 3, accuracy: 1e-12)
    XCTAssertFalse(metrics.f1.contains { $0.isNaN })
  }

  func testEmptyMatrixGivesZerosNotNaN() {
    let metrics = ClassificationMetrics(ConfusionMatrix(classes: 4))
    XCTAssertEqual(metrics.accuracy, 0)
    XCTAssertEqual(metrics.macroF1, 0)
    XCTAssertEqual(metrics.balancedAccuracy, 0)
  }

  /// Same matrix as above: weighted-F1 = (6·5/7 + 5·3/5 + 2·0)/13 = 0.5604395604395604
  /// (numpy); G-mean is 0 because class 2 is never recognised.
  func testWeightedF1AndGeometricMean() {
    let metrics = ClassificationMetrics(ConfusionMatrix(counts: [[5, 1, 0], [2, 3, 0], [1, 1, 0]]))
    XCTAssertEqual(metrics.weightedF1, 0.5604395604395604, accuracy: 1e-12)
    XCTAssertEqual(metrics.geometricMeanRecall, 0)
    // Recalls 4/5 and 3/4: G-mean = √(0.6) = 0.7745966692414834.
    let two = ClassificationMetrics(ConfusionMatrix(counts: [[4, 1], [1, 3]]))
    XCTAssertEqual(two.geometricMeanRecall, 0.7745966692414834, accuracy: 1e-12)
  }

  /// Three images, 7 classes. Cross-entropies by numpy (`log(sum(exp(z))) − z[y]`):
  /// 2.51005124, log 7 = 1.94591015, 6.45776285; the third label has 6 larger logits, so only
  /// the first two are in the top 5. Arg-max ties go to the first class.
  func testPredictionCountsTallyArgmaxTop5AndCrossEntropy() {
    let logits: [Float] =
      [2, 1, 0.5, 0.1, -1, -2, 3] + [Float](repeating: 0, count: 7) + [6, 5, 4, 3, 2, 1, 0]
    let labels: [Int32] = [1, 3, 6]
    var counts = PredictionCounts(classes: 7)
    counts.add(logits: logits, labels: labels, count: 3)
    XCTAssertEqual(counts.matrix.counts[1][6], 1)
    XCTAssertEqual(counts.matrix.counts[3][0], 1)
    XCTAssertEqual(counts.matrix.counts[6][0], 1)
    XCTAssertEqual(counts.top5Correct, 2)
    XCTAssertEqual(counts.crossEntropySum, 2.51005124 + 1.94591015 + 6.45776285, accuracy: 1e-5)
    let evaluation = Evaluation(counts)
    XCTAssertEqual(evaluation.top5Accuracy!, 2.0 / 3, accuracy: 1e-12)
    XCTAssertEqual(PredictionCounts(flattened: counts.flattened, classes: 7), counts)
    // With 5 classes or fewer top-5 is meaningless and absent.
    var small = PredictionCounts(classes: 3)
    small.add(logits: [1, 2, 3], labels: [0], count: 1)
    XCTAssertNil(Evaluation(small).top5Accuracy)
  }

  /// The sparse matrix holds exactly the dense one's cells: sums, diagonal, entries in order,
  /// the largest off-diagonal cells, merging two ranks' and the flattened round trip (whose
  /// malformed forms are refused rather than trapping).
  func testTheSparseConfusionMatrixIsTheDenseOne() throws {
    let dense = [[5, 1, 0], [2, 3, 0], [1, 1, 0]]
    let matrix = ConfusionMatrix(counts: dense)
    XCTAssertEqual(matrix.counts, dense)
    XCTAssertEqual(matrix.support, [6, 5, 2])
    XCTAssertEqual(matrix.predicted, [8, 5, 0])
    XCTAssertEqual(matrix.diagonal, [5, 3, 0])
    XCTAssertEqual([matrix.total, matrix.correct], [13, 8])
    XCTAssertEqual(matrix[1, 0], 2)
    XCTAssertEqual(
      matrix.entries.map { [$0.truth, $0.prediction, $0.count] },
      [[0, 0, 5], [0, 1, 1], [1, 0, 2], [1, 1, 3], [2, 0, 1], [2, 1, 1]])
    XCTAssertEqual(
      matrix.topConfusions(3).map { [$0.truth, $0.prediction, $0.count] },
      [[1, 0, 2], [0, 1, 1], [2, 0, 1]])
    var merged = ConfusionMatrix(counts: [[5, 1, 0], [0, 0, 0], [0, 0, 0]])
    merged.merge(ConfusionMatrix(counts: [[0, 0, 0], [2, 3, 0], [1, 1, 0]]))
    XCTAssertEqual(merged, matrix)

    var counts = PredictionCounts(classes: 3)
    counts.add(logits: [3, 1, 0, 0, 2, 1], labels: [0, 2], count: 2)
    XCTAssertEqual(counts.flattened, [2, counts.crossEntropySum, 0, 0, 1, 2, 1, 1])
    XCTAssertEqual(PredictionCounts(flattened: counts.flattened, classes: 3), counts)
    for bad: [Double] in [
      [0], [0, 0, 1, 1], [0, 0, 3, 0, 1], [0, 0, 0, 0, -1], [0, 0, 0, 0.5, 1], [0, 0, .nan, 0, 1],
    ] {
      XCTAssertNil(PredictionCounts(flattened: bad, classes: 3), "\(bad)")
    }
  }

  func testSelectionPrefersHigherScoresExceptForLoss() {
    XCTAssertTrue(SelectionMetric.macroF1.improves(0.5, on: nil))
    XCTAssertTrue(SelectionMetric.macroF1.improves(0.6, on: 0.5))
    XCTAssertFalse(SelectionMetric.macroF1.improves(0.5, on: 0.5))
    XCTAssertTrue(SelectionMetric.loss.improves(0.4, on: 0.5))
    XCTAssertFalse(SelectionMetric.loss.improves(0.6, on: 0.5))
  }

  func testReportJSONLineRoundTripsAndHasNoNaN() throws {
    var counts = PredictionCounts(classes: 2)
    counts.add(logits: [2, 1, 2, 1, 1, 2, 1, 2], labels: [0, 1, 1, 1], count: 4)
    let report = TestReport(
      split: "test", evaluation: Evaluation(counts), classNames: ["a/b", "c"], checkpoint: "best.safetensors",
      epoch: 3, tta: .none, imagesPerSecond: 512)
    // Keys sorted; balanced accuracy = (1/1 + 2/3)/2.
    XCTAssertTrue(
      report.json.hasPrefix(#"{"accuracy":0.75,"balanced_accuracy":0.8333333333333333,"checkpoint":"#))
    XCTAssertTrue(report.json.contains(#""name":"a/b""#))
    XCTAssertFalse(report.json.contains("\n"))
    let path = NSTemporaryDirectory() + "report-\(UUID().uuidString).json"
    try report.file.write(to: URL(fileURLWithPath: path))
    XCTAssertEqual(try TestReport(contentsOf: path), report)
  }

  /// Kang et al.'s `shot_acc` rule (classifier-balancing, utils.py): many-shot when a class has
  /// more than 100 training images, few-shot below 20, medium otherwise (100 and 20 included);
  /// a group's accuracy is the mean recall of its classes. By hand: many = (0.9 + 0.8) / 2.
  func testShotGroupsFollowTheThresholdsAndAverageRecalls() throws {
    let groups = ShotGroups(
      recall: [0.9, 0.8, 0.5, 0.4, 0.2], trainCounts: [500, 101, 100, 20, 19], manyAbove: 100, fewBelow: 20)
    XCTAssertEqual(groups.many.classes, [0, 1])
    XCTAssertEqual(try XCTUnwrap(groups.many.accuracy), 0.85, accuracy: 1e-15)
    XCTAssertEqual(groups.medium.classes, [2, 3])
    XCTAssertEqual(try XCTUnwrap(groups.medium.accuracy), 0.45, accuracy: 1e-15)
    XCTAssertEqual(groups.few.classes, [4])
    XCTAssertEqual(groups.few.accuracy, 0.2)
    let none = ShotGroups(recall: [1, 0.5], trainCounts: [200, 300], manyAbove: 100, fewBelow: 20)
    XCTAssertNil(none.few.accuracy)
    XCTAssertEqual(
      none.summary,
      "shot groups by training images (many > 100, few < 20): many 0.7500 (2)  medium – (0)  few – (0)")

    var counts = PredictionCounts(classes: 2)
    counts.add(logits: [2, 1, 2, 1, 1, 2, 1, 2], labels: [0, 1, 1, 1], count: 4)
    let report = TestReport(
      split: "test", evaluation: Evaluation(counts), classNames: ["a", "b"], checkpoint: "best.safetensors",
      epoch: 1, tta: .none, imagesPerSecond: 0,
      shotGroups: OutputOptions().shotGroups(Evaluation(counts), trainCounts: [150, 10]))
    // A log row written before the shot-group columns still reads (for --resume).
    let path = NSTemporaryDirectory() + "old-\(UUID().uuidString).csv"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data(
      "epoch,step,loss,accuracy,top5,macro_f1,balanced_accuracy,lr,recon_mse,images_per_s\n3,30,0.5,0.75,,0.7,0.8,0.1,,120\n"
        .utf8
    ).write(to: URL(fileURLWithPath: path))
    let old = try XCTUnwrap(try MetricsLog(path: path, keepingEpochsUpTo: 9).rows.first)
    XCTAssertEqual(old.shotAccuracies, [nil, nil, nil])
    XCTAssertEqual(old.macroF1, 0.7)
    XCTAssertTrue(
      report.json.contains(
        #""shot_groups":{"few":{"accuracy":0.6666666666666666,"classes":[1]},"few_below":20,"many":{"accuracy":1,"classes":[0]},"many_above":100,"medium":{"classes":[]}}"#
      ), report.json)
  }
}
