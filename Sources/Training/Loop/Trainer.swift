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
  private let console: Console

  public init(configuration: TrainingConfiguration, communicator: Communicator) {
    self.configuration = configuration
    self.communicator = communicator
    console = Console(enabled: communicator.rank == 0)
  }

  /// Trains and returns the test report on rank 0 (`nil` on other ranks, or when `maxSteps`
  /// cut the run short and evaluation was skipped).
  @discardableResult
  public func run() throws -> TestReport? {
    let config = configuration
    let (rank, ranks) = (communicator.rank, communicator.size)

    // Data: the manifest (global counts, no data), this rank's training shards, the epoch plan.
    let dataset = try DefaultDataset.resolve(
      configuration: config, communicator: communicator, console: console)
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

    // Model: rank 0 initialises, everyone receives the same parameters and checks the layout.
    let image = manifest.image
    let classes = manifest.classNames.count
    let network = config.architecture.makeNetwork(
      channels: image.channels, height: image.height, width: image.width, classes: classes,
      cosineClassifier: config.loss.needsCosineClassifier)
    if rank == 0 {
      network.initializeParameters(seed: config.seed)
      if let bias = config.loss.initialClassifierBias {
        network.parameter(named: "fc.bias")?.update(repeating: bias)
      }
    }
    try communicator.broadcast(UnsafeMutableRawBufferPointer(network.parameters.buffer), root: 0)
    try checkLayout(of: network)
    let optimizer = SGD(
      parameterCount: network.layout.count, momentum: Float(config.momentum),
      weightDecay: Float(config.weightDecay))
    let schedule = CosineSchedule(
      base: config.learningRate, totalSteps: config.epochs * plan.stepsPerEpoch,
      warmupSteps: config.warmupEpochs * plan.stepsPerEpoch)
    printHeader(network: network, dataset: dataset, plan: plan, localBatch: stream.localBatch)

    // Buffers for one local batch, planned once.
    let input = Tensor(shape: network.inputShape.with(batch: stream.localBatch))
    var labels = [Int32](repeating: 0, count: stream.localBatch)
    let logitsGradient = Tensor(shape: Shape(batch: stream.localBatch, channels: classes))
    let lastStep = min(config.maxSteps ?? Int.max, config.epochs * plan.stepsPerEpoch)

    var step = 0
    var trainingSeconds = 0.0
    for epoch in 1...config.epochs where step < lastStep {
      stream.startEpoch(epoch - 1)
      var epochLoss = [0.0, 0.0]  // (Σ loss, Σ normaliser) of the first objective, summed over ranks below
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
          network.backward(input: input, logitsGradient: logitsGradient)
          // Each rank's gradient is already divided by the global normaliser: their sum is the
          // gradient of the global mean.
          try communicator.allreduceSum(network.gradients.buffer)
          optimizer.step(
            parameters: network.parameters, gradients: network.gradients,
            learningRate: Float(schedule.learningRate(step: step)))
          if index == 0 {
            epochLoss[0] += loss
            epochLoss[1] += normalizer.local
          }
        }
        step += 1
      }
      let seconds = secondsSince(started)
      trainingSeconds += seconds
      try epochLoss.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
      try checkReplicasIdentical(network, epoch: epoch)

      guard config.maxSteps == nil else { continue }
      if let (validation, _) = evaluationSplits {
        let metrics = ClassificationMetrics(
          Evaluator().confusionMatrix(
            network: network, images: validation, normalization: manifest.normalization))
        let imagesPerSecond = Double((step - firstStep) * plan.globalBatch) / seconds
        console.line(
          "epoch \(epoch)/\(config.epochs)  loss \(fixed(epochLoss[0] / epochLoss[1], 4))  "
            + "val acc \(fixed(metrics.accuracy, 4))  val macro-F1 \(fixed(metrics.macroF1, 4))  "
            + "lr \(fixed(schedule.learningRate(step: step - 1), 5))  \(Int(imagesPerSecond.rounded())) img/s"
        )
      }
      // Rank 0's decision after evaluating (always "continue" for now); the others wait here.
      var decision: [Int32] = [0]
      try communicator.broadcast(&decision, root: 0)
    }

    if let prefix = config.dumpParametersPrefix {
      try writeParameters(network.parameters, to: "\(prefix).rank\(rank).f32")
    }
    guard config.maxSteps == nil else { return nil }

    var report: TestReport?
    if let (_, test) = evaluationSplits {
      let metrics = ClassificationMetrics(
        Evaluator().confusionMatrix(network: network, images: test, normalization: manifest.normalization))
      let imagesPerSecond = Double(step * plan.globalBatch) / trainingSeconds
      let result = TestReport(
        metrics: metrics, classNames: manifest.classNames, imagesPerSecond: imagesPerSecond)
      result.summaryLines.forEach(console.line)
      console.line(result.json)
      report = result
    }
    try communicator.barrier()
    return report
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
