import Loader
import Model

/// Everything a training run depends on; the command line builds one, the trainer reads it.
public struct TrainingConfiguration: Sendable {
  public var architecture: Architecture = .smallCNN
  public var epochs = 12
  /// Images per optimizer step, summed over all ranks.
  public var globalBatch = 128
  public var learningRate = 0.05
  public var momentum = 0.9
  public var weightDecay = 5e-4
  public var warmupEpochs = 1
  public var sampler = SamplerOptions(kind: .oversample)
  public var loss = LossOptions(kind: .ce)
  /// A packed dataset directory; `nil` means the default Fashion-MNIST-LT one, packed on first use.
  public var dataDirectory: String?
  /// `n_max / n_min` of the default dataset's exponential long tail (ignored with `dataDirectory`).
  public var imbalanceRatio = 100.0
  /// Images per epoch (global); `nil` means the training split's size.
  public var epochSize: Int?
  public var seed: UInt64 = 0
  /// Debugging: stop after this many steps, skip evaluation.
  public var maxSteps: Int?
  /// Debugging: each rank writes its final parameters to `<prefix>.rank<r>.f32`.
  public var dumpParametersPrefix: String?

  public init() {}
}
