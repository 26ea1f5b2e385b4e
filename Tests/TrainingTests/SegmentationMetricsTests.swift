import Training
import XCTest

/// IoU, Dice, mIoU, pixel accuracy and frequency-weighted IoU against a confusion matrix worked
/// by hand.
final class SegmentationMetricsTests: XCTestCase {
  /// 100 pixels of 4 classes, rows the truth: TP = 50, 30, 6, 0; ground truth 55, 35, 10, 0;
  /// predicted 55, 36, 9, 0. Class 3 is in neither, so it has no IoU and no Dice.
  func testAHandWorkedMatrix() {
    let metrics = SegmentationMetrics(
      ConfusionMatrix(counts: [[50, 2, 3, 0], [5, 30, 0, 0], [0, 4, 6, 0], [0, 0, 0, 0]]))
    let iou = [50.0 / 60, 30.0 / 41, 6.0 / 13]
    for k in 0..<3 { XCTAssertEqual(metrics.iou[k]!, iou[k], accuracy: 1e-12) }
    XCTAssertNil(metrics.iou[3])
    XCTAssertNil(metrics.dice[3])
    let dice = [100.0 / 110, 60.0 / 71, 12.0 / 19]
    for k in 0..<3 { XCTAssertEqual(metrics.dice[k]!, dice[k], accuracy: 1e-12) }
    XCTAssertEqual(metrics.meanIoU, iou.reduce(0, +) / 3, accuracy: 1e-12)
    XCTAssertEqual(metrics.pixelAccuracy, 0.86, accuracy: 1e-12)
    XCTAssertEqual(
      metrics.frequencyWeightedIoU, 0.55 * iou[0] + 0.35 * iou[1] + 0.10 * iou[2], accuracy: 1e-12)
  }

  /// A class predicted but absent from the ground truth has IoU 0 and counts in the mean.
  func testAFalseAlarmClassCountsAsZero() {
    let metrics = SegmentationMetrics(ConfusionMatrix(counts: [[8, 2], [0, 0]]))
    XCTAssertEqual(metrics.iou[1], 0)
    XCTAssertEqual(metrics.meanIoU, (0.8 + 0) / 2, accuracy: 1e-12)
    XCTAssertEqual(metrics.pixelAccuracy, 0.8, accuracy: 1e-12)
  }
}
