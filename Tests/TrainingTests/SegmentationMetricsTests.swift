import Model
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

  /// Class maps tallied pixel by pixel: each labelled pixel's arg-max against its label, the
  /// ignored pixel nowhere, the cross-entropy of the raw scores, and mIoU as the selection metric.
  func testClassMapsAreTalliedPixelByPixel() {
    // Two 1×2 images of 3 classes; maps[n][k][p]. Image 0: pixel 0 scores (2, 0, 0) labelled 0,
    // pixel 1 (0, 1, 3) labelled 1. Image 1: pixel 0 (0, 0, 5) ignored, pixel 1 (1, 4, 0)
    // labelled 1.
    let maps = Tensor(
      shape: Shape(batch: 2, channels: 3, height: 1, width: 2), values: [2, 0, 0, 1, 0, 3, 0, 1, 0, 4, 5, 0])
    var counts = PredictionCounts(classes: 3)
    [0, 1, 255, 1].withUnsafeBufferPointer { counts.addPixels(maps: maps, masks: $0) }
    XCTAssertEqual(counts.images, 3)
    XCTAssertEqual(counts.matrix.counts, [[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    // −log softmax: log(e² + 2) − 2, log(1 + e + e³) − 1, log(e + e⁴ + 1) − 4.
    let e = 2.718281828459045
    let expected = (log(e * e + 2) - 2) + (log(1 + e + e * e * e) - 1) + (log(e + e * e * e * e + 1) - 4)
    XCTAssertEqual(counts.crossEntropySum, expected, accuracy: 1e-5)
    let evaluation = Evaluation(counts)
    // IoU: class 0 1/1, class 1 1/2, class 2 0/1 (predicted, absent): mean 0.5.
    XCTAssertEqual(evaluation.segmentation.iou.map { $0 ?? -1 }, [1, 0.5, 0])
    XCTAssertEqual(evaluation.value(of: .meanIoU), 0.5, accuracy: 1e-12)
  }

  /// A class predicted but absent from the ground truth has IoU 0 and counts in the mean.
  func testAFalseAlarmClassCountsAsZero() {
    let metrics = SegmentationMetrics(ConfusionMatrix(counts: [[8, 2], [0, 0]]))
    XCTAssertEqual(metrics.iou[1], 0)
    XCTAssertEqual(metrics.meanIoU, (0.8 + 0) / 2, accuracy: 1e-12)
    XCTAssertEqual(metrics.pixelAccuracy, 0.8, accuracy: 1e-12)
  }
}
