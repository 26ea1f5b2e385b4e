import Loader
import Model

/// Everything a training run depends on, in groups the command line's option groups fill one
/// to one; the trainer reads it, `hparams.json` records it, `--config` and sweeps decode it
/// (`TrainingConfiguration+Options.swift` names every field's option).
public struct TrainingConfiguration: Sendable, Equatable {
  public var model = ModelOptions()
  public var optimization = OptimizationOptions()
  public var sampler = SamplerOptions(kind: .oversample)
  public var loss = LossOptions(kind: .ce)
  public var data = DataOptions()
  public var augmentation = AugmentationOptions()
  public var output = OutputOptions()
  public var debugging = DebuggingOptions()

  public init() {}
}

/// The network and what of it trains.
public struct ModelOptions: Sendable, Equatable {
  public var architecture: Architecture = .smallCNN
  /// One class per image, or per pixel (a decoder's class maps; datasets with label masks).
  public var task = TaskKind.classification
  public var mode = TrainingMode.classification
  /// Weight of the reconstruction MSE in `end-to-end` mode.
  public var reconstructionWeight = 1.0
  /// Autoencoder epochs before the classifier's epochs in `separate` mode.
  public var autoencoderEpochs = 5
  /// Batch norm over the global batch (SyncBatchNorm) instead of each rank's share.
  public var syncBatchNorm = false
  public init() {}

  /// How the model trains, as logs and reports name it: `segmentation`, or the `--mode`.
  public var setting: String { task == .segmentation ? "segmentation" : mode.rawValue }
}

/// SGD on a cosine schedule with linear warm-up.
public struct OptimizationOptions: Sendable, Equatable {
  /// Classifier epochs (in `separate` mode, after the autoencoder's).
  public var epochs = 12
  /// Images per optimizer step, summed over all ranks.
  public var globalBatch = 128
  public var learningRate = 0.05
  public var momentum = 0.9
  public var weightDecay = 5e-4
  public var warmupEpochs = 1
  /// Epochs of each further cosine cycle after `epochs`, each a warm restart from the peak rate
  /// without warm-up (SGDR, Loshchilov & Hutter 2017); `train --resume RUN --epochs N` appends
  /// one to extend a finished run.
  public var restartEpochs: [Int] = []
  /// Epochs of classifier re-training (cRT, Kang et al., ICLR 2020) after the joint epochs: the
  /// classifier re-initialised and trained alone, with class-balanced sampling, on the frozen
  /// encoder; 0: none.
  public var classifierRetrainingEpochs = 0
  /// Epochs of learnable weight scaling (LWS, Kang et al., ICLR 2020) after the joint epochs: a
  /// scale per class on the frozen classifier, trained with class-balanced batches; 0: none.
  public var weightScalingEpochs = 0
  /// Weight balancing's second stage after the joint epochs (`--wb-epochs`).
  public var weightBalancing = WeightBalancingOptions()
  public init() {}

  /// Epochs of the classifier stage after the joint ones (cRT, LWS or weight balancing; at most
  /// one is given).
  public var classifierStageEpochs: Int {
    classifierRetrainingEpochs + weightScalingEpochs + weightBalancing.epochs
  }

  /// Every epoch of the classifier's schedule: the first cycle's and the restarts'.
  public var scheduledEpochs: Int { epochs + restartEpochs.reduce(0, +) }

  /// A resumed run's schedule extended to `total` classifier epochs by one more cosine cycle
  /// (nothing when it has them already); fewer than it has is an error naming `run`.
  public mutating func extend(to total: Int, run: String) throws {
    guard classifierStageEpochs == 0 else {
      throw ConfigurationError.invalid(
        "--epochs with --resume extends the joint epochs, but \(run) trains its classifier in a stage after them (--crt-epochs, --lws-epochs or --wb-epochs); train a new run instead"
      )
    }
    guard total >= scheduledEpochs else {
      throw ConfigurationError.invalid(
        "--epochs \(total) with --resume extends a run; \(run) has \(scheduledEpochs) epochs: give more, or leave --epochs out"
      )
    }
    if total > scheduledEpochs { restartEpochs.append(total - scheduledEpochs) }
  }
}

/// The second stage of weight balancing (Alshammari et al., CVPR 2022): the classifier alone,
/// fine-tuned on the frozen encoder with natural batches and the class-balanced softmax, under a
/// large weight decay and MaxNorm (rows projected back into the ball after every step). The
/// defaults are their CIFAR-100-LT demo's. Their first stage is an ordinary run with a tuned
/// `--weight-decay`.
public struct WeightBalancingOptions: Sendable, Equatable {
  /// Epochs of the stage; 0: none.
  public var epochs = 0
  public var learningRate = 0.01
  public var weightDecay = 0.1
  /// MaxNorm's radius as a share from the smallest to the largest class-row norm at the stage's
  /// start: `min + t·(max − min)`.
  public var maxNorm = 0.1
  public init() {}
}

/// What is trained on, and the seed of every random choice.
public struct DataOptions: Sendable, Equatable {
  /// A packed dataset directory; `nil` means the default Fashion-MNIST-LT one, packed on first use.
  public var directory: String?
  /// `n_max / n_min` of the default dataset's exponential long tail (ignored with `directory`).
  public var imbalanceRatio = 100.0
  /// Images per epoch (global); `nil` means the sampler's default epoch.
  public var epochSize: Int?
  public var seed: UInt64 = 0
  /// Background threads that read, decode and augment batches (0: the training thread does);
  /// `nil`: the cores left per rank on this node.
  public var loaderThreads: Int?
  /// MB of records and queued batches the loader keeps in memory per rank; records beyond it
  /// are read from their shards when drawn.
  public var loaderMemory = 1024
  public init() {}
}

/// The run directory, evaluation and what rank 0 prints.
public struct OutputOptions: Sendable, Equatable {
  /// The run directory (`runs/NAME`); `nil` means `runs/<timestamp>`.
  public var directory: String?
  /// Evaluate on the validation split every this many epochs (and always after the last).
  public var evalEvery = 1
  /// The validation metric that picks `best.safetensors`; `nil`: the task's
  /// (`TrainingConfiguration.selectionMetric`).
  public var selectBy: SelectionMetric?
  public var testTimeAugmentation = TestTimeAugmentation.none
  /// Shot groups of the test report: many-shot classes have more training images than this,
  /// few-shot classes fewer than `fewShotBelow`.
  public var manyShotAbove = 100
  public var fewShotBelow = 20
  /// Test images whose features the t-SNE plot embeds (0: no embedding).
  public var tsnePoints = 1000
  /// Refresh the progress line every this many steps.
  public var logEvery = 20
  /// Rank 0 prints only the final result.
  public var quiet = false
  /// Stop after this epoch as if pre-empted, leaving a run that `--resume` continues.
  public var stopAfterEpoch: Int?
  public init() {}
}

/// Debug mode and the switches tests use.
public struct DebuggingOptions: Sendable, Equatable {
  /// Single-node debug mode: epochs of `samples` images, validation and test on their first
  /// `samples` images, a line per step, and a NaN/Inf check of every gradient.
  public var enabled = false
  public var samples = 512
  /// Compare the replicas' parameter hashes every this many steps (always after each epoch).
  public var checkReplicasEvery: Int?
  /// Testing: a fault to inject.
  public var fault: FaultInjection?
  /// Stop after this many steps, skip evaluation.
  public var maxSteps: Int?
  /// Each rank writes its final parameters to `<prefix>.rank<r>.f32`.
  public var dumpParametersPrefix: String?
  public init() {}
}

extension OutputOptions {
  /// The shot groups of `evaluation` for classes with `trainCounts` training images.
  public func shotGroups(_ evaluation: Evaluation, trainCounts: [Int]) -> ShotGroups {
    ShotGroups(
      recall: evaluation.metrics.recall, trainCounts: trainCounts, manyAbove: manyShotAbove,
      fewBelow: fewShotBelow)
  }
}

extension TrainingConfiguration {
  /// The run's network for a dataset's image shape and class count (uninitialised); with
  /// `decoder: false` the deployable classifier alone.
  public func makeNetwork(image: Manifest.Image, classes: Int, decoder: Bool? = nil) throws -> Network {
    try model.architecture.makeNetwork(
      channels: image.channels, height: image.height, width: image.width, classes: classes,
      cosineClassifier: loss.needsCosineClassifier, decoder: decoder ?? model.mode.needsDecoder,
      task: model.task)
  }

  /// Epochs of the whole run: the autoencoder's and the classifier's in `separate` mode.
  /// Many-, medium- and few-shot accuracy by the training images of each class; none for
  /// segmentation, whose metrics count pixels.
  public func shotGroups(_ evaluation: Evaluation, trainCounts: [Int]) -> ShotGroups? {
    model.task == .classification ? output.shotGroups(evaluation, trainCounts: trainCounts) : nil
  }

  /// The validation metric that picks `best.safetensors`: `--select-by`, else macro-F1, or mIoU
  /// for segmentation.
  public var selectionMetric: SelectionMetric {
    output.selectBy ?? (model.task == .segmentation ? .meanIoU : .macroF1)
  }

  public var totalEpochs: Int {
    (model.mode == .separate ? model.autoencoderEpochs : 0) + optimization.scheduledEpochs
      + optimization.classifierStageEpochs
  }
}
