/// What one rank feeds its model: the training shards it owns, each with its sampler, cut into
/// the steps of an `EpochPlan`. Knows nothing of MPI: it is handed its shards.
public final class TrainingStream {
  public let plan: EpochPlan
  public let scheme: SamplingScheme
  public let normalization: Normalization
  public let localBatch: Int
  private let pools: [(shard: Int, images: LabeledImages, sampler: ShardSampler)]
  private var epochDraws: [[Int]] = []

  /// `shards` are this rank's training shards with their indices; `scheme` is worked out from
  /// the manifest's global and per-shard class counts.
  public init(
    shards: [(index: Int, images: LabeledImages)], scheme: SamplingScheme, plan: EpochPlan, seed: UInt64,
    normalization: Normalization
  ) {
    self.plan = plan
    self.scheme = scheme
    self.normalization = normalization
    pools = shards.map { shard in
      let sampler = ShardSampler(
        labels: shard.images.labels, classes: scheme.globalCounts.count, shard: shard.index, seed: seed)
      return (shard.index, shard.images, sampler)
    }
    localBatch = shards.reduce(0) { $0 + plan.share(ofShard: $1.index) }
  }

  /// Draws every owned shard's images for `epoch`.
  public func startEpoch(_ epoch: Int) {
    epochDraws = pools.map { pool in
      pool.sampler.draws(
        rule: scheme.rule(epoch: epoch, shard: pool.shard), epoch: epoch,
        count: plan.stepsPerEpoch * plan.share(ofShard: pool.shard))
    }
  }

  /// The class of every image this rank draws in the current epoch (for checking samplers).
  public var epochLabels: [Int32] {
    zip(pools, epochDraws).flatMap { pool, draws in draws.map { pool.images.labels[$0] } }
  }

  /// Fills `localBatch` images of step `step`: each owned shard's share, in shard order.
  public func batch(step: Int, pixels: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
    precondition(!epochDraws.isEmpty, "startEpoch must be called first")
    var offset = 0
    for (pool, draws) in zip(pools, epochDraws) {
      let share = plan.share(ofShard: pool.shard)
      let slice = draws[(step * share)..<((step + 1) * share)]
      BatchAssembler.copy(
        slice, of: pool.images, normalization: normalization, into: pixels, labels: labels, offset: offset)
      offset += share
    }
  }
}
