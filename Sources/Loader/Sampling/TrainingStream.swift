/// What one rank feeds its model: the training shards it owns, each with its sampler, cut into
/// the steps of an `EpochPlan`, each drawn image read, augmented by `augmentation` and
/// normalised, each shard's share then mixed by `mixing`, on `loaderThreads` background threads
/// (0: on the caller's thread); images with label masks bring them, moved with the image
/// (masks are not mixed). Knows nothing of MPI: it is handed its shards.
public final class TrainingStream {
  public let plan: EpochPlan
  public let scheme: SamplingScheme
  public let normalization: Normalization
  public let augmentation: Augmentation
  public let mixing: Mixing
  public let copyPaste: CopyPaste
  public let localBatch: Int
  public let loaderThreads: Int
  /// Bytes of each image's label mask (0: the shards have none).
  public let maskSize: Int
  private let seed: UInt64
  private let pools: [Pool]
  private let workers: [LoaderWorker]
  private let prefetcher: BatchPrefetcher?
  private var recipe: BatchRecipe?

  /// One owned training shard: its records, its sampler, and copy-paste's cumulative source
  /// weights (empty without copy-paste).
  struct Pool: Sendable {
    let shard: Int
    let store: RecordStore
    let sampler: ShardSampler
    let pasteWeights: [Double]
  }

  /// `shards` are this rank's training shards with their indices; `scheme` is worked out from
  /// the manifest's global and per-shard class counts.
  public init(
    shards: [(index: Int, store: RecordStore)], scheme: SamplingScheme, plan: EpochPlan, seed: UInt64,
    normalization: Normalization, augmentation: Augmentation = Augmentation(), mixing: Mixing = Mixing(),
    copyPaste: CopyPaste = CopyPaste(), loaderThreads: Int = 0, prefetchDepth: Int? = nil
  ) {
    self.plan = plan
    self.scheme = scheme
    self.normalization = normalization
    self.augmentation = augmentation
    self.mixing = mixing
    self.copyPaste = copyPaste
    self.seed = seed
    self.loaderThreads = loaderThreads
    pools = shards.map { shard in
      let sampler = ShardSampler(
        labels: shard.store.labels, classes: scheme.globalCounts.count, shard: shard.index, seed: seed)
      let weights =
        copyPaste.pastes
        ? CopyPaste.cumulativeWeights(labels: shard.store.labels, classCounts: scheme.globalCounts) : []
      return Pool(shard: shard.index, store: shard.store, sampler: sampler, pasteWeights: weights)
    }
    localBatch = shards.reduce(0) { $0 + plan.share(ofShard: $1.index) }
    let imageSize = shards.first?.store.imageSize ?? 0
    maskSize = shards.first?.store.maskSize ?? 0
    precondition(maskSize == 0 || !mixing.mixes, "images with label masks are not mixed")
    precondition(maskSize > 0 || !copyPaste.pastes, "copy-paste needs label masks")
    // One worker per thread, and the last for the caller's thread.
    let mixed = mixing.mixes ? imageSize * (shards.map { plan.share(ofShard: $0.index) }.max() ?? 0) : 0
    workers = (0...loaderThreads).map { [maskSize] _ in
      LoaderWorker(imageSize: imageSize, maskSize: maskSize, mixedFloats: mixed)
    }
    prefetcher =
      loaderThreads > 0
      ? BatchPrefetcher(
        threads: loaderThreads, depth: prefetchDepth ?? Self.prefetchDepth(threads: loaderThreads),
        batchImages: localBatch, imageSize: imageSize, maskSize: maskSize)
      : nil
  }

  deinit { prefetcher?.stop() }

  /// Batches queued ahead by default: one per thread, and one more being taken.
  public static func prefetchDepth(threads: Int) -> Int { threads + 1 }

  /// Bytes of the prefetch queue of `threads` threads for batches of `localBatch` images
  /// (floats and a label each, and a mask of `maskSize` bytes).
  public static func queueBytes(threads: Int, localBatch: Int, imageSize: Int, maskSize: Int = 0) -> Int {
    threads == 0 ? 0 : prefetchDepth(threads: threads) * localBatch * ((imageSize + 1) * 4 + maskSize)
  }

  /// Draws every owned shard's images for `epoch`; the first batch taken is `firstStep`'s.
  public func startEpoch(_ epoch: Int, firstStep: Int = 0) {
    let draws = pools.map { pool in
      pool.sampler.draws(
        rule: scheme.rule(epoch: epoch, shard: pool.shard), epoch: epoch,
        count: plan.stepsPerEpoch * plan.share(ofShard: pool.shard))
    }
    let recipe = BatchRecipe(
      pools: pools, draws: draws, plan: plan, epoch: epoch, seed: seed, augmentation: augmentation,
      mixing: mixing, copyPaste: copyPaste, normalization: normalization)
    self.recipe = recipe
    let workers = LoaderWorkers(workers)
    prefetcher?.begin(first: firstStep, end: plan.stepsPerEpoch) { step, pixels, labels, masks, worker in
      try recipe.fill(step: step, pixels: pixels, labels: labels, masks: masks, worker: workers.all[worker])
    }
  }

  /// The class of every image this rank draws in the current epoch (for checking samplers).
  public var epochLabels: [Int32] {
    guard let recipe else { return [] }
    return zip(pools, recipe.draws).flatMap { pool, draws in draws.map { pool.store.labels[$0] } }
  }

  /// What `batch` mixed each image of step `step` with: the partner's class and the weight of
  /// the image's own class (`nil` without mixing). The weights follow the classes' GLOBAL
  /// training counts, as Remix's rule asks.
  public func pairing(step: Int) -> (partners: [Int32], weights: [Float])? {
    guard let recipe, mixing.mixes, let store = pools.first?.store else { return nil }
    let draw = mixing.draw(
      seed: seed, epoch: recipe.epoch, step: step, height: store.height, width: store.width)
    var (partners, weights) = ([Int32](), [Float]())
    for (pool, draws) in zip(pools, recipe.draws) {
      let share = plan.share(ofShard: pool.shard)
      let labels = draws[(step * share)..<((step + 1) * share)].map { pool.store.labels[$0] }
      let partner = mixing.partners(
        seed: seed, epoch: recipe.epoch, step: step, shard: pool.shard, count: share)
      for (label, j) in zip(labels, partner) {
        partners.append(labels[j])
        weights.append(
          mixing.labelWeight(
            draw, counts: (scheme.globalCounts[Int(label)], scheme.globalCounts[Int(labels[j])])))
      }
    }
    return (partners, weights)
  }

  /// Fills `localBatch` images of step `step`: each owned shard's share, in shard order, and
  /// their label masks (`localBatch × maskSize` bytes) when the shards have them. Steps are
  /// taken in order from the epoch's first.
  public func batch(
    step: Int, pixels: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>,
    masks: UnsafeMutablePointer<UInt8>? = nil
  )
    throws
  {
    guard let recipe else { preconditionFailure("startEpoch must be called first") }
    if let prefetcher {
      try prefetcher.take(step: step, pixels: pixels, labels: labels, masks: masks)
    } else {
      try recipe.fill(
        step: step, pixels: pixels, labels: labels, masks: masks, worker: workers[loaderThreads])
    }
  }
}

extension TrainingStream {
  /// Step `step`'s batch filled on the calling thread, bypassing the queue (what `bench` times
  /// per loader thread).
  public func fillOnThisThread(
    step: Int, pixels: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>,
    masks: UnsafeMutablePointer<UInt8>? = nil
  )
    throws
  {
    guard let recipe else { preconditionFailure("startEpoch must be called first") }
    try recipe.fill(step: step, pixels: pixels, labels: labels, masks: masks, worker: workers[loaderThreads])
  }
}

/// One loader thread's reader and image buffers.
final class LoaderWorker {
  let reader = RecordReader()
  var decoded: [UInt8]
  var augmented: [UInt8]
  /// The label mask as stored, before it moves with its image.
  var decodedMask: [UInt8]
  /// Copy-paste's source image and mask.
  var source: [UInt8]
  var sourceMask: [UInt8]
  /// The originals of a shard's share while they are mixed.
  var mixed: [Float]

  init(imageSize: Int, maskSize: Int, mixedFloats: Int) {
    decoded = [UInt8](repeating: 0, count: imageSize)
    augmented = [UInt8](repeating: 0, count: imageSize)
    decodedMask = [UInt8](repeating: 0, count: maskSize)
    (source, sourceMask) = ([UInt8](repeating: 0, count: imageSize), [UInt8](repeating: 0, count: maskSize))
    mixed = [Float](repeating: 0, count: mixedFloats)
  }
}

/// The workers, handed to the prefetcher's threads: worker `i` is used by thread `i` alone.
struct LoaderWorkers: @unchecked Sendable {
  let all: [LoaderWorker]
  init(_ all: [LoaderWorker]) { self.all = all }
}

/// How one epoch's batches are made: which image each step draws from each shard, and what is
/// done to it. A pure function of the step, whichever thread runs it.
struct BatchRecipe: Sendable {
  let pools: [TrainingStream.Pool]
  let draws: [[Int]]
  let plan: EpochPlan
  let epoch: Int
  let seed: UInt64
  let augmentation: Augmentation
  let mixing: Mixing
  let copyPaste: CopyPaste
  let normalization: Normalization

  func fill(
    step: Int, pixels: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>,
    masks: UnsafeMutablePointer<UInt8>?, worker: LoaderWorker
  ) throws {
    var slot = 0
    for (pool, draws) in zip(pools, draws) {
      let share = plan.share(ofShard: pool.shard)
      let first = slot
      for draw in (step * share)..<((step + 1) * share) {
        let index = draws[draw]
        try image(
          index, of: pool, draw: draw, worker: worker, into: pixels + slot * pool.store.imageSize,
          mask: masks.map { $0 + slot * pool.store.maskSize })
        labels[slot] = pool.store.labels[index]
        slot += 1
      }
      if mixing.mixes {
        mix(pixels + first * pool.store.imageSize, share, of: pool, step: step, worker: worker)
      }
    }
  }

  /// Mixes one shard's share of step `step` (`count` images at `images`).
  private func mix(
    _ images: UnsafeMutablePointer<Float>, _ count: Int, of pool: TrainingStream.Pool, step: Int,
    worker: LoaderWorker
  ) {
    let store = pool.store
    let draw = mixing.draw(seed: seed, epoch: epoch, step: step, height: store.height, width: store.width)
    let partners = mixing.partners(seed: seed, epoch: epoch, step: step, shard: pool.shard, count: count)
    worker.mixed.withUnsafeMutableBufferPointer {
      mixing.mix(
        images, count: count, channels: store.channels, height: store.height, width: store.width,
        partners: partners, draw: draw, scratch: $0.baseAddress!)
    }
  }

  /// Copy-paste's object, when the draw asks for one, from another image of the pool.
  private func paste(
    into image: UnsafeMutablePointer<UInt8>, _ mask: UnsafeMutablePointer<UInt8>,
    of pool: TrainingStream.Pool,
    draw: Int, _ worker: LoaderWorker
  ) throws {
    guard copyPaste.pastes,
      let choice = copyPaste.choose(
        seed: seed, epoch: epoch, shard: pool.shard, draw: draw, cumulativeWeights: pool.pasteWeights)
    else { return }
    let store = pool.store
    try worker.source.withUnsafeMutableBufferPointer { source in
      try worker.sourceMask.withUnsafeMutableBufferPointer { sourceMask in
        try store.pixels(
          choice.source, into: source.baseAddress!, mask: sourceMask.baseAddress!, reader: worker.reader)
        CopyPaste.paste(
          label: UInt8(store.labels[choice.source]), from: source.baseAddress!, mask: sourceMask.baseAddress!,
          into: image, mask: mask, channels: store.channels, height: store.height, width: store.width,
          position: choice.position)
      }
    }
  }

  /// Image `index` of a pool, drawn as its shard's `draw`-th image of the epoch, read,
  /// augmented and normalised into `target`, its label mask moved with it into `mask`.
  private func image(
    _ index: Int, of pool: TrainingStream.Pool, draw: Int, worker: LoaderWorker,
    into target: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt8>?
  ) throws {
    let store = pool.store
    let (channels, height, width) = (store.channels, store.height, store.width)
    try worker.decoded.withUnsafeMutableBufferPointer { decoded in
      try worker.decodedMask.withUnsafeMutableBufferPointer { storedMask in
        try store.pixels(
          index, into: decoded.baseAddress!, mask: mask == nil ? nil : storedMask.baseAddress!,
          reader: worker.reader)
        if mask != nil {
          try paste(into: decoded.baseAddress!, storedMask.baseAddress!, of: pool, draw: draw, worker)
        }
      }
      guard !augmentation.isIdentity else {
        mask?.update(from: worker.decodedMask, count: store.maskSize)
        return BatchAssembler.normalize(
          decoded.baseAddress!, channels: channels, plane: height * width, normalization: normalization,
          into: target)
      }
      let choice = augmentation.draw(
        seed: seed, epoch: epoch, shard: pool.shard, draw: draw, height: height, width: width)
      if let mask {
        Augmentation.transformMask(
          worker.decodedMask, into: mask, height: height, width: width, padding: augmentation.cropPadding,
          draw: choice, fill: ShardFormat.ignoreLabel)
      }
      worker.augmented.withUnsafeMutableBufferPointer { augmented in
        Augmentation.transform(
          decoded.baseAddress!, into: augmented.baseAddress!, channels: channels, height: height,
          width: width,
          padding: augmentation.cropPadding, draw: choice)
        BatchAssembler.normalize(
          augmented.baseAddress!, channels: channels, plane: height * width, normalization: normalization,
          into: target)
      }
      Augmentation.cut(
        target, channels: channels, height: height, width: width, side: augmentation.cutout, draw: choice)
    }
  }
}
