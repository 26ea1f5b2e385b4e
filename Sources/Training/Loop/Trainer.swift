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
  private let console: Console

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
    // Recording (rank 0): the run directory is probed once the dataset is known to exist and
    // before any real work, so a bad --out fails at once.
    let recording = rank == 0 && config.maxSteps == nil
    let run = RunDirectory(path: config.outDirectory ?? RunDirectory.timestamped().path)
    if recording { try run.prepare() }
    let manifest = dataset.manifest
    let train = manifest.splits.train
    let scheme = SamplingScheme(
      options: config.sampler, globalCounts: train.classCounts, shardCounts: train.shards.map(\.classCounts))
    let plan = try EpochPlan(
      epochSize: config.epochSize ?? scheme.defaultEpochSize, globalBatch: config.globalBatch,
      shards: train.shards.count, ranks: ranks, drawLimits: scheme.drawLimits)
    let owned = ShardAssignment.owned(byRank: rank, of: ranks, shards: plan.shards)
    let stream = TrainingStream(
      shards: try owned.map { (index: $0, images: try dataset.readShard(.train, $0)) }, scheme: scheme,
      plan: plan,
      seed: config.seed, normalization: manifest.normalization)
    let objectives = Objectives(options: config.loss, classCounts: train.classCounts, epochs: config.epochs)
    // Rank 0 evaluates, so it alone reads the validation and test splits.
    let evaluationSplits = rank == 0 ? (try dataset.readSplit(.val), try dataset.readSplit(.test)) : nil
    let classes = manifest.classNames.count

    // Model: rank 0 initialises (or loads the last checkpoint), everyone receives the same
    // parameters, momentum and counters, and checks the layout.
    let network = config.makeNetwork(image: manifest.image, classes: classes)
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
    try communicator.broadcast(UnsafeMutableRawBufferPointer(network.parameters.buffer), root: 0)
    if resume {
      try communicator.broadcast(UnsafeMutableRawBufferPointer(optimizer.velocity.buffer), root: 0)
      var counters = [Int64(state.epochsDone), Int64(state.stepsDone)]
      try communicator.broadcast(&counters, root: 0)
      (state.epochsDone, state.stepsDone) = (Int(counters[0]), Int(counters[1]))
    }
    try checkLayout(of: network)
    let schedule = CosineSchedule(
      base: config.learningRate, totalSteps: config.epochs * plan.stepsPerEpoch,
      warmupSteps: config.warmupEpochs * plan.stepsPerEpoch)
    let recorder =
      recording
      ? try RunRecorder(
        run: run,
        hyperParameters: HyperParameters(
          configuration: config, dataset: dataset, ranks: ranks, versions: libraryVersions()),
        resumedAfter: resume ? state.epochsDone : nil) : nil
    printHeader(network: network, dataset: dataset, plan: plan, localBatch: stream.localBatch)
    if resume {
      console.line("resuming \(run.path) after epoch \(state.epochsDone) (step \(state.stepsDone))")
    }

    // Buffers for one local batch, planned once.
    let input = Tensor(shape: network.inputShape.with(batch: stream.localBatch))
    var labels = [Int32](repeating: 0, count: stream.localBatch)
    let logitsGradient = Tensor(shape: Shape(batch: stream.localBatch, channels: classes))
    let lastStep = min(config.maxSteps ?? Int.max, config.epochs * plan.stepsPerEpoch)
    let evaluator = Evaluator(augmentation: config.testTimeAugmentation)
    var progress = Progress(console: console, every: config.logEvery, quiet: config.quiet)

    var step = state.stepsDone
    let firstStepOfThisProcess = step
    var trainingSeconds = 0.0
    var stoppedEarly = false
    for epoch in stride(from: state.epochsDone + 1, through: config.epochs, by: 1) where step < lastStep {
      stream.startEpoch(epoch - 1)
      // (Σ loss, Σ normaliser) of the first objective and the predictions on the drawn batches,
      // summed over ranks below.
      var epochLoss = [0.0, 0.0]
      var trainCounts = PredictionCounts(classes: classes)
      let losses = objectives.losses(epoch: epoch)
      let firstStep = step
      let started = ContinuousClock.now
      for s in 0..<plan.stepsPerEpoch where step < lastStep {
        labels.withUnsafeMutableBufferPointer {
          stream.batch(step: s, pixels: input.pointer, labels: $0.baseAddress!)
        }
        for (index, objective) in losses.enumerated() {
          network.zeroGradients()
          let logits = network.forward(input)
          let normalizer = try globalNormalizer(of: objective, labels: labels, globalBatch: plan.globalBatch)
          let loss = labels.withUnsafeBufferPointer {
            objective.lossAndGradient(
              logits: logits, labels: $0, scale: Float(1 / normalizer.global), gradient: logitsGradient)
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
          network.backward(input: input, logitsGradient: logitsGradient)
          // Each rank's gradient is already divided by the global normaliser: their sum is the
          // gradient of the global mean.
          try communicator.allreduceSum(network.gradients.buffer)
          optimizer.step(
            parameters: network.parameters, gradients: network.gradients,
            learningRate: Float(schedule.learningRate(step: step)))
        }
        step += 1
        let elapsed = secondsSince(started)
        progress.update(
          epoch: epoch, epochs: config.epochs, step: s + 1, steps: plan.stepsPerEpoch,
          loss: epochLoss[0] / max(epochLoss[1], 1e-12),
          imagesPerSecond: Double((s + 1) * plan.globalBatch) / elapsed,
          seconds: elapsed)
      }
      progress.finishEpoch()
      let seconds = secondsSince(started)
      trainingSeconds += seconds
      var totals = epochLoss + trainCounts.flattened
      try totals.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
      try checkReplicasIdentical(network, epoch: epoch)
      guard config.maxSteps == nil else { continue }

      if let recorder, let (validation, _) = evaluationSplits {
        let imagesPerSecond = Double((step - firstStep) * plan.globalBatch) / seconds
        let learningRate = schedule.learningRate(step: step - 1)
        let trainRow = MetricsRow(
          epoch: epoch, step: step, loss: totals[0] / totals[1],
          evaluation: Evaluation(PredictionCounts(flattened: Array(totals[2...]), classes: classes)),
          learningRate: learningRate, imagesPerSecond: imagesPerSecond)
        try recorder.record(train: trainRow)
        var line =
          "epoch \(epoch)/\(config.epochs)  loss \(fixed(trainRow.loss, 4))  train acc \(fixed(trainRow.accuracy, 4))  "
          + "lr \(fixed(learningRate, 5))  \(Int(imagesPerSecond.rounded())) img/s"
        if epoch % config.evalEvery == 0 || epoch == config.epochs {
          let evaluationStart = ContinuousClock.now
          let evaluation = evaluator.evaluate(
            network: network, images: validation, normalization: manifest.normalization)
          let validRow = MetricsRow(
            epoch: epoch, step: step, loss: evaluation.meanCrossEntropy, evaluation: evaluation,
            learningRate: learningRate,
            imagesPerSecond: Double(validation.count) / secondsSince(evaluationStart))
          try recorder.record(valid: validRow)
          let score = evaluation.value(of: config.selectBy)
          line +=
            "  val acc \(fixed(validRow.accuracy, 4))  val macro-F1 \(fixed(validRow.macroF1, 4))"
          if config.selectBy.improves(score, on: state.bestScore) {
            (state.bestEpoch, state.bestScore) = (epoch, score)
            try recorder.saveBest(network, epoch: epoch, metric: config.selectBy, score: score)
            line += "  (best \(config.selectBy.rawValue))"
          }
        }
        (state.epochsDone, state.stepsDone) = (epoch, step)
        try recorder.saveLast(network, optimizer: optimizer, state: state)
        console.line(line)
      }
      // Rank 0's decision after evaluating (always "continue" for now); the others wait here.
      var decision: [Int32] = [0]
      try communicator.broadcast(&decision, root: 0)
      if epoch == config.stopAfterEpoch && epoch < config.epochs {
        stoppedEarly = true
        console.line("stopped after epoch \(epoch) of \(config.epochs); continue with --resume \(run.path)")
        break
      }
    }

    if let prefix = config.dumpParametersPrefix {
      try writeParameters(network.parameters, to: "\(prefix).rank\(rank).f32")
    }
    guard config.maxSteps == nil, !stoppedEarly else {
      try communicator.barrier()
      return nil
    }

    var report: TestReport?
    if let recorder, let (_, test) = evaluationSplits {
      // The test split is evaluated once, with the best checkpoint.
      let best = try SafeTensors(contentsOf: run.bestCheckpoint)
      try ModelCheckpoint.load(best, into: network, path: run.bestCheckpoint)
      let evaluation = evaluator.evaluate(
        network: network, images: test, normalization: manifest.normalization)
      let result = TestReport(
        split: "test", evaluation: evaluation, classNames: manifest.classNames,
        checkpoint: "best.safetensors",
        epoch: Int(best.metadata["epoch"] ?? "") ?? 0, tta: config.testTimeAugmentation,
        imagesPerSecond: trainingSeconds > 0
          ? Double((step - firstStepOfThisProcess) * plan.globalBatch) / trainingSeconds : 0)
      let features = Evaluator().features(
        network: network, images: test, normalization: manifest.normalization, limit: config.tsnePoints)
      var tsne = TSNE()
      tsne.seed = config.seed
      try recorder.finish(test: result, embedding: tsne.embed(features.features), labels: features.labels)
      result.summaryLines.forEach(console.line)
      console.line(
        "run directory: \(run.path) (report.html, train.csv, valid.csv, test.json, checkpoints, TensorBoard events)"
      )
      // The JSON line is the last line even with --quiet: scripts read it.
      Console(enabled: true).line(result.json)
      report = result
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
    guard parameters.metadata["epoch"] == "\(state.epochsDone)" else {
      throw CheckpointError.doesNotFit(
        path: run.lastState,
        reason:
          "it records epoch \(state.epochsDone) but last.safetensors epoch \(parameters.metadata["epoch"] ?? "?"); the run was cut off while checkpointing"
      )
    }
    return state
  }

  private func printHeader(network: Network, dataset: DatasetDirectory, plan: EpochPlan, localBatch: Int) {
    let config = configuration
    let manifest = dataset.manifest
    let train = manifest.splits.train
    console.line(
      "imbal-dist: \(config.architecture.rawValue), \(network.layout.count) parameters, "
        + "\(fixed(Double(network.forwardFLOPsPerImage) / 1e6, 1)) M multiply-adds per image")
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
    var sum = [local]
    try sum.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
    return (local, sum[0])
  }

  /// The start-up contract: every rank's arena has rank 0's size and layout.
  private func checkLayout(of network: Network) throws {
    let mine = [UInt64(network.layout.count), network.layout.fingerprint]
    guard let all = try communicator.gather(mine, root: 0) else { return }
    for (rank, theirs) in all.enumerated() where theirs != mine {
      throw TrainingError.layoutMismatch(rank: rank, detail: "\(theirs[0]) parameters vs \(mine[0])")
    }
  }

  /// Invariant 3 of DESIGN.md: after every epoch all replicas hold bit-identical parameters.
  private func checkReplicasIdentical(_ network: Network, epoch: Int) throws {
    guard let hashes = try communicator.gather([network.parameters.bitHash()], root: 0) else { return }
    let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
    if !differing.isEmpty { throw TrainingError.replicasDiverged(epoch: epoch, ranks: differing) }
  }

  /// Raw little-endian Float32 values, written to a temporary file and renamed into place.
  private func writeParameters(_ arena: Arena, to path: String) throws {
    let data = Data(buffer: UnsafeBufferPointer(arena.buffer))
    do {
      try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw TrainingError.cannotWrite(path: path, reason: error.localizedDescription)
    }
  }
}

private func secondsSince(_ start: ContinuousClock.Instant) -> Double {
  let elapsed = ContinuousClock.now - start
  return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}
