import Loader
import Model

/// Everything a training run depends on; the command line builds one, the trainer reads it.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
  public var architecture: Architecture = .smallCNN
  public var mode = TrainingMode.classification
  /// Weight of the reconstruction MSE in `end-to-end` mode.
  public var reconstructionWeight = 1.0
  /// Autoencoder epochs before the classifier's `epochs` in `separate` mode.
  public var autoencoderEpochs = 5
  /// Batch norm over the global batch (SyncBatchNorm) instead of each rank's share.
  public var syncBatchNorm = false
  /// Classifier epochs (in `separate` mode, after the autoencoder's).
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
  /// The run directory (`runs/NAME`); `nil` means `runs/<timestamp>`.
  public var outDirectory: String?
  /// Evaluate on the validation split every this many epochs (and always after the last).
  public var evalEvery = 1
  /// The validation metric that picks `best.safetensors`.
  public var selectBy = SelectionMetric.macroF1
  public var testTimeAugmentation = TestTimeAugmentation.none
  /// Test images whose features the t-SNE plot embeds (0: no embedding).
  public var tsnePoints = 1000
  /// Refresh the progress line every this many steps.
  public var logEvery = 20
  /// Rank 0 prints only the final result.
  public var quiet = false
  /// Stop after this epoch as if pre-empted, leaving a run that `--resume` continues.
  public var stopAfterEpoch: Int?
  /// Single-node debug mode: epochs of `debugSamples` images, validation and test on their
  /// first `debugSamples` images, a line per step, and a NaN/Inf check of every gradient.
  public var debug = false
  public var debugSamples = 512
  /// Compare the replicas' parameter hashes every this many steps (always after each epoch).
  public var checkReplicasEvery: Int?
  /// Testing: a fault to inject.
  public var fault: FaultInjection?
  /// Debugging: stop after this many steps, skip evaluation.
  public var maxSteps: Int?
  /// Debugging: each rank writes its final parameters to `<prefix>.rank<r>.f32`.
  public var dumpParametersPrefix: String?

  public init() {}
}

extension TrainingConfiguration {
  /// The run's network for a dataset's image shape and class count (uninitialised); with
  /// `decoder: false` the deployable classifier alone.
  public func makeNetwork(image: Manifest.Image, classes: Int, decoder: Bool? = nil) throws -> Network {
    try architecture.makeNetwork(
      channels: image.channels, height: image.height, width: image.width, classes: classes,
      cosineClassifier: loss.needsCosineClassifier, decoder: decoder ?? mode.needsDecoder)
  }

  /// Epochs of the whole run: the autoencoder's and the classifier's in `separate` mode.
  public var totalEpochs: Int { mode == .separate ? autoencoderEpochs + epochs : epochs }
}
