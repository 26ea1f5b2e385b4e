import Foundation

/// The final result of a run on the test split, printed by rank 0 as its last line in JSON so
/// scripts can read it: `{"split":"test","accuracy":…,"macro_f1":…,…}`.
public struct TestReport: Sendable, Equatable {
  public let metrics: ClassificationMetrics
  public let classNames: [String]
  /// Global training throughput over the whole run (all ranks, training steps only).
  public let imagesPerSecond: Double

  public init(metrics: ClassificationMetrics, classNames: [String], imagesPerSecond: Double) {
    self.metrics = metrics
    self.classNames = classNames
    self.imagesPerSecond = imagesPerSecond
  }

  /// One JSON object with keys in a fixed order, `split` first.
  public var json: String {
    func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }
    let fields = [
      "\"split\":\"test\"",
      "\"accuracy\":\(number(metrics.accuracy))",
      "\"macro_f1\":\(number(metrics.macroF1))",
      "\"balanced_accuracy\":\(number(metrics.balancedAccuracy))",
      "\"recall\":[\(metrics.recall.map(number).joined(separator: ","))]",
      "\"images_per_s\":\(number(imagesPerSecond))",
    ]
    return "{" + fields.joined(separator: ",") + "}"
  }

  /// Human-readable lines: the headline metrics, then recall per class.
  public var summaryLines: [String] {
    var lines = [
      "test  accuracy \(fixed(metrics.accuracy, 4))  macro-F1 \(fixed(metrics.macroF1, 4))  "
        + "balanced accuracy \(fixed(metrics.balancedAccuracy, 4))"
    ]
    let width = classNames.map(\.count).max() ?? 0
    for (name, recall) in zip(classNames, metrics.recall) {
      lines.append(
        "  recall  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(fixed(recall, 4))")
    }
    return lines
  }
}
