/// What one rank feeds its model: the training shards it owns, each with its sampler, cut into
/// the steps of an `EpochPlan`, each drawn image augmented by `augmentation`. Knows nothing of
/// MPI: it is handed its shards.
public final class TrainingStream {
  public let plan: EpochPlan
  public let scheme: SamplingScheme
  public let normalization: Normalization
  public let augmentation: Augmentation
  public let localBatch: Int
  private let seed: UInt64
  private let pools: [(shard: Int, images: LabeledImages, sampler: ShardSampler)]
  private var epoch = 0
  private var epochDraws: [[Int]] = []
  private var scratch: [UInt8] = []

  /// `shards` are this rank's training shards with their indices; `scheme` is worked out from
  /// the manifest's global and per-shard class counts.
  public init(
    shards: [(index: Int, images: LabeledImages)], scheme: SamplingScheme, plan: EpochPlan, seed: UInt64,
    normalization: Normalization, augmentation: Augmentation = Augmentation()
  ) {
    self.plan = plan
    self.scheme = scheme
    self.normalization = normalization
    self.augmentation = augmentation
    self.seed = seed
    pools = shards.map { shard in
      let sampler = ShardSampler(
        labels: shard.images.labels, classes: scheme.globalCounts.count, shard: shard.index, seed: seed)
      return (shard.index, shard.images, sampler)
    }
    localBatch = shards.reduce(0) { $0 + plan.share(ofShard: $1.index) }
  }

  /// Draws every owned shard's images for `epoch`.
  public func startEpoch(_ epoch: Int) {
    self.epoch = epoch
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
      if augmentation.isIdentity {
        BatchAssembler.copy(
          slice, of: pool.images, normalization: normalization, into: pixels, labels: labels, offset: offset)
      } else {
        for (k, index) in slice.enumerated() {
          augment(
            pool.images, index, shard: pool.shard, draw: step * share + k, into: pixels, slot: offset + k)
          labels[offset + k] = pool.images.labels[index]
        }
      }
      offset += share
    }
  }

  /// Image `index` of a shard, drawn as the shard's `draw`-th image of the epoch, augmented
  /// and normalised into image slot `slot` of `pixels`.
  private func augment(
    _ images: LabeledImages, _ index: Int, shard: Int, draw: Int, into pixels: UnsafeMutablePointer<Float>,
    slot: Int
  ) {
    let (channels, height, width) = (images.channels, images.height, images.width)
    let choice = augmentation.draw(
      seed: seed, epoch: epoch, shard: shard, draw: draw, height: height, width: width)
    if scratch.count != images.imageSize { scratch = [UInt8](repeating: 0, count: images.imageSize) }
    let target = pixels + slot * images.imageSize
    images.pixels.withUnsafeBufferPointer { raw in
      scratch.withUnsafeMutableBufferPointer { buffer in
        Augmentation.transform(
          raw.baseAddress! + index * images.imageSize, into: buffer.baseAddress!, channels: channels,
          height: height, width: width, padding: augmentation.cropPadding, draw: choice)
        BatchAssembler.normalize(
          buffer.baseAddress!, channels: channels, plane: height * width, normalization: normalization,
          into: target)
      }
    }
    Augmentation.cut(
      target, channels: channels, height: height, width: width, side: augmentation.cutout, draw: choice)
  }
}
