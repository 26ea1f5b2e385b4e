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

  public func run(communicator: Communicator, blasThreads: Int) throws -> BenchmarkReport? {
    let config = configuration
    let (rank, ranks) = (communicator.rank, communicator.size)
    let dataset = try DefaultDataset.resolve(
      configuration: config, communicator: communicator, console: Console(enabled: false))
    let manifest = dataset.manifest
    let classes = manifest.classNames.count
    let (stream, plan) = try TrainingStream.open(dataset, configuration: config, rank: rank, ranks: ranks)
    let phase = TrainingPhase.phases(of: config)[0]
    let network = config.makeNetwork(image: manifest.image, classes: classes)
    let reducer = CommunicatorStatisticsReducer(communicator: communicator)
    if config.syncBatchNorm { network.synchronizeBatchStatistics(with: reducer) }
    network.initializeParameters(seed: config.seed)
    try communicator.broadcast(UnsafeMutableRawBufferPointer(network.parameters.buffer), root: 0)
    network.freeze(phase.frozen)
    network.setTraining(true)
    let optimizer = SGD(
      parameterCount: network.layout.count, momentum: Float(config.momentum),
      weightDecay: Float(config.weightDecay))
    let loss = CrossEntropyLoss()
    let iterationLosses = IterationLosses(
      network: network, localBatch: stream.localBatch, classes: classes,
      normalization: manifest.normalization,
      globalBatch: plan.globalBatch)

    let local = stream.localBatch
    let input = Tensor(shape: network.inputShape.with(batch: local))
    var labels = [Int32](repeating: 0, count: local)
    stream.startEpoch(0)
    labels.withUnsafeMutableBufferPointer {
      stream.batch(step: 0, pixels: input.pointer, labels: $0.baseAddress!)
    }
    let trainable = network.trainableRange
    let buckets =
      ranks > 1 ? GradientBuckets(network: network, trainable: trainable, communicator: communicator) : nil

    // One training step as the trainer takes it (fixed batch: the loader is timed apart).
    var allreduceSeconds = 0.0
    func step() throws {
      network.zeroGradients()
      network.forward(input, outputs: phase.outputs)
      let contribution = iterationLosses.compute(
        network: network, input: input, labels: labels, objective: phase.classifies ? loss : nil,
        globalNormalizer: Double(plan.globalBatch),
        reconstructionWeight: phase.reconstructs ? config.reconstructionWeight : nil)
      network.backward(
        input: input, outputGradients: contribution.outputGradients,
        gradientsReady: buckets.map { b in { b.nodeReady($0) } })
      if let error = reducer.takeError() { throw error }
      if let buckets { allreduceSeconds += try buckets.finish() }
      optimizer.step(
        parameters: network.parameters, gradients: network.gradients, learningRate: 0.01, range: trainable)
    }

    for _ in 0..<warmupSteps { try step() }
    // Per-layer times, with the profile attached.
    let profile = NetworkProfile(nodes: network.nodes.count)
    network.profile = profile
    for _ in 0..<steps { try step() }
    network.profile = nil
    // The whole step, without the profile's clock reads.
    try communicator.barrier()
    allreduceSeconds = 0
    let started = ContinuousClock.now
    for _ in 0..<steps { try step() }
    let stepSeconds = seconds(since: started) / Double(steps)
    let allreduce = allreduceSeconds / Double(steps)
    // The same gradients summed with one blocking allreduce after backward, for comparison.
    try communicator.barrier()
    let blockingStarted = ContinuousClock.now
    for _ in 0..<steps {
      try communicator.allreduceSum(UnsafeMutableBufferPointer(rebasing: network.gradients.buffer[trainable]))
    }
    let blocking = seconds(since: blockingStarted) / Double(steps)

    // The loader: a whole epoch's batches of this rank, assembled from decoded shards.
    let loaderStarted = ContinuousClock.now
    let loaderSteps = min(plan.stepsPerEpoch, 50)
    for s in 0..<loaderSteps {
      labels.withUnsafeMutableBufferPointer {
        stream.batch(step: s, pixels: input.pointer, labels: $0.baseAddress!)
      }
    }
    let loaderRate = Double(loaderSteps * local) / seconds(since: loaderStarted)

    // Inference: forward passes of 128 images in evaluation mode.
    network.setTraining(false)
    let evaluationInput = Tensor(shape: network.inputShape.with(batch: 128))
    network.forward(evaluationInput)
    let evaluationStarted = ContinuousClock.now
    for _ in 0..<steps { network.forward(evaluationInput) }
    let evaluationRate = Double(steps * 128) / seconds(since: evaluationStarted)

    let sgemm = measureSGEMM()
    let mine = [stepSeconds, allreduce, peakResidentMiB(), loaderRate, evaluationRate, sgemm, blocking]
    guard let all = try communicator.gather(mine, root: 0) else { return nil }
    let slowestStep = all.map { $0[0] }.max()!
    let slowestAllreduce = all.map { $0[1] }.max()!
    let slowestBlocking = all.map { $0[6] }.max()!
    let flopsPerImage = 2 * Double(network.forwardFLOPsPerImage(for: phase.outputs))
    // Backward ≈ twice the forward's multiply–adds (weight and input gradients).
    let stepFLOPs = 3 * flopsPerImage * Double(local)
    let computeSeconds = max(stepSeconds - allreduce, 1e-12)
    return BenchmarkReport(
      model: config.architecture.rawValue, mode: config.mode.rawValue, ranks: ranks,
      blasThreadsPerRank: blasThreads, globalBatch: plan.globalBatch, steps: steps,
      layers: layerRows(network, profile: profile, batch: local),
      stepMilliseconds: slowestStep * 1000, imagesPerSecond: Double(plan.globalBatch) / slowestStep,
      stepGFLOPS: stepFLOPs / computeSeconds / 1e9, sgemmGFLOPS: sgemm,
      fractionOfSGEMM: stepFLOPs / computeSeconds / 1e9 / sgemm,
      allreduceBuckets: buckets?.bucketCount ?? 0, allreduceMilliseconds: slowestBlocking * 1000,
      allreduceExposedMilliseconds: slowestAllreduce * 1000,
      allreduceExposedFraction: slowestAllreduce / slowestStep,
      loaderImagesPerSecond: all.map { $0[3] }.min()!, evaluationImagesPerSecond: all.map { $0[4] }.min()!,
      peakResidentMiB: all.map { $0[2] }.max()!)
  }

  private func layerRows(_ network: Network, profile: NetworkProfile, batch: Int) -> [BenchmarkReport.Layer] {
    network.nodes.indices.compactMap { i in
      let forward = profile.forwardSeconds[i] / Double(steps)
      let backward = profile.backwardSeconds[i] / Double(steps)
      guard forward > 0 || backward > 0 else { return nil }
      let node = network.nodes[i]
      var kind = "merge"
      var flops = 0.0
      if case .layer(let layer) = node.operation {
        kind = layer.kind
        flops = 2 * Double(layer.forwardFLOPs(for: network.inputShape(of: i)) * batch)
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
