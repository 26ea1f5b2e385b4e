import ArgumentParser
import Training

extension SamplerKind: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension ClassWeightScheme: ExpressibleByArgument {}
extension SelectionMetric: ExpressibleByArgument {}
extension TestTimeAugmentation: ExpressibleByArgument {}
extension Architecture: ExpressibleByArgument {}
extension TrainingMode: ExpressibleByArgument {}
extension TaskKind: ExpressibleByArgument {}

/// One group of `train`'s options: it fills one part of a `TrainingConfiguration`. Every
/// option is optional, so that what a `--config` file set stays unless the command line names
/// it; the help shows the configuration's own default.
protocol ConfigurationArguments: ParsableArguments {
  func apply(to configuration: inout TrainingConfiguration)
}

/// `help` with the default that applies when neither the command line nor a file sets it.
func help(_ text: String, default value: Any?) -> ArgumentHelp {
  ArgumentHelp(value.map { "\(text) (default: \($0))" } ?? text)
}

/// Sets `field` when the option was given.
private func set<T>(_ field: inout T, _ value: T?) {
  if let value { field = value }
}

/// The options of `ModelOptions`.
struct ModelArguments: ConfigurationArguments {
  private static let defaults = ModelOptions()

  @Option(help: help("The network.", default: defaults.architecture.rawValue))
  var model: Architecture?

  @Option(
    help: help(
      "classification (a class per image) or segmentation (a class per pixel, from unet's or mobilenetv2's decoder; datasets with label masks).",
      default: defaults.task.rawValue))
  var task: TaskKind?

  @Option(
    help: help(
      "classification (encoder + classifier), end-to-end (with the decoder, + --recon-weight × MSE), or separate (autoencoder for --ae-epochs, then the classifier on the frozen encoder).",
      default: defaults.mode.rawValue))
  var mode: TrainingMode?

  @Option(
    name: .customLong("recon-weight"),
    help: help(
      "Weight of the reconstruction MSE in --mode end-to-end.", default: defaults.reconstructionWeight))
  var reconWeight: Double?

  @Option(
    name: .customLong("ae-epochs"),
    help: help(
      "Autoencoder epochs before the classifier's in --mode separate.", default: defaults.autoencoderEpochs))
  var aeEpochs: Int?

  @Flag(
    name: .customLong("sync-bn"), inversion: .prefixedNo,
    help: help(
      "Batch norm with the statistics of the global batch, summed over the ranks (SyncBatchNorm).",
      default: "off"))
  var syncBN: Bool?

  func apply(to configuration: inout TrainingConfiguration) {
    set(&configuration.model.architecture, model)
    set(&configuration.model.task, task)
    set(&configuration.model.mode, mode)
    set(&configuration.model.reconstructionWeight, reconWeight)
    set(&configuration.model.autoencoderEpochs, aeEpochs)
    set(&configuration.model.syncBatchNorm, syncBN)
  }
}

/// The options of `OptimizationOptions`.
struct OptimizationArguments: ConfigurationArguments {
  private static let defaults = OptimizationOptions()

  @Option(
    help: help(
      "Passes over the training data (an epoch is --epoch-size images); in --mode separate, the classifier's.",
      default: defaults.epochs))
  var epochs: Int?

  @Option(
    name: .customLong("batch-size"),
    help: help(
      "Global batch: images per optimizer step, summed over all ranks.", default: defaults.globalBatch))
  var batchSize: Int?

  @Option(
    name: .customLong("lr"),
    help: help("Peak learning rate of the cosine schedule.", default: defaults.learningRate))
  var learningRate: Double?

  @Option(help: help("SGD momentum.", default: defaults.momentum))
  var momentum: Double?

  @Option(
    name: .customLong("weight-decay"),
    help: help("L2 weight decay, added to every parameter's gradient.", default: defaults.weightDecay))
  var weightDecay: Double?

  @Option(
    name: .customLong("warmup-epochs"),
    help: help(
      "Epochs of linear learning-rate warm-up before the cosine decay.", default: defaults.warmupEpochs))
  var warmupEpochs: Int?

  @Option(
    name: .customLong("restart-epochs"),
    help: ArgumentHelp(
      "Further cosine cycles after --epochs, their epochs separated by commas: each a warm restart from --lr without warm-up (SGDR). (default: none)",
      valueName: "E1,E2,…"),
    transform: { text in
      let epochs = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
      guard !epochs.contains(nil) else {
        throw ValidationError(
          "--restart-epochs takes whole numbers of epochs separated by commas, not \(text)")
      }
      return epochs.map { $0! }
    })
  var restartEpochs: [Int]?

  @Option(
    name: .customLong("crt-epochs"),
    help: help(
      "Classifier re-training (cRT, Kang et al. 2020) after the joint epochs: the classifier re-initialised and trained alone for this many epochs, with class-balanced sampling, on the frozen encoder.",
      default: "\(OptimizationOptions().classifierRetrainingEpochs)"))
  var crtEpochs: Int?

  @Option(
    name: .customLong("lws-epochs"),
    help: help(
      "Learnable weight scaling (LWS, Kang et al. 2020) after the joint epochs: one scale per class on the frozen classifier, trained for this many epochs with class-balanced batches.",
      default: "\(OptimizationOptions().weightScalingEpochs)"))
  var lwsEpochs: Int?

  @Option(
    name: .customLong("wb-epochs"),
    help: help(
      "Weight balancing's second stage (Alshammari et al. 2022) after the joint epochs: the classifier alone, fine-tuned for this many epochs on the frozen encoder with natural batches, the class-balanced softmax, --wb-lr, --wb-weight-decay and MaxNorm.",
      default: "\(WeightBalancingOptions().epochs)"))
  var wbEpochs: Int?

  @Option(
    name: .customLong("wb-lr"),
    help: help(
      "Peak learning rate of the weight-balancing stage.", default: "\(WeightBalancingOptions().learningRate)"
    ))
  var wbLearningRate: Double?

  @Option(
    name: .customLong("wb-weight-decay"),
    help: help(
      "Weight decay of the weight-balancing stage.", default: "\(WeightBalancingOptions().weightDecay)"))
  var wbWeightDecay: Double?

  @Option(
    name: .customLong("wb-max-norm"),
    help: help(
      "MaxNorm's radius for each class's weight row, as a share from the smallest to the largest row norm at the stage's start.",
      default: "\(WeightBalancingOptions().maxNorm)"))
  var wbMaxNorm: Double?

  func apply(to configuration: inout TrainingConfiguration) {
    set(&configuration.optimization.epochs, epochs)
    set(&configuration.optimization.globalBatch, batchSize)
    set(&configuration.optimization.learningRate, learningRate)
    set(&configuration.optimization.momentum, momentum)
    set(&configuration.optimization.weightDecay, weightDecay)
    set(&configuration.optimization.warmupEpochs, warmupEpochs)
    if let restartEpochs { configuration.optimization.restartEpochs = restartEpochs }
    set(&configuration.optimization.classifierRetrainingEpochs, crtEpochs)
    set(&configuration.optimization.weightScalingEpochs, lwsEpochs)
    set(&configuration.optimization.weightBalancing.epochs, wbEpochs)
    set(&configuration.optimization.weightBalancing.learningRate, wbLearningRate)
    set(&configuration.optimization.weightBalancing.weightDecay, wbWeightDecay)
    set(&configuration.optimization.weightBalancing.maxNorm, wbMaxNorm)
  }
}

/// The options of `SamplerOptions` and `LossOptions`: how the imbalance is handled.
struct ImbalanceArguments: ConfigurationArguments {
  private static let sampler = SamplerOptions(kind: .oversample)
  private static let loss = LossOptions(kind: .ce)

  @Option(help: help("How training images are drawn (docs/imbalance.md).", default: sampler.kind.rawValue))
  var sampler: SamplerKind?

  @Option(
    name: .customLong("undersample-threshold"),
    help: "T of --sampler under-over: every class drawn T times per epoch.")
  var undersampleThreshold: Int?

  @Option(
    name: .customLong("stage1-epochs"),
    help: help(
      "Class-balanced epochs before the natural distribution (--sampler two-stage).",
      default: sampler.stage1Epochs))
  var stage1Epochs: Int?

  @Option(help: help("The loss (docs/imbalance.md).", default: loss.kind.rawValue))
  var loss: LossKind?

  @Option(
    name: .customLong("class-weights"),
    help: help("Class weights of weighted-ce and focal.", default: loss.classWeights.rawValue))
  var classWeights: ClassWeightScheme?

  @Option(
    help: help(
      "β of the effective number of samples (cb-* losses, effective weights and sampler, LDAM's DRW), in [0, 1).",
      default: loss.beta))
  var beta: Double?

  @Option(help: help("Focusing parameter γ ≥ 0 of focal and cb-focal.", default: loss.gamma))
  var gamma: Double?

  @Option(
    name: .customLong("cce-gamma"), help: help("γ ≥ 0 of the complement term of cce.", default: loss.cceGamma)
  )
  var cceGamma: Double?

  @Option(help: help("τ ≥ 0 of logit-adjust (balanced-softmax is τ = 1).", default: loss.tau))
  var tau: Double?

  @Option(
    name: .customLong("drw-epoch"),
    help: help("Epoch from which ldam re-weights (DRW).", default: "80% of --epochs, plus one"))
  var drwEpoch: Int?

  @Option(
    name: .customLong("dice-weight"),
    help: help(
      "Segmentation: weight of the soft Dice loss added to the per-pixel --loss (ce, weighted-ce or focal).",
      default: loss.diceWeight))
  var diceWeight: Double?

  func apply(to configuration: inout TrainingConfiguration) {
    set(&configuration.sampler.kind, sampler)
    if let undersampleThreshold { configuration.sampler.undersampleThreshold = undersampleThreshold }
    set(&configuration.sampler.stage1Epochs, stage1Epochs)
    set(&configuration.loss.kind, loss)
    set(&configuration.loss.classWeights, classWeights)
    set(&configuration.loss.beta, beta)
    set(&configuration.sampler.beta, beta)
    set(&configuration.loss.gamma, gamma)
    set(&configuration.loss.cceGamma, cceGamma)
    set(&configuration.loss.tau, tau)
    if let drwEpoch { configuration.loss.drwEpoch = drwEpoch }
    set(&configuration.loss.diceWeight, diceWeight)
  }
}

/// The options of `DataOptions`.
struct DataArguments: ConfigurationArguments {
  private static let defaults = DataOptions()

  @Option(
    help: help(
      "A packed dataset directory (see `imbal-dist pack`).",
      default: "long-tailed Fashion-MNIST, packed on first use"))
  var data: String?

  @Option(
    name: .customLong("imbalance-ratio"),
    help: help(
      "Without --data: largest over smallest class of the default dataset's exponential long tail.",
      default: defaults.imbalanceRatio))
  var imbalanceRatio: Double?

  @Option(
    name: .customLong("epoch-size"),
    help: help("Images per epoch, over all ranks.", default: "the training split's size"))
  var epochSize: Int?

  @Option(
    help: help(
      "Seed of every random choice (initialisation, sampling). Same seed, same result.",
      default: defaults.seed))
  var seed: UInt64?

  @Option(
    name: .customLong("loader-threads"),
    help: help(
      "Threads that read, decode and augment batches ahead of the step (0: the training thread does it).",
      default: "the cores per rank on this node, minus one"))
  var loaderThreads: Int?

  @Option(
    name: .customLong("loader-memory"),
    help: help(
      "MB of records and queued batches the loader keeps in memory per rank; the rest is read from the shards when drawn.",
      default: defaults.loaderMemory))
  var loaderMemory: Int?

  func apply(to configuration: inout TrainingConfiguration) {
    if let data { configuration.data.directory = data }
    set(&configuration.data.imbalanceRatio, imbalanceRatio)
    if let epochSize { configuration.data.epochSize = epochSize }
    set(&configuration.data.seed, seed)
    if let loaderThreads { configuration.data.loaderThreads = loaderThreads }
    set(&configuration.data.loaderMemory, loaderMemory)
  }
}

/// The options of `OutputOptions`.
struct OutputArguments: ConfigurationArguments {
  private static let defaults = OutputOptions()

  @Option(
    help: help("The run directory for logs, checkpoints and the report.", default: "runs/<UTC timestamp>"))
  var out: String?

  @Option(
    name: .customLong("eval-every"),
    help: help(
      "Evaluate on the validation split every N epochs (and after the last).", default: defaults.evalEvery))
  var evalEvery: Int?

  @Option(
    name: .customLong("select-by"),
    help: help(
      "Validation metric that picks best.safetensors.", default: "macro-f1; miou with --task segmentation"))
  var selectBy: SelectionMetric?

  @Option(
    help: help(
      "Test-time augmentation for validation and test: none, flip (average with the mirror image) or flip-shift (image classifiers: and both moved one pixel each way, 10 views).",
      default: defaults.testTimeAugmentation.rawValue))
  var tta: TestTimeAugmentation?

  @Option(
    name: .customLong("many-shot-above"),
    help: help(
      "Classes with more training images than this are many-shot in the test report's shot groups.",
      default: defaults.manyShotAbove))
  var manyShotAbove: Int?

  @Option(
    name: .customLong("few-shot-below"),
    help: help(
      "Classes with fewer training images than this are few-shot (the rest, up to --many-shot-above, medium).",
      default: defaults.fewShotBelow))
  var fewShotBelow: Int?

  @Option(
    name: .customLong("tsne-points"),
    help: help("Test images embedded in the t-SNE plot (0: none).", default: defaults.tsnePoints))
  var tsnePoints: Int?

  @Option(
    name: .customLong("log-every"),
    help: help("Refresh the progress line every N steps (0: epoch lines only).", default: defaults.logEvery))
  var logEvery: Int?

  @Flag(inversion: .prefixedNo, help: help("Print only the final JSON line (and errors).", default: "off"))
  var quiet: Bool?

  @Option(
    name: .customLong("stop-after-epoch"),
    help: "Stop after this epoch as if pre-empted, with checkpoints that --resume continues exactly.")
  var stopAfterEpoch: Int?

  func apply(to configuration: inout TrainingConfiguration) {
    if let out { configuration.output.directory = out }
    set(&configuration.output.evalEvery, evalEvery)
    if let selectBy { configuration.output.selectBy = selectBy }
    set(&configuration.output.testTimeAugmentation, tta)
    set(&configuration.output.tsnePoints, tsnePoints)
    set(&configuration.output.manyShotAbove, manyShotAbove)
    set(&configuration.output.fewShotBelow, fewShotBelow)
    set(&configuration.output.logEvery, logEvery)
    set(&configuration.output.quiet, quiet)
    if let stopAfterEpoch { configuration.output.stopAfterEpoch = stopAfterEpoch }
  }
}

/// The options of `DebuggingOptions`.
struct DebuggingArguments: ConfigurationArguments {
  private static let defaults = DebuggingOptions()

  @Flag(
    inversion: .prefixedNo,
    help: help(
      "Single-node debug mode: epochs of --debug-samples images, a line per step (loss, gradient and parameter norms, time), a NaN/Inf check of every gradient.",
      default: "off"))
  var debug: Bool?

  @Option(
    name: .customLong("debug-samples"),
    help: help("Images per epoch and per evaluation split in --debug mode.", default: defaults.samples))
  var debugSamples: Int?

  @Option(
    name: .customLong("check-replicas"),
    help:
      "Compare the ranks' parameter hashes every N steps and stop on any difference (always after each epoch)."
  )
  var checkReplicas: Int?

  @Option(
    name: .customLong("inject-fault"),
    help: ArgumentHelp("Testing: make a rank fail: \(FaultInjection.syntax).", visibility: .hidden))
  var injectFault: FaultInjection?

  @Option(
    name: .customLong("max-steps"),
    help: "Debugging: stop after this many optimizer steps and skip evaluation.")
  var maxSteps: Int?

  @Option(
    name: .customLong("dump-parameters"),
    help: "Debugging: each rank writes its final parameters as raw float32 to PREFIX.rank<r>.f32.")
  var dumpParameters: String?

  func apply(to configuration: inout TrainingConfiguration) {
    set(&configuration.debugging.enabled, debug)
    set(&configuration.debugging.samples, debugSamples)
    if let checkReplicas { configuration.debugging.checkReplicasEvery = checkReplicas }
    if let injectFault { configuration.debugging.fault = injectFault }
    if let maxSteps { configuration.debugging.maxSteps = maxSteps }
    if let dumpParameters { configuration.debugging.dumpParametersPrefix = dumpParameters }
  }
}

extension FaultInjection: ExpressibleByArgument {
  public init?(argument: String) { self.init(argument) }
}

extension AugmentPreset: ExpressibleByArgument {}
extension Mixing.Kind: ExpressibleByArgument {}

/// The options of `AugmentationOptions`: the training split's augmentation.
struct AugmentationArguments: ConfigurationArguments {
  @Option(
    help: help(
      "Training-split augmentation: none, standard (pad ⅛ of the side and crop, flip) or strong (standard + Cutout of half the side + colour jitter 0.4).",
      default: AugmentationOptions().preset.rawValue))
  var augment: AugmentPreset?

  @Option(
    name: .customLong("crop-padding"),
    help: "Zero padding before the random crop, in pixels (overrides the preset).")
  var cropPadding: Int?

  @Flag(inversion: .prefixedNo, help: "Random horizontal flips (overrides the preset).")
  var flip: Bool?

  @Option(help: "Side of the Cutout square in pixels, 0 for none (overrides the preset).")
  var cutout: Int?

  @Option(help: "Brightness jitter: factors in [1 − x, 1 + x] (overrides the preset).")
  var brightness: Double?

  @Option(help: "Contrast jitter: factors in [1 − x, 1 + x] (overrides the preset).")
  var contrast: Double?

  @Option(help: "Saturation jitter (RGB): factors in [1 − x, 1 + x] (overrides the preset).")
  var saturation: Double?

  @Option(
    name: .customLong("resized-crop-scale"),
    help:
      "Random-resized crop instead of the padded crop: LOW,HIGH share of the image's area (torchvision's RandomResizedCrop scale, e.g. 0.08,1), scaled back to the image's size."
  )
  var resizedCropScale: ValueRange?

  @Option(
    name: .customLong("resized-crop-ratio"),
    help: "LOW,HIGH aspect ratio (width/height) of the random-resized crop. (default: 0.75,1.3333)")
  var resizedCropRatio: ValueRange?

  @Option(
    help: help(
      "Mixed-sample augmentation: none, mixup (blend two images and their labels), cutmix (paste a box of one into the other) or remix (mixup whose label goes to the minority class when the pair's class counts differ by --remix-kappa or more).",
      default: Mixing().kind.rawValue))
  var mix: Mixing.Kind?

  @Option(
    name: .customLong("mix-alpha"),
    help: help("α of the Beta(α, α) mixing weight.", default: "\(Mixing().alpha)"))
  var mixAlpha: Double?

  @Option(
    name: .customLong("remix-kappa"),
    help: help(
      "Remix's κ: the class-count ratio from which a pair's label goes to the minority.",
      default: "\(Mixing().remixKappa)"))
  var remixKappa: Double?

  @Option(
    name: .customLong("remix-tau"),
    help: help(
      "Remix's τ: when the majority image's pixel share is below τ, the minority class takes the whole label.",
      default: "\(Mixing().remixTau)"))
  var remixTau: Double?

  @Option(
    name: .customLong("copy-paste"),
    help: help(
      "With --task segmentation: the probability that a training image receives a rare-class object copied from another image of its shard (Ghiasi et al. 2021, as the seed pastes).",
      default: "0"))
  var copyPaste: Double?

  func apply(to configuration: inout TrainingConfiguration) {
    set(&configuration.augmentation.preset, augment)
    if let cropPadding { configuration.augmentation.cropPadding = cropPadding }
    if let flip { configuration.augmentation.flip = flip }
    if let cutout { configuration.augmentation.cutout = cutout }
    if let brightness { configuration.augmentation.brightness = brightness }
    if let contrast { configuration.augmentation.contrast = contrast }
    if let saturation { configuration.augmentation.saturation = saturation }
    if let resizedCropScale { configuration.augmentation.resizedCropScale = resizedCropScale }
    if let resizedCropRatio { configuration.augmentation.resizedCropRatio = resizedCropRatio }
    set(&configuration.augmentation.mixing.kind, mix)
    set(&configuration.augmentation.mixing.alpha, mixAlpha)
    set(&configuration.augmentation.mixing.remixKappa, remixKappa)
    set(&configuration.augmentation.mixing.remixTau, remixTau)
    set(&configuration.augmentation.copyPaste.probability, copyPaste)
  }
}

extension ValueRange: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
}
