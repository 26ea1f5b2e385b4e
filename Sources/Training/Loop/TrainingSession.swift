import Distributed
import Loader
import Model

/// Everything a run's epochs need, set up once on every rank: the data (manifest, this rank's
/// stream, the epoch plan), the model and optimizer with rank 0's state on every rank, the
/// step, and on rank 0 the evaluation splits and the run directory's recorder.
final class TrainingSession {
  let parallel: DataParallel
  let dataset: DatasetDirectory
  let stream: TrainingStream
  let plan: EpochPlan
  let objectives: Objectives
  let phases: [TrainingPhase]
  /// Rank 0 evaluates, so it alone reads the validation and test splits.
  let evaluationSplits: (validation: RecordStore, test: RecordStore)?
  let network: Network
  let optimizer: SGD
  let trainingStep: TrainingStep
  let run: RunDirectory
  let recorder: RunRecorder?
  /// Rank 0's hold on the run directory while it records.
  let lock: RunLock?
  /// This rank's share of the batch, planned once, and what its images are trained towards.
  let input: Tensor
  var targets: Targets
  var state: TrainingState
  /// Optimizer steps done over the whole run.
  var stepsDone: Int
  /// The last step this process may take (`--max-steps`, else the run's end).
  let lastStep: Int

  var manifest: Manifest { dataset.manifest }
  var classes: Int { manifest.classNames.count }

  init(_ config: TrainingConfiguration, parallel: DataParallel, start: RunStart, console: Console) throws {
    let rank = parallel.rank
    let resume = start == .resume
    self.parallel = parallel
    dataset = try DefaultDataset.resolve(
      configuration: config, communicator: parallel.communicator, console: console)
    guard dataset.manifest.splits.test.count > 0 else {
      throw DatasetError.emptySplit(
        split: "test", detail: "\(dataset.path) has no test images to report on; pack it with some")
    }
    if rank == 0 && dataset.manifest.splits.val.count == 0 {
      Console.warning(
        "\(dataset.path) has no validation images: every epoch's checkpoint counts as best.safetensors (the last one is tested)"
      )
    }
    // The loader's memory: the training records first, then (rank 0) validation and test.
    var budget = config.data.loaderMemory << 20
    (stream, plan) = try TrainingStream.open(
      dataset, configuration: config, rank: rank, ranks: parallel.size, budget: &budget)
    // Segmentation's class weights count pixels, not images.
    objectives = Objectives(
      options: config.loss,
      classCounts: dataset.manifest.hasMasks
        ? try dataset.maskTotals(.train).pixels : dataset.manifest.splits.train.classCounts,
      epochs: config.optimization.epochs)
    phases = TrainingPhase.phases(of: config)
    evaluationSplits =
      rank == 0
      ? (
        try Self.evaluationSplit(.val, dataset, config, budget: &budget),
        try Self.evaluationSplit(.test, dataset, config, budget: &budget)
      )
      : nil
    run = RunDirectory(path: config.output.directory ?? RunDirectory.timestamped().path)
    network = try config.makeNetwork(
      image: dataset.manifest.image, classes: dataset.manifest.classNames.count)
    if config.model.syncBatchNorm { parallel.synchronizeBatchNorm(of: network) }
    optimizer = SGD(
      parameterCount: network.layout.count, momentum: Float(config.optimization.momentum),
      weightDecay: Float(config.optimization.weightDecay))
    state = TrainingState(epochsDone: 0, stepsDone: 0, bestEpoch: nil, bestScore: nil)
    let recording = rank == 0 && config.debugging.maxSteps == nil
    // Claimed before the checkpoint is read, so no other run writes it meanwhile.
    lock = recording ? try run.claim(for: start) : nil
    recorder = try Self.shareInitialState(
      config, network, optimizer, parallel, run, resume: resume, recording: recording, state: &state,
      dataset: dataset)
    if resume { try Self.checkCounters(state, plan: plan, epochs: config.totalEpochs, path: run.lastState) }
    stepsDone = state.stepsDone
    lastStep = min(config.debugging.maxSteps ?? Int.max, config.totalEpochs * plan.stepsPerEpoch)
    input = Tensor(shape: network.inputShape.with(batch: stream.localBatch))
    targets = Targets(labels: [])
    var hooks: [StepHook] = []
    if let fault = FaultHook(config.debugging.fault, rank: rank) { hooks.append(fault) }
    if config.debugging.enabled { hooks.append(DebugHook(console: console, rank: rank)) }
    trainingStep = TrainingStep(
      network: network, optimizer: optimizer, parallel: parallel,
      batch: (stream.localBatch, plan.globalBatch), normalization: dataset.manifest.normalization,
      seed: config.data.seed, reconstructionWeight: config.model.reconstructionWeight,
      diceWeight: config.loss.diceWeight, hooks: hooks, phase: phases[0])
  }

  /// Rank 0 initialises the model (or loads the last checkpoint) and probes the run directory;
  /// every rank then holds rank 0's parameters, buffers, momentum and counters.
  private static func shareInitialState(
    _ config: TrainingConfiguration, _ network: Network, _ optimizer: SGD, _ parallel: DataParallel,
    _ run: RunDirectory, resume: Bool, recording: Bool, state: inout TrainingState, dataset: DatasetDirectory
  ) throws -> RunRecorder? {
    if parallel.rank == 0 {
      network.initializeParameters(seed: config.data.seed)
      try setInitialClassifierBias(network, config)
      if resume { state = try loadLastCheckpoint(of: run, into: network, optimizer: optimizer) }
    }
    // The run directory is probed before any training, with as many bytes as the parameters,
    // momentum and a temporary copy of each, so a bad or full --out fails at once.
    if recording { try run.prepare(probeBytes: 4 * network.layout.count * 4) }
    try parallel.shareInitialModel(network)
    if resume { try parallel.shareResumedState(&state, optimizer: optimizer) }
    guard recording else { return nil }
    return try RunRecorder(
      run: run,
      hyperParameters: HyperParameters(
        configuration: config, dataset: dataset, ranks: parallel.size, versions: libraryVersions()),
      resumedFrom: resume ? state : nil)
  }

  /// The loss's starting bias of the classifier, where it has one.
  private static func setInitialClassifierBias(_ network: Network, _ config: TrainingConfiguration) throws {
    guard let bias = config.loss.initialClassifierBias else { return }
    guard let classifierBias = network.classifierBias else {
      throw TrainingError.noClassifierBias(loss: config.loss.kind.rawValue)
    }
    classifierBias.update(repeating: bias)
  }

  /// A classifier stage's start, identical on every rank: cRT (Kang et al. 2020) initialises
  /// the classifier afresh from the seed; every stage clears its momentum (the papers start a
  /// new optimizer); LWS starts its scales at 1; weight balancing fixes MaxNorm's radius from
  /// the row norms the first stage left, `min + t·(max − min)` as Alshammari et al.'s code, and
  /// keeps it in the state so a resumed stage caps at the same radius.
  func beginClassifierStage(_ phase: TrainingPhase, _ config: TrainingConfiguration) throws {
    if phase.kind == .crt {
      network.initializeParameters(of: .classifier, seed: config.data.seed)
      try Self.setInitialClassifierBias(network, config)
    }
    let range = network.partRanges[.classifier] ?? 0..<0
    optimizer.velocity.base.advanced(by: range.lowerBound).update(repeating: 0, count: range.count)
    if phase.kind == .lws { state.classScales = ClassScales(classes: classes) }
    if let share = phase.maxNorm, let smallest = network.classifierRowNorms.min(),
      let largest = network.classifierRowNorms.max()
    {
      state.maxNormRadius = smallest + share * (largest - smallest)
    }
  }

  /// What the iterations of `phase` optimise: the run's objectives, or a classifier stage's loss.
  func objectives(of phase: TrainingPhase) -> Objectives {
    guard let kind = phase.loss else { return objectives }
    var options = objectives.options
    options.kind = kind
    return Objectives(options: options, classCounts: objectives.classCounts, epochs: objectives.epochs)
  }

  /// A resumed state's counters must be ones this run's plan reaches: steps done = epochs done ×
  /// steps per epoch + steps into the next epoch, within the run's epochs (every rank checks the
  /// state rank 0 shared, so every rank stops with the same message).
  private static func checkCounters(_ state: TrainingState, plan: EpochPlan, epochs: Int, path: String) throws
  {
    let reachable =
      state.epochsDone <= epochs && state.stepInEpoch < plan.stepsPerEpoch
      && state.stepsDone == state.epochsDone * plan.stepsPerEpoch + state.stepInEpoch
    guard reachable else {
      throw CheckpointError.doesNotFit(
        path: path,
        reason:
          "it records \(state.epochsDone) epochs, \(state.stepsDone) steps and \(state.stepInEpoch) steps into the next epoch, "
          + "which this run (\(epochs) epochs of \(plan.stepsPerEpoch) steps) cannot reach; it was edited or belongs to another run"
      )
    }
  }

  /// Reads `last.safetensors` and `last.state.safetensors` of `run` into the network and optimizer.
  private static func loadLastCheckpoint(of run: RunDirectory, into network: Network, optimizer: SGD) throws
    -> TrainingState
  {
    let recorded = try HyperParameters(run: run)
    let parameters = try SafeTensors(contentsOf: run.lastCheckpoint)
    try recorded.checkOwns(parameters, path: run.lastCheckpoint)
    try ModelCheckpoint.load(parameters, into: network, path: run.lastCheckpoint)
    let stateFile = try SafeTensors(contentsOf: run.lastState)
    try recorded.checkOwns(stateFile, path: run.lastState)
    let state = try TrainingState(
      stateFile, velocity: optimizer.velocity, layout: network.layout, path: run.lastState)
    guard parameters.metadata["step"] == "\(state.stepsDone)" else {
      throw CheckpointError.doesNotFit(
        path: run.lastState,
        reason:
          "it records step \(state.stepsDone) but last.safetensors step \(parameters.metadata["step"] ?? "?"); the run was cut off while checkpointing"
      )
    }
    return state
  }

  /// A validation or test split; in debug mode its first `debugSamples` images.
  private static func evaluationSplit(
    _ split: SplitName, _ dataset: DatasetDirectory, _ config: TrainingConfiguration, budget: inout Int
  ) throws -> RecordStore {
    let images = try dataset.records(split, budget: &budget)
    return config.debugging.enabled ? images.prefix(config.debugging.samples) : images
  }

  /// Fills `input` and `targets` with this rank's share of step `step` of the current epoch.
  func loadBatch(step: Int) throws {
    targets = try stream.batch(step: step, into: input)
  }

  /// The learning rate of step `step` (0-based, counted from the phase's start): a cosine
  /// schedule per cycle of the phase, the first after the warm-up (none for a classifier
  /// stage, whose features are already trained), every later one a warm restart from the peak
  /// (SGDR).
  func learningRate(of phase: TrainingPhase, step: Int, _ config: TrainingConfiguration) -> Double {
    var start = 0
    for (index, epochs) in phase.cycles.enumerated() {
      let steps = epochs * plan.stepsPerEpoch
      if step < start + steps || index == phase.cycles.count - 1 {
        let warmup =
          index == 0 && !phase.isClassifierStage ? config.optimization.warmupEpochs * plan.stepsPerEpoch : 0
        return CosineSchedule(base: phase.learningRate, totalSteps: steps, warmupSteps: warmup)
          .learningRate(step: step - start)
      }
      start += steps
    }
    preconditionFailure("a phase has at least one cycle")
  }
}

extension TrainingStream {
  /// Step `step`'s batch (the next in order) into `input`, and what its images are trained
  /// towards: their classes, for mixed images the pairs of classes and weights, and with label
  /// masks every pixel's class.
  func batch(step: Int, into input: Tensor) throws -> Targets {
    var labels = [Int32](repeating: 0, count: localBatch)
    var masks = [UInt8](repeating: 0, count: localBatch * maskSize)
    try labels.withUnsafeMutableBufferPointer { labels in
      try masks.withUnsafeMutableBufferPointer {
        try batch(
          step: step, pixels: input.pointer, labels: labels.baseAddress!,
          masks: maskSize > 0 ? $0.baseAddress! : nil)
      }
    }
    let pairing = pairing(step: step)
    return Targets(
      labels: labels, partners: pairing?.partners, weights: pairing?.weights,
      masks: maskSize > 0 ? masks : nil)
  }

  /// This rank's stream of training batches: the sampling scheme from the GLOBAL class
  /// counts, the epoch plan, and the shards this rank owns, opened with as many records in
  /// memory as `budget` bytes allow after the prefetch queue (the budget is reduced by both).
  static func open(
    _ dataset: DatasetDirectory, configuration config: TrainingConfiguration, rank: Int, ranks: Int,
    budget: inout Int
  )
    throws -> (TrainingStream, EpochPlan)
  {
    let train = dataset.manifest.splits.train
    let scheme = SamplingScheme(
      options: config.sampler, globalCounts: train.classCounts, shardCounts: train.shards.map(\.classCounts),
      laterSampler: TrainingPhase.laterSampler(of: config))
    let plan = try EpochPlan(
      epochSize: config.data.epochSize
        ?? (config.debugging.enabled ? config.debugging.samples : scheme.defaultEpochSize),
      globalBatch: config.optimization.globalBatch,
      shards: train.shards.count, ranks: ranks, drawLimits: scheme.drawLimits)
    let mixing = config.augmentation.mixing
    if mixing.mixes, let fewest = (0..<plan.shards).map(plan.share(ofShard:)).min(), fewest < 2 {
      throw PlanError.tooFewToMix(globalBatch: plan.globalBatch, shards: plan.shards)
    }
    let owned = ShardAssignment.owned(byRank: rank, of: ranks, shards: plan.shards)
    let image = dataset.manifest.image
    let threads = config.data.loaderThreads ?? LoaderThreads.defaultCount(ranks: ranks)
    budget -= TrainingStream.queueBytes(
      threads: threads, localBatch: plan.localBatch(rank: rank, ranks: ranks),
      imageSize: image.channels * image.height * image.width,
      maskSize: dataset.manifest.hasMasks ? image.height * image.width : 0)
    var shards: [(index: Int, store: RecordStore)] = []
    for index in owned {
      shards.append((index, try dataset.records(.train, shards: [index], budget: &budget)))
    }
    let stream = TrainingStream(
      shards: shards, scheme: scheme, plan: plan, seed: config.data.seed,
      normalization: dataset.manifest.normalization,
      augmentation: config.augmentation.resolved(height: image.height, width: image.width),
      mixing: mixing, copyPaste: config.augmentation.copyPaste, loaderThreads: threads)
    return (stream, plan)
  }
}
