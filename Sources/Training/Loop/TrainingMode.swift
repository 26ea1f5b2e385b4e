import Loader
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

/// A stretch of epochs with one set of trainable parts, one objective and one optimizer
/// setting. `classification` and `end-to-end` runs are one phase; `separate` runs are two; a
/// classifier stage (`--crt-epochs`, `--wb-epochs`) adds one.
struct TrainingPhase: Equatable {
  /// `crt`: the classifier re-initialised and re-trained alone with class-balanced batches
  /// (Kang et al., ICLR 2020). `lws`: a learnable scale per class on the frozen classifier,
  /// class-balanced batches (the same paper). `wb`: weight balancing's second stage (Alshammari et al., CVPR
  /// 2022): the classifier fine-tuned alone with natural batches, the class-balanced softmax,
  /// its own learning rate and weight decay, and each class's weight row capped by MaxNorm.
  enum Kind: String {
    case joint, autoencoder, classifier
    case crt = "cRT"
    case lws = "LWS"
    case wb = "WB"
  }
  var kind: Kind
  /// The first epoch of the phase (1-based, counted over the whole run).
  let firstEpoch: Int
  /// The epochs of each cosine cycle of its learning rate (one, unless restarts follow).
  var cycles: [Int]
  /// Whether the steps optimise the classification loss and/or the reconstruction MSE.
  let classifies: Bool
  let reconstructs: Bool
  let frozen: Set<ModelPart>
  /// The peak learning rate and SGD's weight decay in this phase.
  var learningRate: Double
  var weightDecay: Double
  /// The sampler and loss of a classifier stage, replacing the run's; `nil`: the run's.
  var sampler: SamplerKind? = nil
  var loss: LossKind? = nil
  /// MaxNorm's threshold as a share of the way from the smallest to the largest class-row norm
  /// at the phase's start (Alshammari et al.'s `thresh`); `nil`: no cap.
  var maxNorm: Double? = nil

  var epochs: Int { cycles.reduce(0, +) }
  var lastEpoch: Int { firstEpoch + epochs - 1 }
  /// The outputs a training step computes (an autoencoder step also computes the logits, so
  /// that the training log shows what the still-untrained classifier predicts).
  var outputs: [NetworkOutput] { reconstructs ? [.logits, .reconstruction] : [.logits] }
  /// The outputs a step of `network` computes: a segmentation network's class maps, else the
  /// phase's.
  func outputs(of network: Network) -> [NetworkOutput] {
    network.prediction == .classMaps ? [.classMaps] : outputs
  }

  /// A stage on the trained encoder that starts the classifier's optimisation afresh.
  var isClassifierStage: Bool { [.crt, .lws, .wb].contains(kind) }

  /// The phases of a run.
  static func phases(of config: TrainingConfiguration) -> [TrainingPhase] {
    let phases = trainingPhases(of: config)
    let o = config.optimization
    guard let last = phases.last else { return phases }
    var stage = TrainingPhase(
      kind: .crt, firstEpoch: last.lastEpoch + 1, cycles: [o.classifierRetrainingEpochs], classifies: true,
      reconstructs: false, frozen: [.encoder, .decoder], learningRate: o.learningRate,
      weightDecay: o.weightDecay,
      sampler: .oversample)
    if o.classifierRetrainingEpochs > 0 { return phases + [stage] }
    if o.weightScalingEpochs > 0 {
      (stage.kind, stage.cycles) = (.lws, [o.weightScalingEpochs])
      return phases + [stage]
    }
    guard o.weightBalancing.epochs > 0 else { return phases }
    let wb = o.weightBalancing
    (stage.kind, stage.cycles, stage.learningRate, stage.weightDecay) = (
      .wb, [wb.epochs], wb.learningRate, wb.weightDecay
    )
    (stage.sampler, stage.loss, stage.maxNorm) = (.uniform, .cbSoftmax, wb.maxNorm)
    return phases + [stage]
  }

  /// The phases that train the model from scratch.
  private static func trainingPhases(of config: TrainingConfiguration) -> [TrainingPhase] {
    let cycles = [config.optimization.epochs] + config.optimization.restartEpochs
    let (rate, decay) = (config.optimization.learningRate, config.optimization.weightDecay)
    switch config.model.mode {
    case .classification, .endToEnd:
      return [
        .init(
          kind: .joint, firstEpoch: 1, cycles: cycles, classifies: true,
          reconstructs: config.model.mode == .endToEnd, frozen: [], learningRate: rate, weightDecay: decay)
      ]
    case .separate:
      return [
        .init(
          kind: .autoencoder, firstEpoch: 1, cycles: [config.model.autoencoderEpochs], classifies: false,
          reconstructs: true, frozen: [.classifier], learningRate: rate, weightDecay: decay),
        .init(
          kind: .classifier, firstEpoch: config.model.autoencoderEpochs + 1, cycles: cycles, classifies: true,
          reconstructs: false, frozen: [.encoder, .decoder], learningRate: rate, weightDecay: decay),
      ]
    }
  }

  /// The 0-based epoch from which a classifier stage's sampler replaces the run's, and that sampler.
  static func laterSampler(of config: TrainingConfiguration) -> (fromEpoch: Int, kind: SamplerKind)? {
    phases(of: config).first { $0.sampler != nil }.map { ($0.firstEpoch - 1, $0.sampler!) }
  }

  /// The phase that epoch `epoch` belongs to.
  static func phase(ofEpoch epoch: Int, in phases: [TrainingPhase]) -> TrainingPhase {
    phases.first { epoch <= $0.lastEpoch } ?? phases.last!
  }
}
