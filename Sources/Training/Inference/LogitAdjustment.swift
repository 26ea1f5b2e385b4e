#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Post-hoc logit adjustment (Menon et al., ICLR 2021, eq. 9): predict
/// `argmax_y f_y(x) − τ·log π_y`, π the training split's class prior, without retraining. Scores
/// are the logits, or `scale`·cosine for a cosine classifier (LDAM's s), so τ means the same
/// for both. A class without training images counts as having one (its log-prior stays finite).
public struct LogitAdjustment: Sendable, Equatable {
  public let tau: Double
  /// What is subtracted from each class's logit: `τ·log π_y / scale`.
  public let offsets: [Float]

  public init(tau: Double, trainCounts: [Int], scale: Double = 1) {
    precondition(tau >= 0 && scale > 0 && !trainCounts.isEmpty)
    self.tau = tau
    let counts = trainCounts.map { Double(max($0, 1)) }
    let total = counts.reduce(0, +)
    offsets = counts.map { Float(tau * log($0 / total) / scale) }
  }

  /// Adjusts `images` rows of logits in place.
  public func apply(to logits: UnsafeMutablePointer<Float>, images: Int) {
    let classes = offsets.count
    for n in 0..<images {
      for j in 0..<classes { logits[n * classes + j] -= offsets[j] }
    }
  }

  /// The τ values `--logit-adjust auto` tries: 0 to 3 in steps of 0.25 (Menon et al. report τ = 1
  /// as a good default; their Figure 3 sweeps this range).
  public static let candidates: [Double] = stride(from: 0.0, through: 3.0, by: 0.25).map { $0 }

  /// The candidate τ whose adjusted predictions score best by `metric` on `logits` (rows of
  /// the validation split, unadjusted) with `labels`; ties go to the smaller τ.
  public static func chosen(
    logits: [Float], labels: [Int32], trainCounts: [Int], scale: Double = 1, metric: SelectionMetric
  ) -> (adjustment: LogitAdjustment, score: Double) {
    var best: (LogitAdjustment, Double)?
    for tau in candidates {
      let adjustment = LogitAdjustment(tau: tau, trainCounts: trainCounts, scale: scale)
      var adjusted = logits
      var counts = PredictionCounts(classes: trainCounts.count)
      adjusted.withUnsafeMutableBufferPointer { rows in
        adjustment.apply(to: rows.baseAddress!, images: labels.count)
        labels.withUnsafeBufferPointer {
          counts.add(logits: rows.baseAddress!, labels: $0.baseAddress!, count: labels.count)
        }
      }
      let score = Evaluation(counts).value(of: metric)
      if metric.improves(score, on: best?.1) { best = (adjustment, score) }
    }
    return best!
  }
}

/// `--logit-adjust`: a fixed τ, or `auto`, τ chosen on the validation split.
public enum LogitAdjustmentChoice: Sendable, Equatable, CustomStringConvertible {
  case fixed(Double)
  case auto

  /// Parses `auto` or a τ from 0 to 10; `nil` otherwise.
  public init?(argument: String) {
    if argument == "auto" {
      self = .auto
    } else if let tau = Double(argument), tau.isFinite, (0...10).contains(tau) {
      self = .fixed(tau)
    } else {
      return nil
    }
  }

  public var description: String {
    switch self {
    case .fixed(let tau): "\(tau)"
    case .auto: "auto"
    }
  }
}

/// What a report says of the adjustment applied: τ, and for `auto` the metric and validation
/// score that chose it.
public struct LogitAdjustmentReport: Codable, Sendable, Equatable {
  public var tau: Double
  public var chosenBy: String?
  public var validationScore: Double?
}

extension Evaluator {
  /// This evaluator with `choice`'s adjustment for a model whose training split had
  /// `trainCounts`: `auto` runs the model over `validation` once and keeps the best of
  /// `LogitAdjustment.candidates` by `metric`.
  public func adjusted(
    _ choice: LogitAdjustmentChoice, network: Network, validation: () throws -> RecordStore,
    normalization: Normalization, trainCounts: [Int], scale: Double, metric: SelectionMetric
  ) throws -> (Evaluator, LogitAdjustmentReport) {
    switch choice {
    case .fixed(let tau):
      let adjustment = LogitAdjustment(tau: tau, trainCounts: trainCounts, scale: scale)
      return (
        Evaluator(batchSize: batchSize, augmentation: augmentation, adjustment: adjustment),
        LogitAdjustmentReport(tau: tau)
      )
    case .auto:
      let plain = Evaluator(batchSize: batchSize, augmentation: augmentation)
      let (logits, labels) = try plain.logits(
        network: network, images: try validation(), normalization: normalization)
      let (adjustment, score) = LogitAdjustment.chosen(
        logits: logits, labels: labels, trainCounts: trainCounts, scale: scale, metric: metric)
      return (
        Evaluator(batchSize: batchSize, augmentation: augmentation, adjustment: adjustment),
        LogitAdjustmentReport(
          tau: adjustment.tau, chosenBy: "\(metric.rawValue) on val", validationScore: score)
      )
    }
  }
}
