import Distributed
import Model

/// Every collective the trainer makes, in one place, as PyTorch DDP gathers them (Li et al.
/// 2020): the start-up broadcast and layout check, the gradient sync, SyncBN's sums, the
/// batch-norm buffers, the replica check, the stop consensus and the epoch's totals. With one
/// rank each is a no-op.
///
/// Contract: parameters and buffers come from rank 0 once, at start; afterwards only gradients
/// (and SyncBN's statistics) are summed, so every rank applies the same update to the same
/// parameters. Batch norm's running statistics follow each rank's own share of the batch and
/// are averaged over the ranks before every evaluation and checkpoint (with SyncBN they are
/// already identical).
public final class DataParallel {
  let communicator: Communicator
  private let statistics: CommunicatorStatisticsReducer
  private var batchNormSynchronized = false

  public init(communicator: Communicator) {
    self.communicator = communicator
    statistics = CommunicatorStatisticsReducer(communicator: communicator)
  }

  var rank: Int { communicator.rank }
  var size: Int { communicator.size }

  // MARK: Start-up

  /// SyncBatchNorm: every batch-norm layer of `network` sums its statistics over the ranks.
  func synchronizeBatchNorm(of network: Network) {
    network.synchronizeBatchStatistics(with: statistics)
    batchNormSynchronized = true
  }

  /// Rank 0's parameters and buffers on every rank, then the check that every rank's arenas
  /// are laid out as rank 0's.
  func shareInitialModel(_ network: Network) throws {
    try communicator.broadcast(UnsafeMutableRawBufferPointer(network.parameters.buffer), root: 0)
    try communicator.broadcast(UnsafeMutableRawBufferPointer(network.buffers.buffer), root: 0)
    try checkLayout(of: network)
  }

  /// Rank 0's momentum and step counters on every rank (a resumed run).
  func shareResumedState(_ state: inout TrainingState, optimizer: SGD) throws {
    try communicator.broadcast(UnsafeMutableRawBufferPointer(optimizer.velocity.buffer), root: 0)
    var counters = [Int64(state.epochsDone), Int64(state.stepsDone), Int64(state.stepInEpoch)]
    try communicator.broadcast(&counters, root: 0)
    (state.epochsDone, state.stepsDone, state.stepInEpoch) = (
      Int(counters[0]), Int(counters[1]), Int(counters[2])
    )
    var radius = [state.maxNormRadius ?? .nan]
    try communicator.broadcast(&radius, root: 0)
    state.maxNormRadius = radius[0].isNaN ? nil : radius[0]
    var count = [Double(state.classScales?.scales.count ?? 0)]
    try communicator.broadcast(&count, root: 0)
    guard count[0] > 0 else { return }
    var values = (state.classScales?.scales ?? []) + (state.classScales?.velocity ?? [])
    values += [Double](repeating: 0, count: 2 * Int(count[0]) - values.count)
    try communicator.broadcast(&values, root: 0)
    state.classScales = ClassScales(
      scales: Array(values[..<Int(count[0])]), velocity: Array(values[Int(count[0])...]))
  }

  /// The start-up contract: every rank's parameter and buffer tensors have rank 0's names and
  /// shapes, in rank 0's order; a difference names the rank and the first differing tensor.
  public func checkLayout(of network: Network) throws {
    let mine = layoutLines(of: network)
    guard let all = try communicator.gather(text: mine.joined(separator: "\n"), root: 0) else { return }
    for (rank, text) in all.enumerated() {
      let lines = text.isEmpty ? [] : text.split(separator: "\n").map(String.init)
      if let index = zip(lines, mine).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
        throw DataParallelError.layoutMismatch(
          rank: rank, detail: "its tensor \(index + 1) is \(lines[index]), rank 0's is \(mine[index])")
      }
      if lines.count != mine.count {
        throw DataParallelError.layoutMismatch(
          rank: rank, detail: "it has \(lines.count) tensors, rank 0 has \(mine.count)")
      }
    }
  }

  /// `name [shape]` of every parameter, then every buffer, in arena order.
  private func layoutLines(of network: Network) -> [String] {
    network.layout.entries.map { "parameter \($0.name) \($0.shape)" }
      + network.bufferLayout.entries.map { "buffer \($0.name) \($0.shape)" }
  }

  // MARK: Every step

  /// The gradient sync of one phase: buckets allreduced during backward when `overlapped` (and
  /// there are several ranks), else one allreduce after backward, which leaves each rank's own
  /// gradients readable in between (debug checks, the gradient fault).
  func gradientSync(for network: Network, overlapped: Bool) -> GradientSync {
    GradientSync(network: network, communicator: communicator, overlapped: overlapped && size > 1)
  }

  /// `value` summed over the ranks: a weighted mean's global normaliser `Σ w_y`.
  func sum(_ value: Double) throws -> Double { try sum([value])[0] }

  /// `values` summed over the ranks, element by element (Dice's per-class statistics).
  func sum(_ values: [Double]) throws -> [Double] {
    var sum = values
    try communicator.allreduceSum(&sum)
    return sum
  }

  /// SyncBN's allreduces run inside forward and backward, which cannot throw: a failure is
  /// kept until the step asks here.
  func rethrowBatchNormFailure() throws {
    if let error = statistics.takeError() { throw error }
  }

  /// The end of every step: whether a stop signal reached any rank (so all stop after the same
  /// step), and the epoch's global mean loss so far, in one allreduce.
  func stepConsensus(signal: Int32, totals: EpochTotals) throws -> (stop: Bool, meanLoss: Double) {
    var values = [Double(signal), totals.loss, totals.normalizer]
    try communicator.allreduceSum(&values)
    return (values[0] != 0, values[1] / max(values[2], 1e-12))
  }

  // MARK: Between epochs

  /// The epoch's totals summed over the ranks, on rank 0, which records them; the other ranks
  /// get their own back. Gathered (each rank's padded to the longest) rather than allreduced:
  /// the confusion matrix travels as its cells that occur, not as K² numbers.
  func gatherOnRankZero(_ totals: EpochTotals) throws -> EpochTotals {
    guard size > 1 else { return totals }
    var values = totals.flattened
    var lengths = [Double](repeating: 0, count: size)
    lengths[rank] = Double(values.count)
    try communicator.allreduceSum(&lengths)
    values += [Double](repeating: 0, count: Int(lengths.max()!) - values.count)
    guard let parts = try communicator.gather(values, root: 0) else { return totals }
    let classes = totals.predictions.classes
    var sum = EpochTotals(classes: classes)
    for (part, length) in zip(parts, lengths) {
      sum.merge(EpochTotals(flattened: Array(part.prefix(Int(length))), classes: classes)!)
    }
    return sum
  }

  /// Batch norm's running statistics averaged over the ranks (each rank's follow its own share
  /// of the batch unless they are synchronised): before every evaluation and checkpoint.
  func averageBatchNormBuffers(of network: Network) throws {
    guard size > 1, network.buffers.count > 0, !batchNormSynchronized else { return }
    try communicator.allreduceSum(network.buffers.buffer)
    let scale = 1 / Float(size)
    for i in 0..<network.buffers.count { network.buffers.base[i] *= scale }
  }

  /// Invariant 3 of DESIGN.md: all replicas hold bit-identical parameters (checked after every
  /// epoch, and every `--check-replicas N` steps).
  func checkReplicasIdentical(_ network: Network, after moment: String) throws {
    guard let hashes = try communicator.gather([network.parameters.bitHash()], root: 0) else { return }
    let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
    if !differing.isEmpty { throw DataParallelError.replicasDiverged(after: moment, ranks: differing) }
  }

  /// Whether a stop signal reached any rank; the other ranks wait here while rank 0 evaluates.
  func anyRankSignalled(_ signal: Int32) throws -> Bool { try sum(Double(signal)) != 0 }

  func barrier() throws { try communicator.barrier() }
}

/// How one phase's gradients become the gradient of the global mean loss: bucketed allreduces
/// overlapped with backward (`GradientBuckets`), or one allreduce of the trainable range after it.
final class GradientSync {
  private let network: Network
  private let communicator: Communicator
  private let trainable: Range<Int>
  private let buckets: GradientBuckets?
  /// `imbal-dist bench`: wait for every rank at a barrier before finishing, so the waits
  /// report the slower rank apart from the communication backward did not hide.
  var separatesWaits = false

  init(network: Network, communicator: Communicator, overlapped: Bool) {
    self.network = network
    self.communicator = communicator
    trainable = network.trainableRange
    buckets =
      overlapped ? GradientBuckets(network: network, trainable: trainable, communicator: communicator) : nil
  }

  var bucketCount: Int { buckets?.bucketCount ?? 0 }

  /// Seconds a step waited in `finish()`: at the barrier for the slower ranks (only with
  /// `separatesWaits`), and for communication.
  struct Waits {
    var slowerRanks = 0.0
    var communication = 0.0
  }

  /// Before backward from the gradients of `outputs`.
  func prepare(backwardFrom outputs: [NetworkOutput]) {
    buckets?.expect(Set(network.trainableNodesReached(from: outputs)))
  }

  /// The callback `Network.backward(gradientsReady:)` takes.
  var gradientsReady: ((Int) -> Void)? { buckets.map { buckets in { buckets.nodeReady($0) } } }

  /// After backward: the trainable gradients summed over the ranks.
  @discardableResult
  func finish() throws -> Waits {
    var waits = Waits()
    if separatesWaits {
      let started = ContinuousClock.now
      try communicator.barrier()
      waits.slowerRanks = seconds(since: started)
    }
    if let buckets {
      waits.communication = try buckets.finish()
    } else {
      let started = ContinuousClock.now
      try communicator.allreduceSum(UnsafeMutableBufferPointer(rebasing: network.gradients.buffer[trainable]))
      waits.communication = seconds(since: started)
    }
    return waits
  }
}
