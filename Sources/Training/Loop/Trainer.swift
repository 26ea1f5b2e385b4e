import Distributed
import Foundation
import Loader
import Model

/// The data-parallel training loop of DESIGN.md, top to bottom: data → identical replicas →
/// for every step (batch → forward → loss → backward → allreduce → SGD) → rank-0 evaluation
/// after every epoch → test with the final model.
public final class Trainer {
  public let configuration: TrainingConfiguration
  public let communicator: Communicator
  /// Continue the run in `configuration.outDirectory` from its last checkpoint.
  public let resume: Bool
  let console: Console

  public init(configuration: TrainingConfiguration, communicator: Communicator, resume: Bool = false) {
    self.configuration = configuration
    self.communicator = communicator
    self.resume = resume
    console = Console(enabled: communicator.rank == 0 && !configuration.quiet)
  }

  /// Trains and returns the test report on rank 0 (`nil` on other ranks, or when the run
  /// stopped early: `maxSteps`, which also skips evaluation and the run directory, or
  /// `stopAfterEpoch`).
  @discardableResult
  public func run() throws -> TestReport? {
    let config = configuration
    let (rank, ranks) = (communicator.rank, communicator.size)
    // Data: the manifest (global counts, no data), this rank's training shards, the epoch plan.
    let dataset = try DefaultDataset.resolve(
      configuration: config, communicator: communicator, console: console)
    let recording = rank == 0 && config.maxSteps == nil
    let run = RunDirectory(path: config.outDirectory ?? RunDirectory.timestamped().path)
    let manifest = dataset.manifest
    let train = manifest.splits.train
    let (stream, plan) = try TrainingStream.open(dataset, configuration: config, rank: rank, ranks: ranks)
    let objectives = Objectives(options: config.loss, classCounts: train.classCounts, epochs: config.epochs)
    let phases = TrainingPhase.phases(of: config)
    // Rank 0 evaluates, so it alone reads the validation and test splits.
    // In debug mode, their first `debugSamples` images.
    let evaluationSplits =
      rank == 0 ? (try debugSubset(dataset.readSplit(.val)), try debugSubset(dataset.readSplit(.test))) : nil
    let classes = manifest.classNames.count

    // Model: rank 0 initialises (or loads the last checkpoint), everyone receives the same
    // parameters, momentum and counters, and checks the layout.
    let network = config.makeNetwork(image: manifest.image, classes: classes)
    let statisticsReducer = CommunicatorStatisticsReducer(communicator: communicator)
    if config.syncBatchNorm { network.synchronizeBatchStatistics(with: statisticsReducer) }
    let optimizer = SGD(
      parameterCount: network.layout.count, momentum: Float(config.momentum),
      weightDecay: Float(config.weightDecay))
    var state = TrainingState(epochsDone: 0, stepsDone: 0, bestEpoch: nil, bestScore: nil)
    if rank == 0 {
      network.initializeParameters(seed: config.seed)
      if let bias = config.loss.initialClassifierBias {
        network.parameter(named: "fc.bias")?.update(repeating: bias)
      }
      if resume { state = try loadLastCheckpoint(of: run, into: network, optimizer: optimizer) }
    }
    // Recording (rank 0): the run directory is probed before any training, with as many bytes
    // as the parameters, momentum and a temporary copy of each, so a bad or full --out fails
    // at once, not at the first checkpoint.
    if recording { try run.prepare(probeBytes: 4 * network.layout.count * 4) }
    try communicator.broadcast(UnsafeMutableRawBufferPointer(network.parameters.buffer), root: 0)
    try communicator.broadcast(UnsafeMutableRawBufferPointer(network.buffers.buffer), root: 0)
    if resume {
      try communicator.broadcast(UnsafeMutableRawBufferPointer(optimizer.velocity.buffer), root: 0)
      var counters = [Int64(state.epochsDone), Int64(state.stepsDone), Int64(state.stepInEpoch)]
      try communicator.broadcast(&counters, root: 0)
      (state.epochsDone, state.stepsDone, state.stepInEpoch) = (
        Int(counters[0]), Int(counters[1]), Int(counters[2])
      )
    }
    try checkLayout(of: network)
    // One cosine schedule per phase, over the phase's steps.
    func schedule(of phase: TrainingPhase) -> CosineSchedule {
      CosineSchedule(
        base: config.learningRate, totalSteps: phase.epochs * plan.stepsPerEpoch,
        warmupSteps: config.warmupEpochs * plan.stepsPerEpoch)
    }
    let recorder =
      recording
      ? try RunRecorder(
        run: run,
        hyperParameters: HyperParameters(
          configuration: config, dataset: dataset, ranks: ranks, versions: libraryVersions()),
        resumedAfter: resume ? state.epochsDone : nil) : nil
    printHeader(network: network, dataset: dataset, plan: plan, localBatch: stream.localBatch)
    if resume {
      let within =
        state.stepInEpoch > 0 ? " and \(state.stepInEpoch) steps of epoch \(state.epochsDone + 1)" : ""
      console.line("resuming \(run.path) after epoch \(state.epochsDone)\(within) (step \(state.stepsDone))")
    }

    // Buffers for one local batch, planned once.
    let input = Tensor(shape: network.inputShape.with(batch: stream.localBatch))
    var labels = [Int32](repeating: 0, count: stream.localBatch)
    let iterationLosses = IterationLosses(
      network: network, localBatch: stream.localBatch, classes: classes,
      normalization: manifest.normalization,
      globalBatch: plan.globalBatch)
    let lastStep = min(config.maxSteps ?? Int.max, config.totalEpochs * plan.stepsPerEpoch)
    let evaluator = Evaluator(augmentation: config.testTimeAugmentation)
    var progress = Progress(console: console, every: config.logEvery, quiet: config.quiet)

    var step = state.stepsDone
    let firstStepOfThisProcess = step
    var trainingSeconds = 0.0
    var stoppedEarly = false
    var stoppedBySignal = false
    // Whether a stop signal reached any rank: all ranks learn it at the same collective.
    func anyRankSignalled() throws -> Bool { try summedOverRanks([Double(StopRequest.received)])[0] != 0 }
    for epoch in stride(from: state.epochsDone + 1, through: config.totalEpochs, by: 1) where step < lastStep
    {
      stream.startEpoch(epoch - 1)
      let phase = TrainingPhase.phase(ofEpoch: epoch, in: phases)
      network.freeze(phase.frozen)
      network.setTraining(true)
      let trainable = network.trainableRange
      // Gradient buckets allreduced during backward; not in debug mode, whose checks (and the
      // gradient fault it tests) read each rank's own gradients before they are summed.
      let buckets =
        ranks > 1 && !config.debug && config.fault?.kind != .gradient
        ? GradientBuckets(network: network, trainable: trainable, communicator: communicator) : nil
      let phaseSchedule = schedule(of: phase)
      let phaseFirstStep = (phase.firstEpoch - 1) * plan.stepsPerEpoch
      // (Σ loss, Σ normaliser) of the first objective (the reconstruction MSE in an autoencoder
      // phase), the predictions on the drawn batches and (Σ squared error, elements) of the
      // reconstruction, summed over ranks below. A run resumed mid-epoch starts rank 0 from the
      // saved totals.
      var epochLoss = [0.0, 0.0]
      var trainCounts = PredictionCounts(classes: classes)
      var epochReconstruction = [0.0, 0.0]
      // Only the first epoch of a run resumed mid-epoch starts late; the state then forgets it.
      let firstStepInEpoch = state.stepInEpoch
      let countsSize = classes * classes + 2
      if firstStepInEpoch > 0 && rank == 0 && state.epochTotals.count == 2 + countsSize + 2 {
        epochLoss = Array(state.epochTotals[0..<2])
        trainCounts = PredictionCounts(
          flattened: Array(state.epochTotals[2..<(2 + countsSize)]), classes: classes)
        epochReconstruction = Array(state.epochTotals[(2 + countsSize)...])
      }
      (state.stepInEpoch, state.epochTotals) = (0, [])
      // An autoencoder phase has no classification objective: one iteration on the MSE alone.
      let losses: [ClassificationLoss?] =
        phase.classifies ? objectives.losses(epoch: epoch - phase.firstEpoch + 1) : [nil]
      let firstStep = step
      let started = ContinuousClock.now
      for s in firstStepInEpoch..<plan.stepsPerEpoch where step < lastStep {
        let stepStarted = ContinuousClock.now
        labels.withUnsafeMutableBufferPointer {
          stream.batch(step: s, pixels: input.pointer, labels: $0.baseAddress!)
        }
        try injectFault(before: step + 1, into: input)
        network.seedStochasticLayers(seed: config.seed, step: step, rank: rank)
        for (index, objective) in losses.enumerated() {
          network.zeroGradients()
          let reconstructs = phase.reconstructs && index == 0
          let logits = network.forward(input, outputs: reconstructs ? phase.outputs : [.logits])
          var normalizer = (local: Double(stream.localBatch), global: Double(plan.globalBatch))
          if let objective {
            normalizer = try globalNormalizer(of: objective, labels: labels, globalBatch: plan.globalBatch)
          }
          let contribution = iterationLosses.compute(
            network: network, input: input, labels: labels, objective: objective,
            globalNormalizer: normalizer.global,
            reconstructionWeight: reconstructs ? (phase.classifies ? config.reconstructionWeight : 1) : nil)
          let loss = contribution.loss
          if reconstructs {
            epochReconstruction[0] += contribution.squaredError
            epochReconstruction[1] += Double(input.shape.count)
          }
          guard loss.isFinite else {
            throw TrainingError.nonFiniteLoss(epoch: epoch, step: s + 1, loss: loss)
          }
          if index == 0 {
            epochLoss[0] += loss
            epochLoss[1] += normalizer.local
            labels.withUnsafeBufferPointer {
              trainCounts.add(logits: logits.pointer, labels: $0.baseAddress!, count: stream.localBatch)
            }
          }
          // Each rank's gradient is already divided by the global normaliser: their sum is the
          // gradient of the global mean. Frozen parameters lie outside `trainable`.
          network.backward(
            input: input, outputGradients: contribution.outputGradients,
            gradientsReady: buckets.map { b in { b.nodeReady($0) } })
          if let error = statisticsReducer.takeError() { throw error }
          if let buckets {
            _ = try buckets.finish()
          } else {
            injectFault(afterBackwardOf: step + 1, into: network)
            if config.debug { try checkGradientsFinite(of: network, epoch: epoch, step: step + 1) }
            try communicator.allreduceSum(
              UnsafeMutableBufferPointer(rebasing: network.gradients.buffer[trainable]))
          }
          optimizer.step(
            parameters: network.parameters, gradients: network.gradients,
            learningRate: Float(phaseSchedule.learningRate(step: step - phaseFirstStep)), range: trainable)
          if config.debug && index == 0 {
            console.line(
              "step \(step + 1)  epoch \(epoch)  loss \(fixed(loss / normalizer.local, 5))  "
                + "grad-norm \(fixed(network.gradients.euclideanNorm(), 5))  "
                + "param-norm \(fixed(network.parameters.euclideanNorm(), 4))  "
                + "\(fixed(seconds(since: stepStarted) * 1000, 1)) ms")
          }
        }
        step += 1
        try injectFault(after: step, into: network)
        if let every = config.checkReplicasEvery, step % every == 0 {
          try checkReplicasIdentical(network, after: "step \(step)")
        }
        let elapsed = seconds(since: started)
        if !config.debug {
          progress.update(
            epoch: epoch, epochs: config.totalEpochs, step: s + 1 - firstStepInEpoch,
            steps: plan.stepsPerEpoch - firstStepInEpoch, loss: epochLoss[0] / max(epochLoss[1], 1e-12),
            imagesPerSecond: Double((s + 1 - firstStepInEpoch) * plan.globalBatch) / elapsed, seconds: elapsed
          )
        }
        // A stop signal on any rank stops every rank after this same step.
        if try anyRankSignalled() && s + 1 < plan.stepsPerEpoch && step < lastStep {
          progress.finishEpoch()
          let totals = try summedOverRanks(epochLoss + trainCounts.flattened + epochReconstruction)
          try averageBuffersOverRanks(network)
          if let recorder {
            var partial = state
            (partial.epochsDone, partial.stepsDone, partial.stepInEpoch, partial.epochTotals) = (
              epoch - 1, step, s + 1, totals
            )
            try recorder.saveLast(network, optimizer: optimizer, state: partial)
          }
          stoppedBySignal = true
          console.line(
            "stopped by a signal after step \(s + 1) of epoch \(epoch); checkpoint saved, continue with --resume \(run.path)"
          )
          break
        }
      }
      if stoppedBySignal { break }
      progress.finishEpoch()
      let seconds = seconds(since: started)
      trainingSeconds += seconds
      let totals = try summedOverRanks(epochLoss + trainCounts.flattened + epochReconstruction)
      try averageBuffersOverRanks(network)
      try checkReplicasIdentical(network, after: "epoch \(epoch)")
      guard config.maxSteps == nil else { continue }

      if let recorder, let (validation, _) = evaluationSplits {
        let summary = EpochSummary(
          epoch: epoch, phase: phase, step: step, totals: totals, seconds: seconds,
          images: (step - firstStep) * plan.globalBatch,
          learningRate: phaseSchedule.learningRate(step: step - 1 - phaseFirstStep))
        try record(
          summary, recorder: recorder, network: network, optimizer: optimizer, validation: validation,
          normalization: manifest.normalization, evaluator: evaluator, state: &state)
      }
      // The other ranks wait here while rank 0 evaluates; a stop signal on any rank stops all.
      if try anyRankSignalled() && epoch < config.totalEpochs && config.maxSteps == nil {
        stoppedBySignal = true
        console.line(
          "stopped by a signal after epoch \(epoch); checkpoint saved, continue with --resume \(run.path)")
        break
      }
      if epoch == config.stopAfterEpoch && epoch < config.totalEpochs {
        stoppedEarly = true
        console.line(
          "stopped after epoch \(epoch) of \(config.totalEpochs); continue with --resume \(run.path)")
        break
      }
    }

    if let prefix = config.dumpParametersPrefix {
      // Raw little-endian Float32 values.
      try writeAtomically(
        Data(buffer: UnsafeBufferPointer(network.parameters.buffer)), to: "\(prefix).rank\(rank).f32")
    }
    guard config.maxSteps == nil, !stoppedEarly, !stoppedBySignal else {
      try communicator.barrier()
      if stoppedBySignal { throw TrainingError.stoppedBySignal }
      return nil
    }

    var report: TestReport?
    if let recorder, let (_, test) = evaluationSplits {
      report = try testBestCheckpoint(
        recorder: recorder, network: network, test: test, manifest: manifest, evaluator: evaluator,
        imagesPerSecond: trainingSeconds > 0
          ? Double((step - firstStepOfThisProcess) * plan.globalBatch) / trainingSeconds : 0)
    }
    try communicator.barrier()
    return report
  }

  /// Reads `last.safetensors` and `last.state.safetensors` of `run` into the network and optimizer.
  private func loadLastCheckpoint(of run: RunDirectory, into network: Network, optimizer: SGD) throws
    -> TrainingState
  {
    let parameters = try SafeTensors(contentsOf: run.lastCheckpoint)
    try ModelCheckpoint.load(parameters, into: network, path: run.lastCheckpoint)
    let state = try TrainingState(
      try SafeTensors(contentsOf: run.lastState), velocity: optimizer.velocity, layout: network.layout,
      path: run.lastState)
    guard parameters.metadata["step"] == "\(state.stepsDone)" else {
      throw CheckpointError.doesNotFit(
        path: run.lastState,
        reason:
          "it records step \(state.stepsDone) but last.safetensors step \(parameters.metadata["step"] ?? "?"); the run was cut off while checkpointing"
      )
    }
    return state
  }

  private func printHeader(network: Network, dataset: DatasetDirectory, plan: EpochPlan, localBatch: Int) {
    let config = configuration
    let manifest = dataset.manifest
    let train = manifest.splits.train
    console.line(
      "imbal-dist: \(config.architecture.rawValue) (\(config.mode.rawValue)\(config.syncBatchNorm ? ", sync-bn" : "")), "
        + "\(network.layout.count) parameters, "
        + "\(fixed(Double(network.forwardFLOPsPerImage(for: config.mode.needsDecoder ? [.logits, .reconstruction] : [.logits])) / 1e6, 1)) M multiply-adds per image"
    )
    console.line(
      "data: \(dataset.path) (\(manifest.source.kind), imbalance \(manifest.imbalance)), train \(train.count) "
        + "(per class \(train.classCounts.map(String.init).joined(separator: " "))), "
        + "val \(manifest.splits.val.count), test \(manifest.splits.test.count)")
    console.line(
      "run: \(communicator.size) rank(s), global batch \(plan.globalBatch) (\(localBatch) on rank 0), "
        + "\(plan.shards) training shards, \(plan.stepsPerEpoch) steps/epoch, sampler \(config.sampler.kind.rawValue), loss \(config.loss.kind.rawValue), "
        + "lr \(config.learningRate), seed \(config.seed)")
  }

  /// The loss's normaliser on this rank and over the global batch: the batch size, or for a
  /// weighted mean `Σ w_{y_i}`, which needs one small allreduce.
  private func globalNormalizer(
    of loss: ClassificationLoss, labels: [Int32], globalBatch: Int
  ) throws -> (local: Double, global: Double) {
    let local = labels.withUnsafeBufferPointer { loss.normalizer(labels: $0) }
    guard loss.normalizingWeights != nil else { return (local, Double(globalBatch)) }
    return (local, try summedOverRanks([local])[0])
  }

  /// In debug mode, the first `debugSamples` images of an evaluation split.
  private func debugSubset(_ images: LabeledImages) -> LabeledImages {
    guard configuration.debug, images.count > configuration.debugSamples else { return images }
    return images.subset(Array(0..<configuration.debugSamples))
  }

  /// Batch norm's running statistics, averaged over the ranks (each rank's follow its own
  /// share of the batch unless they are synchronised): before every evaluation and checkpoint.
  private func averageBuffersOverRanks(_ network: Network) throws {
    guard communicator.size > 1, network.buffers.count > 0, !configuration.syncBatchNorm else { return }
    try communicator.allreduceSum(network.buffers.buffer)
    let scale = 1 / Float(communicator.size)
    for i in 0..<network.buffers.count { network.buffers.base[i] *= scale }
  }

  /// `values` summed element-wise over all ranks.
  private func summedOverRanks(_ values: [Double]) throws -> [Double] {
    var sum = values
    try sum.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
    return sum
  }
}

extension TrainingStream {
  /// This rank's stream of training batches: the sampling scheme from the GLOBAL class
  /// counts, the epoch plan, and the shards this rank owns, read and decoded.
  static func open(
    _ dataset: DatasetDirectory, configuration config: TrainingConfiguration, rank: Int, ranks: Int
  )
    throws -> (TrainingStream, EpochPlan)
  {
    let train = dataset.manifest.splits.train
    let scheme = SamplingScheme(
      options: config.sampler, globalCounts: train.classCounts, shardCounts: train.shards.map(\.classCounts))
    let plan = try EpochPlan(
      epochSize: config.epochSize ?? (config.debug ? config.debugSamples : scheme.defaultEpochSize),
      globalBatch: config.globalBatch,
      shards: train.shards.count, ranks: ranks, drawLimits: scheme.drawLimits)
    let owned = ShardAssignment.owned(byRank: rank, of: ranks, shards: plan.shards)
    let stream = TrainingStream(
      shards: try owned.map { (index: $0, images: try dataset.readShard(.train, $0)) }, scheme: scheme,
      plan: plan, seed: config.seed, normalization: dataset.manifest.normalization)
    return (stream, plan)
  }
}
