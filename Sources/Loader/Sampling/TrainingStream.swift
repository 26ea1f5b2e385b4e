/// What one rank feeds its model: the partitions it owns, each with its sampler, cut into the
/// steps of an `EpochPlan`. Knows nothing of MPI: it is handed `rank` and `ranks`.
public final class TrainingStream {
  public let plan: EpochPlan
  public let normalization: Normalization
  public let localBatch: Int
  private let pools: [(partition: Int, images: LabeledImages, sampler: PartitionSampler)]
  private var epochDraws: [[Int]] = []

  /// `training` is the whole training split; only the partitions of `rank` are kept.
  public init(
    training: LabeledImages, plan: EpochPlan, rank: Int, ranks: Int, sampler: SamplerKind, seed: UInt64,
    normalization: Normalization
  ) {
    self.plan = plan
    self.normalization = normalization
    let partitionIndices = StratifiedPartitioning.indices(
      labels: training.labels, classes: training.classCount, partitions: plan.partitions)
    let globalCounts = training.classCounts
    pools = StratifiedPartitioning.owned(byRank: rank, of: ranks, partitions: plan.partitions).map { p in
      let images = training.subset(partitionIndices[p])
      let partitionSampler = PartitionSampler(
        kind: sampler, labels: images.labels, globalClassCounts: globalCounts, partition: p, seed: seed)
      return (p, images, partitionSampler)
    }
    localBatch = plan.localBatch(rank: rank, ranks: ranks)
  }

  /// Draws every owned partition's images for `epoch`.
  public func startEpoch(_ epoch: Int) {
    epochDraws = pools.map { pool in
      pool.sampler.draws(epoch: epoch, count: plan.stepsPerEpoch * plan.share(ofPartition: pool.partition))
    }
  }

  /// The class of every image this rank draws in the current epoch (for checking samplers).
  public var epochLabels: [Int32] {
    zip(pools, epochDraws).flatMap { pool, draws in draws.map { pool.images.labels[$0] } }
  }

  /// Fills `localBatch` images of step `step`: each owned partition's share, in partition order.
  public func batch(step: Int, pixels: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
    precondition(!epochDraws.isEmpty, "startEpoch must be called first")
    var offset = 0
    for (pool, draws) in zip(pools, epochDraws) {
      let share = plan.share(ofPartition: pool.partition)
      let slice = draws[(step * share)..<((step + 1) * share)]
      BatchAssembler.copy(
        slice, of: pool.images, normalization: normalization, into: pixels, labels: labels, offset: offset)
      offset += share
    }
  }
}
