import Loader
import Model

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A post-hoc correction of a trained classifier's scores, without retraining: each class's
/// score becomes `a_k · z_k − c_k`.
/// - Logit adjustment (Menon et al., ICLR 2021, eq. 9): `a_k = 1`, `c_k = τ·log π_k / s`, π the
///   training prior; scores are the logits, or `s`·cosine for a cosine classifier (LDAM's s), so
///   τ means the same for both. A class without training images counts as one.
/// - τ-normalisation (Kang et al., ICLR 2020): the classifier's rows become `w_k / ‖w_k‖^τ` and
///   its bias is dropped, as in their code; on the logits `z_k = w_k·x + b_k` that is
///   `a_k = ‖w_k‖^{−τ}`, `c_k = b_k a_k`.
public struct ScoreAdjustment: Sendable, Equatable {
  public enum Method: String, CaseIterable, Codable, Sendable {
    case logitAdjustment = "logit-adjust"
    case tauNormalization = "tau-norm"
  }

  public let method: Method
  public let tau: Double
  /// `a_k`; `nil`: 1 for every class.
  public let scales: [Float]?
  /// `c_k`, subtracted after scaling.
  public let offsets: [Float]

  /// Logit adjustment by `τ` for a classifier trained on `trainCounts`, whose softmax scale is `scale`.
  public static func logitAdjustment(tau: Double, trainCounts: [Int], scale: Double = 1) -> ScoreAdjustment {
    precondition(tau >= 0 && scale > 0 && !trainCounts.isEmpty)
    let counts = trainCounts.map { Double(max($0, 1)) }
    let total = counts.reduce(0, +)
    return ScoreAdjustment(
      method: .logitAdjustment, tau: tau, scales: nil,
      offsets: counts.map { Float(tau * log($0 / total) / scale) })
  }

  /// τ-normalisation of a linear classifier whose weight rows have norms `rowNorms` and whose
  /// bias is `bias` (zero when `nil`).
  public static func tauNormalization(tau: Double, rowNorms: [Double], bias: [Float]?) -> ScoreAdjustment {
    precondition(tau >= 0 && !rowNorms.isEmpty && (bias?.count ?? rowNorms.count) == rowNorms.count)
    let scales = rowNorms.map { Float(pow(max($0, .leastNormalMagnitude), -tau)) }
    return ScoreAdjustment(
      method: .tauNormalization, tau: tau, scales: scales,
      offsets: scales.indices.map { (bias?[$0] ?? 0) * scales[$0] })
  }

  /// Adjusts `images` rows of scores in place.
  public func apply(to logits: UnsafeMutablePointer<Float>, images: Int) {
    let classes = offsets.count
    for n in 0..<images {
      let row = logits + n * classes
      for j in 0..<classes { row[j] = (scales?[j] ?? 1) * row[j] - offsets[j] }
    }
  }

  /// The τ values `auto` tries: for logit adjustment 0 to 3 in steps of 0.25 (Menon et al.
  /// report τ = 1 as a good default; their Figure 3 sweeps this range); for τ-normalisation 0
  /// to 2 in steps of 0.1 (Kang et al. pick τ on validation in [0, 2]; τ = 1 equalises the norms).
  public static func candidates(_ method: Method) -> [Double] {
    switch method {
    case .logitAdjustment: stride(from: 0.0, through: 3.0, by: 0.25).map { $0 }
    case .tauNormalization: (0...20).map { Double($0) / 10 }
    }
  }

  /// The candidate τ whose adjusted predictions score best by `metric` on `logits` (rows of
  /// the validation split, unadjusted) with `labels`; ties go to the smaller τ.
  public static func chosen(
    _ method: Method, logits: [Float], labels: [Int32], classes: Int, metric: SelectionMetric,
    make: (Double) -> ScoreAdjustment
  ) -> (adjustment: ScoreAdjustment, score: Double) {
    var best: (ScoreAdjustment, Double)?
    for tau in candidates(method) {
      let adjustment = make(tau)
      var adjusted = logits
      var counts = PredictionCounts(classes: classes)
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

/// `--logit-adjust` and `--tau-norm`: a fixed τ, or `auto`, τ chosen on the validation split.
public enum TauChoice: Sendable, Equatable, CustomStringConvertible {
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
public struct AdjustmentReport: Codable, Sendable, Equatable {
  public var tau: Double
  public var chosenBy: String?
  public var validationScore: Double?
}

/// Why a post-hoc adjustment cannot be made for a model.
public enum AdjustmentError: Error, CustomStringConvertible, Equatable {
  case noTrainingCounts
  case cosineClassifier
  case noLinearClassifier
  case autoNeedsValidation(option: String)

  public var description: String {
    switch self {
    case .noTrainingCounts:
      "--logit-adjust needs the training class counts, and the model carries none (exported by an earlier build); export it again"
    case .cosineClassifier:
      "--tau-norm rescales the classifier's weight norms, but this cosine classifier (LDAM) ignores them: nothing would change"
    case .noLinearClassifier:
      "--tau-norm needs a linear classifier layer with weights, and this model has none"
    case .autoNeedsValidation(let option):
      "\(option) auto chooses τ on the run's validation split: give --run, or a τ (`imbal-dist evaluate --run RUN \(option) auto` prints the one it chooses)"
    }
  }
}

extension Evaluator {
  /// This evaluator with the post-hoc `method` at `choice` for `network`: `auto` runs the
  /// model over `validation` once and keeps the best of the method's candidates by `metric`.
  /// `trainCounts` is the training split's class counts (logit adjustment's prior) and
  /// `scoreScale` the softmax scale of the network's scores.
  public func adjusted(
    _ method: ScoreAdjustment.Method, _ choice: TauChoice, network: Network, trainCounts: [Int]?,
    scoreScale: Double,
    validation: (() throws -> RecordStore)?, normalization: Normalization, metric: SelectionMetric
  ) throws -> (Evaluator, AdjustmentReport) {
    let make = try Self.adjustment(method, network: network, trainCounts: trainCounts, scoreScale: scoreScale)
    switch choice {
    case .fixed(let tau):
      return (
        Evaluator(batchSize: batchSize, augmentation: augmentation, adjustment: make(tau)),
        AdjustmentReport(tau: tau)
      )
    case .auto:
      guard let validation else { throw AdjustmentError.autoNeedsValidation(option: "--\(method.rawValue)") }
      let plain = Evaluator(batchSize: batchSize, augmentation: augmentation)
      let (logits, labels) = try plain.logits(
        network: network, images: try validation(), normalization: normalization)
      let (adjustment, score) = ScoreAdjustment.chosen(
        method, logits: logits, labels: labels, classes: network.shape(of: .logits)!.channels, metric: metric,
        make: make)
      return (
        Evaluator(batchSize: batchSize, augmentation: augmentation, adjustment: adjustment),
        AdjustmentReport(tau: adjustment.tau, chosenBy: "\(metric.rawValue) on val", validationScore: score)
      )
    }
  }

  /// The adjustment of `method` at any τ for `network`, or why there is none.
  private static func adjustment(
    _ method: ScoreAdjustment.Method, network: Network, trainCounts: [Int]?, scoreScale: Double
  ) throws -> (Double) -> ScoreAdjustment {
    switch method {
    case .logitAdjustment:
      guard let trainCounts else { throw AdjustmentError.noTrainingCounts }
      return { .logitAdjustment(tau: $0, trainCounts: trainCounts, scale: scoreScale) }
    case .tauNormalization:
      guard scoreScale == 1 else { throw AdjustmentError.cosineClassifier }
      guard network.classifierWeight != nil else { throw AdjustmentError.noLinearClassifier }
      let (norms, bias) = (network.classifierRowNorms, network.classifierBias.map { Array($0) })
      return { .tauNormalization(tau: $0, rowNorms: norms, bias: bias) }
    }
  }
}
