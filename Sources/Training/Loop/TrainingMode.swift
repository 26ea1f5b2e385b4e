import Model

/// How the parts of a model are trained (`--mode`), after the seeds' three settings.
public enum TrainingMode: String, CaseIterable, Codable, Sendable {
  /// Encoder + classifier, classification loss only.
  case classification
  /// Encoder + decoder + classifier together: classification loss + `reconWeight` × MSE of the
  /// reconstruction.
  case endToEnd = "end-to-end"
  /// The autoencoder (encoder + decoder, MSE) for `aeEpochs`, then the classifier alone on the
  /// frozen encoder for `epochs`.
  case separate

  public var needsDecoder: Bool { self != .classification }

  /// Why `architecture` cannot train in this mode, for the user; `nil` when it can.
  public func unsupportedReason(for architecture: Architecture) -> String? {
    guard needsDecoder && !architecture.hasDecoder else { return nil }
    return
      "--mode \(rawValue) needs a model with a decoder (unet or mobilenetv2); \(architecture.rawValue) has none"
  }
}

/// A stretch of epochs with one set of trainable parts and one objective. `classification`
/// and `end-to-end` runs are one phase; `separate` runs are two; `--crt-epochs` adds one.
struct TrainingPhase: Equatable {
  /// `crt`: the classifier re-initialised at the phase's start and re-trained alone with
  /// class-balanced sampling (Kang et al., ICLR 2020).
  enum Kind: String {
    case joint, autoencoder, classifier
    case crt = "cRT"
  }
  let kind: Kind
  /// The first epoch of the phase (1-based, counted over the whole run).
  let firstEpoch: Int
  /// The epochs of each cosine cycle of its learning rate (one, unless restarts follow).
  let cycles: [Int]
  /// Whether the steps optimise the classification loss and/or the reconstruction MSE.
  let classifies: Bool
  let reconstructs: Bool
  let frozen: Set<ModelPart>

  var epochs: Int { cycles.reduce(0, +) }
  var lastEpoch: Int { firstEpoch + epochs - 1 }
  /// The outputs a training step computes (an autoencoder step also computes the logits, so
  /// that the training log shows what the still-untrained classifier predicts).
  var outputs: [NetworkOutput] { reconstructs ? [.logits, .reconstruction] : [.logits] }

  /// The phases of a run.
  static func phases(of config: TrainingConfiguration) -> [TrainingPhase] {
    let phases = trainingPhases(of: config)
    let retraining = config.optimization.classifierRetrainingEpochs
    guard retraining > 0, let last = phases.last else { return phases }
    return phases + [
      .init(
        kind: .crt, firstEpoch: last.lastEpoch + 1, cycles: [retraining], classifies: true,
        reconstructs: false,
        frozen: [.encoder, .decoder])
    ]
  }

  /// The phases that train the model from scratch.
  private static func trainingPhases(of config: TrainingConfiguration) -> [TrainingPhase] {
    let cycles = [config.optimization.epochs] + config.optimization.restartEpochs
    switch config.model.mode {
    case .classification, .endToEnd:
      return [
        .init(
          kind: .joint, firstEpoch: 1, cycles: cycles, classifies: true,
          reconstructs: config.model.mode == .endToEnd, frozen: [])
      ]
    case .separate:
      return [
        .init(
          kind: .autoencoder, firstEpoch: 1, cycles: [config.model.autoencoderEpochs], classifies: false,
          reconstructs: true, frozen: [.classifier]),
        .init(
          kind: .classifier, firstEpoch: config.model.autoencoderEpochs + 1, cycles: cycles, classifies: true,
          reconstructs: false, frozen: [.encoder, .decoder]),
      ]
    }
  }

  /// The 0-based epoch from which training draws class-balanced batches whatever the sampler
  /// (cRT's re-training); `nil` when none does.
  static func balancedSamplingEpoch(of config: TrainingConfiguration) -> Int? {
    phases(of: config).first { $0.kind == .crt }.map { $0.firstEpoch - 1 }
  }

  /// The phase that epoch `epoch` belongs to.
  static func phase(ofEpoch epoch: Int, in phases: [TrainingPhase]) -> TrainingPhase {
    phases.first { epoch <= $0.lastEpoch } ?? phases.last!
  }
}
