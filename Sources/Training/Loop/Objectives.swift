import Foundation
import Loader
import Model

/// The loss a run trains with (`--loss`).
public enum LossKind: String, CaseIterable, Codable, Sendable {
  case ce
  case weightedCE = "weighted-ce"
  case focal
  case cbSoftmax = "cb-softmax"
  case cbSigmoid = "cb-sigmoid"
  case cbFocal = "cb-focal"
  case cce
  case cot
  case ldam
  case balancedSoftmax = "balanced-softmax"
  case logitAdjust = "logit-adjust"
}

/// The loss's settings.
public struct LossOptions: Codable, Sendable, Equatable {
  public var kind: LossKind = .ce
  /// Class weights of `weighted-ce` and `focal`.
  public var classWeights: ClassWeightScheme = .none
  /// β of the effective number (cb-* losses, `--class-weights effective`, LDAM's DRW weights).
  public var beta = 0.9999
  /// γ of `focal` and `cb-focal`.
  public var gamma = 2.0
  /// γ of `cce`.
  public var cceGamma = 1.0
  /// τ of `logit-adjust`.
  public var tau = 1.0
  /// The epoch (1-based) from which LDAM's deferred re-weighting applies; `nil`: 80% of the run,
  /// as 160 of 200 epochs in Cao et al.
  public var drwEpoch: Int?
  /// Segmentation: the weight of the soft Dice loss added to the per-pixel loss (0: none).
  public var diceWeight = 0.0

  public init(kind: LossKind = .ce) { self.kind = kind }

  /// LDAM's margin scale `s` and largest margin (Cao et al. 2019).
  public static let ldamScale: Float = 30
  public static let ldamMaxMargin = 0.5

  /// LDAM needs cosine logits (its reference model normalises the classifier).
  public var needsCosineClassifier: Bool { kind == .ldam }

  /// What turns a classifier's outputs into softmax scores: LDAM's s for cosines, else 1.
  public static func scoreScale(cosine: Bool) -> Double { cosine ? Double(ldamScale) : 1 }
  public var scoreScale: Double { Self.scoreScale(cosine: needsCosineClassifier) }

  /// The initial bias of the classifier for one-vs-all sigmoid losses, `b = −log((1 − π)/π)`
  /// with `π = 0.1`, so that every class starts at probability 0.1 (Lin et al. 2017, used by
  /// Cui et al. 2019 for cb-sigmoid and cb-focal); `nil` keeps the layer's own initialisation.
  public var initialClassifierBias: Float? {
    [.cbSigmoid, .cbFocal].contains(kind) ? Float(-Foundation.log((1 - 0.1) / 0.1)) : nil
  }
}

/// What each training iteration optimises, epoch by epoch, built from the loss options and the
/// training split's GLOBAL class counts. Most losses are one objective; COT alternates two (a
/// cross-entropy step, then a complement-entropy step, each with its own SGD update); LDAM's
/// deferred re-weighting switches its weights on at `drwEpoch`.
public struct Objectives: Sendable {
  public let options: LossOptions
  public let classCounts: [Int]
  public let epochs: Int

  public init(options: LossOptions, classCounts: [Int], epochs: Int) {
    self.options = options
    self.classCounts = classCounts
    self.epochs = epochs
  }

  /// The epoch (1-based) at which DRW starts.
  public var drwEpoch: Int { options.drwEpoch ?? max(1, Int((0.8 * Double(epochs)).rounded(.down)) + 1) }

  /// LDAM's margins `m_c = C / n_c^{1/4}`, scaled so the largest is `ldamMaxMargin`.
  public var ldamMargins: [Float] {
    let raw = classCounts.map { 1 / pow(Double(max($0, 1)), 0.25) }
    let largest = raw.max() ?? 1
    return raw.map { Float($0 * LossOptions.ldamMaxMargin / largest) }
  }

  /// `log π_c` of the training prior `π_c = n_c / N`.
  public var logPrior: [Float] {
    let total = Double(classCounts.reduce(0, +))
    return classCounts.map { Float(Foundation.log(Double(max($0, 1)) / total)) }
  }

  private func weights(_ scheme: ClassWeightScheme) -> [Float] {
    scheme.weights(counts: classCounts, beta: options.beta).map(Float.init)
  }

  /// The objectives of one iteration in epoch `epoch` (1-based), applied in order.
  public func losses(epoch: Int) -> [ClassificationLoss] {
    switch options.kind {
    case .ce:
      return [CrossEntropyLoss()]
    case .weightedCE:
      return [CrossEntropyLoss(classWeights: weights(options.classWeights), normalizeByWeights: true)]
    case .focal:
      let alpha = options.classWeights == .none ? nil : weights(options.classWeights)
      return [FocalLoss(gamma: Float(options.gamma), classWeights: alpha)]
    case .cbSoftmax:
      return [CrossEntropyLoss(classWeights: weights(.effective))]
    case .cbSigmoid:
      return [SigmoidFocalLoss(gamma: 0, classWeights: weights(.effective))]
    case .cbFocal:
      return [SigmoidFocalLoss(gamma: Float(options.gamma), classWeights: weights(.effective))]
    case .cce:
      return [ComplementCrossEntropyLoss(gamma: Float(options.cceGamma))]
    case .cot:
      return [CrossEntropyLoss(), ComplementEntropyLoss()]
    case .ldam:
      let deferred = epoch >= drwEpoch
      return [
        CrossEntropyLoss(
          classWeights: deferred ? weights(.effective) : nil, normalizeByWeights: deferred,
          targetMargins: ldamMargins, scale: LossOptions.ldamScale)
      ]
    case .balancedSoftmax:
      return [CrossEntropyLoss(logitOffsets: logPrior)]
    case .logitAdjust:
      return [CrossEntropyLoss(logitOffsets: logPrior.map { Float(options.tau) * $0 })]
    }
  }
}
