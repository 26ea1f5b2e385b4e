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
}
