import Distributed
import Foundation
import Loader
import Model

/// `imbal-dist bench`: times the training step of a model on this machine — each layer's
/// forward and backward, the whole step, the gradient allreduce — and the loader, inference
/// and memory, on the run's dataset (the default one unless `dataDirectory`). Every rank
/// runs it; rank 0 returns the global report.
public struct StepBenchmark {
  public var configuration: TrainingConfiguration
  public var steps = 20
  public var warmupSteps = 3

  public init(configuration: TrainingConfiguration) { self.configuration = configuration }

  public func run(communicator: Communicator) throws -> BenchmarkReport? {
    let config = configuration
    let blasThreads =
      Int(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "")
      ?? (communicator.size > 1 ? 1 : ProcessInfo.processInfo.activeProcessorCount)
    let parallel = DataParallel(communicator: communicator)
    let dataset = try DefaultDataset.resolve(
      configuration: config, communicator: communicator, console: Console(enabled: false))
    let manifest = dataset.manifest
    var budget = config.data.loaderMemory << 20
    let (stream, plan) = try TrainingStream.open(
      dataset, configuration: config, rank: parallel.rank, ranks: parallel.size, budget: &budget)
    let network = try config.makeNetwork(image: manifest.image, classes: manifest.classNames.count)
    if config.model.syncBatchNorm { parallel.synchronizeBatchNorm(of: network) }
    network.initializeParameters(seed: config.data.seed)
    try parallel.shareInitialModel(network)
    let phase = TrainingPhase.phases(of: config)[0]
    let step = TrainingStep(
      network: network,
      optimizer: SGD(
        parameterCount: network.layout.count, momentum: Float(config.optimization.momentum),
        weightDecay: Float(config.optimization.weightDecay)),
      parallel: parallel, batch: (stream.localBatch, plan.globalBatch), normalization: manifest.normalization,
      seed: config.data.seed, reconstructionWeight: config.model.reconstructionWeight, hooks: [],
      phase: phase)
    // A fixed batch: the loader is timed apart.
    let input = Tensor(shape: network.inputShape.with(batch: stream.localBatch))
    stream.startEpoch(0)
    let targets = try stream.batch(step: 0, into: input)
    var totals = EpochTotals(classes: manifest.classNames.count)
    let objectives: [ClassificationLoss?] = phase.classifies ? [CrossEntropyLoss()] : [nil]
    func takeSteps(_ count: Int) throws -> Double {
      let started = ContinuousClock.now
      for index in 0..<count {
        try step(
          input: input, targets: targets, objectives: objectives, learningRate: 0.01,
          at: StepPosition(epoch: 1, stepInEpoch: index + 1, step: index + 1), totals: &totals)
      }
      return seconds(since: started) / Double(count)
    }

    _ = try takeSteps(warmupSteps)
    // Per-layer times, with the profile attached.
    let profile = NetworkProfile(nodes: network.nodes.count)
    network.profile = profile
    _ = try takeSteps(steps)
    network.profile = nil
    // The whole step, without the profile's clock reads; then the same steps with a barrier
    // before the gradients' wait, which tells the slower rank apart from communication.
    try parallel.barrier()
    let stepSeconds = try takeSteps(steps)
    step.waits = GradientSync.Waits()
    step.sync.separatesWaits = true
    _ = try takeSteps(steps)
    let waits = step.waits
    let blocking = try timeBlockingAllreduce(network, parallel)
    let dataWait = try dataWaitFraction(stream, input: input) { index in
      try step(
        input: input, targets: targets, objectives: objectives, learningRate: 0.01,
        at: StepPosition(epoch: 1, stepInEpoch: index + 1, step: index + 1), totals: &totals)
    }
    let mine = [
      stepSeconds, waits.communication / Double(steps), peakResidentMiB(),
      try loaderRate(stream, input: input),
      evaluationRate(network, outputs: phase.outputs(of: network)), measureSGEMM(), blocking,
      waits.slowerRanks / Double(steps), dataWait,
    ]
    guard let all = try communicator.gather(mine, root: 0) else { return nil }
    return report(
      all, network: network, profile: profile, phase: phase, plan: plan, localBatch: stream.localBatch,
      buckets: step.sync.bucketCount, blasThreads: blasThreads, loaderThreads: stream.loaderThreads)
  }

  /// Every rank's host and BLAS configuration, in rank order, at rank 0 (`nil` elsewhere).
  public static func describeRanks(_ communicator: Communicator) throws -> [String]? {
    try communicator.gather(
      text:
        "rank \(communicator.rank) of \(communicator.size) on \(ProcessInfo.processInfo.hostName): \(blasConfiguration())",
      root: 0)
  }

  /// The same gradients summed with one blocking allreduce after backward, for comparison.
  private func timeBlockingAllreduce(_ network: Network, _ parallel: DataParallel) throws -> Double {
    let sync = parallel.gradientSync(for: network, overlapped: false)
    try parallel.barrier()
    let started = ContinuousClock.now
    for _ in 0..<steps { try sync.finish() }
    return seconds(since: started) / Double(steps)
  }

  /// One loader thread: batches of this rank (at most 50) read, augmented and normalised on
  /// the calling thread.
  private func loaderRate(_ stream: TrainingStream, input: Tensor) throws -> Double {
    var labels = [Int32](repeating: 0, count: stream.localBatch)
    var masks = [UInt8](repeating: 0, count: stream.localBatch * stream.maskSize)
    let loaderSteps = min(stream.plan.stepsPerEpoch, 50)
    let started = ContinuousClock.now
    for s in 0..<loaderSteps {
      try labels.withUnsafeMutableBufferPointer { labels in
        try masks.withUnsafeMutableBufferPointer {
          try stream.fillOnThisThread(
            step: s, pixels: input.pointer, labels: labels.baseAddress!,
            masks: stream.maskSize > 0 ? $0.baseAddress! : nil)
        }
      }
    }
    return Double(loaderSteps * stream.localBatch) / seconds(since: started)
  }

  /// Steps fed by the loader as in training (its threads filling the queue ahead): the share
  /// of their wall time the training thread waited for its batch.
  private func dataWaitFraction(_ stream: TrainingStream, input: Tensor, step: (Int) throws -> Void) throws
    -> Double
  {
    stream.startEpoch(1)
    let fed = min(steps, stream.plan.stepsPerEpoch)
    var waited = 0.0
    let started = ContinuousClock.now
    for s in 0..<fed {
      let asked = ContinuousClock.now
      _ = try stream.batch(step: s, into: input)
      waited += seconds(since: asked)
      try step(s)
    }
    return waited / seconds(since: started)
  }

  /// Inference: forward passes of 128 images in evaluation mode.
  private func evaluationRate(_ network: Network, outputs: [NetworkOutput]) -> Double {
    network.setTraining(false)
    let evaluationInput = Tensor(shape: network.inputShape.with(batch: 128))
    network.forward(evaluationInput, outputs: outputs)
    let started = ContinuousClock.now
    for _ in 0..<steps { network.forward(evaluationInput, outputs: outputs) }
    return Double(steps * 128) / seconds(since: started)
  }

  /// The global report from every rank's figures (the slowest rank's times, the lowest rates).
  private func report(
    _ all: [[Double]], network: Network, profile: NetworkProfile, phase: TrainingPhase, plan: EpochPlan,
    localBatch: Int, buckets: Int, blasThreads: Int, loaderThreads: Int
  ) -> BenchmarkReport {
    func slowest(_ index: Int) -> Double { all.map { $0[index] }.max()! }
    func lowest(_ index: Int) -> Double { all.map { $0[index] }.min()! }
    let stepSeconds = slowest(0)
    let input = network.inputShape
    let flopsPerImage = 2 * Double(network.forwardFLOPsPerImage(for: phase.outputs(of: network)))
    // Backward ≈ twice the forward's multiply–adds (weight and input gradients).
    let stepFLOPs = 3 * flopsPerImage * Double(localBatch)
    let computeSeconds = max(stepSeconds - slowest(1) - slowest(7), 1e-12)
    let sgemm = all[0][5]
    return BenchmarkReport(
      model: configuration.model.architecture.rawValue,
      mode: configuration.model.setting,
      input: [input.channels, input.height, input.width].map(String.init).joined(separator: "x"),
      parameters: network.layout.count,
      ranks: all.count,
      blasThreadsPerRank: blasThreads, globalBatch: plan.globalBatch, steps: steps,
      layers: layerRows(network, profile: profile, batch: localBatch),
      stepMilliseconds: stepSeconds * 1000, imagesPerSecond: Double(plan.globalBatch) / stepSeconds,
      stepGFLOPS: stepFLOPs / computeSeconds / 1e9, sgemmGFLOPS: sgemm,
      fractionOfSGEMM: stepFLOPs / computeSeconds / 1e9 / sgemm,
      allreduceBuckets: buckets, allreduceMilliseconds: slowest(6) * 1000,
      slowerRankWaitMilliseconds: slowest(7) * 1000, communicationWaitMilliseconds: slowest(1) * 1000,
      loaderImagesPerSecond: lowest(3), loaderThreads: loaderThreads, dataWaitFraction: slowest(8),
      evaluationImagesPerSecond: lowest(4), peakResidentMiB: slowest(2))
  }

  private func layerRows(_ network: Network, profile: NetworkProfile, batch: Int) -> [BenchmarkReport.Layer] {
    network.nodes.indices.compactMap { i in
      let forward = profile.forwardSeconds[i] / Double(steps)
      let backward = profile.backwardSeconds[i] / Double(steps)
      guard forward > 0 || backward > 0 else { return nil }
      let node = network.nodes[i]
      var kind: String
      var flops = 0.0
      switch node.operation {
      case .layer(let layer):
        kind = layer.kind
        flops = 2 * Double(layer.forwardFLOPs(for: network.inputShape(of: i)) * batch)
      case .merge(let merge):
        kind = merge.kind
      }
      let firstLayer = node.inputs == [NetworkBuilder.input]
      return BenchmarkReport.Layer(
        name: node.operation.name, kind: kind, forwardMilliseconds: forward * 1000,
        backwardMilliseconds: backward * 1000,
        forwardGFLOPS: flops > 0 && forward > 0 ? flops / forward / 1e9 : nil,
        backwardGFLOPS: flops > 0 && backward > 0 ? (firstLayer ? 1 : 2) * flops / backward / 1e9 : nil)
    }
  }
}

/// The peak resident set size of this process (`getrusage`'s `ru_maxrss`, KiB on Linux), in MiB.
func peakResidentMiB() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_maxrss) / 1024
}
