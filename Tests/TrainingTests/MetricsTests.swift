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

  func testReportJSONLineHasTheDocumentedKeysInOrder() throws {
    let metrics = ClassificationMetrics(ConfusionMatrix(counts: [[1, 1], [0, 2]]))
    let report = TestReport(metrics: metrics, classNames: ["a", "b"], imagesPerSecond: 512)
    XCTAssertEqual(
      report.json,
      #"{"split":"test","accuracy":0.75,"macro_f1":0.7333333333333334,"balanced_accuracy":0.75,"recall":[0.5,1.0],"images_per_s":512.0}"#
    )
  }
}
