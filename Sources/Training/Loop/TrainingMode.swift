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
/// and `end-to-end` runs are one phase; `separate` runs are two.
struct TrainingPhase: Equatable {
  enum Kind: String { case joint, autoencoder, classifier }
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

  /// The phase that epoch `epoch` belongs to.
  static func phase(ofEpoch epoch: Int, in phases: [TrainingPhase]) -> TrainingPhase {
    phases.first { epoch <= $0.lastEpoch } ?? phases.last!
  }
}
