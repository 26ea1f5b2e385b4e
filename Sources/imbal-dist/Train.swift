import ArgumentParser
import Distributed
import Foundation
import Loader
import Model
import Training

extension SamplerKind: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension ClassWeightScheme: ExpressibleByArgument {}
extension SelectionMetric: ExpressibleByArgument {}
extension TestTimeAugmentation: ExpressibleByArgument {}
extension Architecture: ExpressibleByArgument {}
extension TrainingMode: ExpressibleByArgument {}

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a model; every rank of an mpirun job runs this same command.")

  @Option(help: "The network: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
  var model: Architecture = .smallCNN

  @Option(
    help:
      "classification (encoder + classifier), end-to-end (with the decoder, + --recon-weight × MSE), or separate (autoencoder for --ae-epochs, then the classifier on the frozen encoder)."
  )
  var mode: TrainingMode = .classification

  @Option(name: .customLong("recon-weight"), help: "Weight of the reconstruction MSE in --mode end-to-end.")
  var reconWeight = 1.0

  @Option(
    name: .customLong("ae-epochs"), help: "Autoencoder epochs before the classifier's in --mode separate.")
  var aeEpochs = 5

  @Flag(
    name: .customLong("sync-bn"),
    help: "Batch norm with the statistics of the global batch, summed over the ranks (SyncBatchNorm).")
  var syncBN = false

  @Flag(help: "Print the model's layer table (output shapes, parameters, multiply-adds per image) and exit.")
  var describe = false

  @Option(
    help:
      "Passes over the training data (an epoch is --epoch-size images); in --mode separate, the classifier's."
  )
  var epochs = 12

  @Option(
    name: .customLong("batch-size"), help: "Global batch: images per optimizer step, summed over all ranks.")
  var batchSize = 128

  @Option(name: .customLong("lr"), help: "Peak learning rate of the cosine schedule.")
  var learningRate = 0.05

  @Option(help: "SGD momentum.")
  var momentum = 0.9

  @Option(name: .customLong("weight-decay"), help: "L2 weight decay, added to every parameter's gradient.")
  var weightDecay = 5e-4

  @Option(
    name: .customLong("warmup-epochs"),
    help: "Epochs of linear learning-rate warm-up before the cosine decay.")
  var warmupEpochs = 1

  @Option(
    help: "How training images are drawn: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")).")
  var sampler: SamplerKind = .oversample

  @Option(
    name: .customLong("undersample-threshold"),
    help: "T of --sampler under-over: every class drawn T times per epoch.")
  var undersampleThreshold: Int?

  @Option(
    name: .customLong("stage1-epochs"),
    help: "Class-balanced epochs before the natural distribution (--sampler two-stage).")
  var stage1Epochs = 1

  @Option(help: "The loss: \(LossKind.allCases.map(\.rawValue).joined(separator: ", ")).")
  var loss: LossKind = .ce

  @Option(
    name: .customLong("class-weights"),
    help:
      "Class weights of weighted-ce and focal: \(ClassWeightScheme.allCases.map(\.rawValue).joined(separator: ", "))."
  )
  var classWeights: ClassWeightScheme = .none

  @Option(
    help:
      "β of the effective number of samples (cb-* losses, effective weights and sampler, LDAM's DRW), in [0, 1)."
  )
  var beta = 0.9999

  @Option(help: "Focusing parameter γ ≥ 0 of focal and cb-focal.")
  var gamma = 2.0

  @Option(name: .customLong("cce-gamma"), help: "γ ≥ 0 of the complement term of cce.")
  var cceGamma = 1.0

  @Option(help: "τ ≥ 0 of logit-adjust (balanced-softmax is τ = 1).")
  var tau = 1.0

  @Option(
    name: .customLong("drw-epoch"),
    help: "Epoch from which ldam re-weights (DRW). (default: 80% of --epochs, plus one)")
  var drwEpoch: Int?

  @Option(
    help:
      "A packed dataset directory (see `imbal-dist pack`). (default: long-tailed Fashion-MNIST, packed on first use)"
  )
  var data: String?

  @Option(
    name: .customLong("imbalance-ratio"),
    help: "Without --data: largest over smallest class of the default dataset's exponential long tail.")
  var imbalanceRatio = 100.0

  @Option(
    name: .customLong("epoch-size"),
    help: "Images per epoch, over all ranks. (default: the training split's size)")
  var epochSize: Int?

  @Option(help: "Seed of every random choice (initialisation, sampling). Same seed, same result.")
  var seed: UInt64 = 0

  @Option(
    help:
      "A YAML file of options (`epochs: 12`, `loss: ldam`, a flag as `debug: true`); options on the command line override it."
  )
  var config: String?

  @Option(help: "The run directory for logs, checkpoints and the report. (default: runs/<UTC timestamp>)")
  var out: String?

  @Option(
    help:
      "Continue the run in this directory from its last checkpoint, with the options recorded in its hparams.json (other options are ignored)."
  )
  var resume: String?

  @Option(
    name: .customLong("eval-every"),
    help: "Evaluate on the validation split every N epochs (and after the last).")
  var evalEvery = 1

  @Option(
    name: .customLong("select-by"),
    help:
      "Validation metric that picks best.safetensors: \(SelectionMetric.allCases.map(\.rawValue).joined(separator: ", "))."
  )
  var selectBy: SelectionMetric = .macroF1

  @Option(
    help: "Test-time augmentation for validation and test: none, or flip (average with the mirror image).")
  var tta: TestTimeAugmentation = .none

  @Option(name: .customLong("tsne-points"), help: "Test images embedded in the t-SNE plot (0: none).")
  var tsnePoints = 1000

  @Option(
    name: .customLong("log-every"), help: "Refresh the progress line every N steps (0: epoch lines only).")
  var logEvery = 20

  @Flag(help: "Print only the final JSON line (and errors).")
  var quiet = false

  @Option(
    name: .customLong("stop-after-epoch"),
    help: "Stop after this epoch as if pre-empted, with checkpoints that --resume continues exactly.")
  var stopAfterEpoch: Int?

  @Flag(
    help:
      "Single-node debug mode: epochs of --debug-samples images, a line per step (loss, gradient and parameter norms, time), a NaN/Inf check of every gradient."
  )
  var debug = false

  @Option(
    name: .customLong("debug-samples"), help: "Images per epoch and per evaluation split in --debug mode.")
  var debugSamples = 512

  @Option(
    name: .customLong("simulate-ranks"),
    help: "Run N ranks as threads of this one process (no mpirun), over an in-process communicator.")
  var simulateRanks: Int?

  @Option(
    name: .customLong("check-replicas"),
    help:
      "Compare the ranks' parameter hashes every N steps and stop on any difference (always after each epoch)."
  )
  var checkReplicas: Int?

  @Option(
    name: .customLong("inject-fault"),
    help: ArgumentHelp(
      "Testing: make a rank fail: error|nan|gradient|drift|exit@STEP[:RANK].", visibility: .hidden))
  var injectFault: String?

  @Option(
    name: .customLong("max-steps"),
    help: "Debugging: stop after this many optimizer steps and skip evaluation.")
  var maxSteps: Int?

  @Option(
    name: .customLong("dump-parameters"),
    help: "Debugging: each rank writes its final parameters as raw float32 to PREFIX.rank<r>.f32.")
  var dumpParameters: String?

  func validate() throws {
    guard epochs > 0 else { throw ValidationError("--epochs must be at least 1 (got \(epochs))") }
    if let reason = mode.unsupportedReason(for: model) { throw ValidationError(reason) }
    guard reconWeight >= 0, reconWeight.isFinite else {
      throw ValidationError("--recon-weight must be non-negative (got \(reconWeight))")
    }
    guard aeEpochs >= 1 else { throw ValidationError("--ae-epochs must be at least 1 (got \(aeEpochs))") }
    guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
    guard learningRate > 0, learningRate.isFinite else {
      throw ValidationError("--lr must be positive (got \(learningRate))")
    }
    guard momentum >= 0, momentum < 1 else {
      throw ValidationError("--momentum must be in [0, 1) (got \(momentum))")
    }
    guard weightDecay >= 0 else {
      throw ValidationError("--weight-decay must be non-negative (got \(weightDecay))")
    }
    guard warmupEpochs >= 0 else { throw ValidationError("--warmup-epochs must be non-negative") }
    guard imbalanceRatio >= 1, imbalanceRatio.isFinite else {
      throw ValidationError("--imbalance-ratio must be at least 1 (got \(imbalanceRatio))")
    }
    if let epochSize, epochSize < 1 { throw ValidationError("--epoch-size must be at least 1") }
    guard evalEvery >= 1 else { throw ValidationError("--eval-every must be at least 1") }
    guard debugSamples >= 1 else { throw ValidationError("--debug-samples must be at least 1") }
    if let simulateRanks, simulateRanks < 1 { throw ValidationError("--simulate-ranks must be at least 1") }
    if let checkReplicas, checkReplicas < 1 { throw ValidationError("--check-replicas must be at least 1") }
    if let injectFault, FaultInjection(injectFault) == nil {
      throw ValidationError(
        "--inject-fault takes KIND@STEP[:RANK] with KIND one of error, nan, gradient, drift, exit")
    }
    guard tsnePoints >= 0 else { throw ValidationError("--tsne-points must be non-negative") }
    guard logEvery >= 0 else { throw ValidationError("--log-every must be non-negative") }
    if let stopAfterEpoch, stopAfterEpoch < 1 {
      throw ValidationError("--stop-after-epoch must be at least 1")
    }
    if resume != nil && out != nil { throw ValidationError("--resume RUN continues in RUN; leave out --out") }
    if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
    guard beta >= 0, beta < 1 else { throw ValidationError("--beta must be in [0, 1) (got \(beta))") }
    guard gamma >= 0, gamma.isFinite else {
      throw ValidationError("--gamma must be non-negative (got \(gamma))")
    }
    guard cceGamma >= 0, cceGamma.isFinite else {
      throw ValidationError("--cce-gamma must be non-negative (got \(cceGamma))")
    }
    guard tau >= 0, tau.isFinite else { throw ValidationError("--tau must be non-negative (got \(tau))") }
    if sampler == .underOver {
      guard let undersampleThreshold else {
        throw ValidationError("--sampler under-over needs --undersample-threshold T")
      }
      guard undersampleThreshold >= 1 else {
        throw ValidationError("--undersample-threshold must be at least 1")
      }
    }
    guard stage1Epochs >= 0 else { throw ValidationError("--stage1-epochs must be non-negative") }
    if let drwEpoch, drwEpoch < 1 { throw ValidationError("--drw-epoch must be at least 1") }
    if loss == .weightedCE && classWeights == .none {
      throw ValidationError("--loss weighted-ce needs --class-weights (inverse, balanced, effective or log)")
    }
    if classWeights != .none && ![.weightedCE, .focal].contains(loss) {
      throw ValidationError(
        "--class-weights applies to weighted-ce and focal; \(loss.rawValue) brings its own weighting")
    }
  }

  func run() throws {
    if let config {
      // The file's options first, then the command line's own, which therefore win.
      var merged = Train()
      try reportingErrors {
        merged = try Train.parseReporting(
          try PlanOptions.arguments(PlanOptions.load(config), file: config) + Self.commandLineWithoutConfig())
      }
      merged.config = nil
      try merged.run()
      return
    }
    let configuration = try makeConfiguration()
    if describe {
      try reportingErrors { print(try ModelDescription.text(for: configuration)) }
      return
    }
    StopRequest.install()
    let resuming = resume != nil
    if let simulateRanks {
      if startedByMPILauncher() {
        throw ValidationError("--simulate-ranks runs without mpirun; under mpirun the ranks are real")
      }
      try runSimulated(ranks: simulateRanks) { communicator in
        try Trainer(configuration: configuration, communicator: communicator, resume: resuming).run()
      }
      return
    }
    try runDistributed { communicator in
      try Trainer(configuration: configuration, communicator: communicator, resume: resuming).run()
    }
  }

  /// Parses `arguments` as `train`'s, turning a parse error into one line for the user.
  static func parseReporting(_ arguments: [String]) throws -> Train {
    do {
      return try Train.parse(arguments)
    } catch {
      throw ValidationError(Train.message(for: error))
    }
  }

  /// This process's own arguments after the subcommand, without `--config FILE`.
  private static func commandLineWithoutConfig() -> [String] {
    var arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "train" { arguments.removeFirst() }
    var result: [String] = []
    var skipNext = false
    for argument in arguments {
      if skipNext {
        skipNext = false
      } else if argument == "--config" {
        skipNext = true
      } else if !argument.hasPrefix("--config=") {
        result.append(argument)
      }
    }
    return result
  }

  /// The run's configuration from the options (from the run directory with `--resume`).
  func makeConfiguration() throws -> TrainingConfiguration {
    var config = TrainingConfiguration()
    config.architecture = model
    config.mode = mode
    config.reconstructionWeight = reconWeight
    config.autoencoderEpochs = aeEpochs
    config.syncBatchNorm = syncBN
    config.epochs = epochs
    config.globalBatch = batchSize
    config.learningRate = learningRate
    config.momentum = momentum
    config.weightDecay = weightDecay
    config.warmupEpochs = warmupEpochs
    config.sampler = SamplerOptions(kind: sampler)
    config.sampler.beta = beta
    config.sampler.undersampleThreshold = undersampleThreshold
    config.sampler.stage1Epochs = stage1Epochs
    config.loss = LossOptions(kind: loss)
    config.loss.classWeights = classWeights
    config.loss.beta = beta
    config.loss.gamma = gamma
    config.loss.cceGamma = cceGamma
    config.loss.tau = tau
    config.loss.drwEpoch = drwEpoch
    config.imbalanceRatio = imbalanceRatio
    config.epochSize = epochSize
    config.seed = seed
    config.dataDirectory = data
    config.maxSteps = maxSteps
    config.dumpParametersPrefix = dumpParameters
    config.outDirectory = out
    config.evalEvery = evalEvery
    config.selectBy = selectBy
    config.testTimeAugmentation = tta
    config.logEvery = logEvery
    config.tsnePoints = tsnePoints
    config.quiet = quiet
    config.stopAfterEpoch = stopAfterEpoch
    config.debug = debug
    config.debugSamples = debugSamples
    config.checkReplicasEvery = checkReplicas
    config.fault = injectFault.flatMap(FaultInjection.init)
    if let resume {
      // Every rank reads the run's options; rank 0 alone reads its checkpoints.
      try reportingErrors { config = try HyperParameters(run: RunDirectory(path: resume)).configuration }
      config.outDirectory = resume
      config.stopAfterEpoch = stopAfterEpoch
    }
    return config
  }
}
