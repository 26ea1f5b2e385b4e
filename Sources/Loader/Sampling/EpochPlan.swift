/// A training configuration that cannot be run.
public enum PlanError: Error, CustomStringConvertible, Equatable {
  case tooFewShards(shards: Int, ranks: Int)
  case batchTooSmall(globalBatch: Int, ranks: Int)
  case epochTooShort(epochSize: Int, globalBatch: Int)
  case quotaTooSmall(globalBatch: Int)
  case tooFewToMix(globalBatch: Int, shards: Int)

  public var description: String {
    switch self {
    case .tooFewShards(let shards, let ranks):
      return "\(ranks) ranks need at least \(ranks) training shards, but the dataset has \(shards): "
        + "pack it again with --shards \(ranks) or more"
    case .batchTooSmall(let globalBatch, let ranks):
      return
        "a global batch of \(globalBatch) cannot give each of \(ranks) ranks an image: use --batch-size \(ranks) or more"
    case .epochTooShort(let epochSize, let globalBatch):
      return "an epoch of \(epochSize) images holds no full batch of \(globalBatch): lower --batch-size"
    case .quotaTooSmall(let globalBatch):
      return "the under-over quotas give some shard less than one batch of \(globalBatch) per epoch: "
        + "raise --undersample-threshold or lower --batch-size"
    case .tooFewToMix(let globalBatch, let shards):
      return "--mix pairs images within each training shard's share of a step, and a global batch of "
        + "\(globalBatch) over \(shards) shards gives some shard fewer than 2: use --batch-size \(2 * shards) or more"
    }
  }
}

/// How one epoch is cut into steps, computed from global numbers only, so that every rank
/// derives the same step count and no rank can wait in an allreduce the others never enter.
///
/// Each step draws `globalBatch` images: training shard `p` of `P` contributes `share(p)` of
/// them (`⌊B/P⌋`, plus one for the first `B mod P` shards); a rank's local batch is the sum of
/// its shards' shares.
public struct EpochPlan: Sendable, Equatable {
  public let globalBatch: Int
  public let shards: Int
  public let stepsPerEpoch: Int

  /// `drawLimits` (images each shard can give per epoch, for quota samplers) caps the steps so
  /// that no shard is asked for more.
  public init(epochSize: Int, globalBatch: Int, shards: Int, ranks: Int, drawLimits: [Int]? = nil) throws {
    guard shards >= ranks else { throw PlanError.tooFewShards(shards: shards, ranks: ranks) }
    guard globalBatch >= ranks, globalBatch > 0 else {
      throw PlanError.batchTooSmall(globalBatch: globalBatch, ranks: ranks)
    }
    guard epochSize >= globalBatch else {
      throw PlanError.epochTooShort(epochSize: epochSize, globalBatch: globalBatch)
    }
    self.globalBatch = globalBatch
    self.shards = shards
    var steps = epochSize / globalBatch
    if let drawLimits {
      let perStep = drawLimits.indices.map {
        EpochPlan.share(ofShard: $0, globalBatch: globalBatch, shards: shards)
      }
      steps = min(steps, zip(drawLimits, perStep).map { $0 / max($1, 1) }.min() ?? steps)
      guard steps > 0 else { throw PlanError.quotaTooSmall(globalBatch: globalBatch) }
    }
    stepsPerEpoch = steps
  }

  /// Images shard `p` contributes to every step.
  public func share(ofShard p: Int) -> Int {
    EpochPlan.share(ofShard: p, globalBatch: globalBatch, shards: shards)
  }

  static func share(ofShard p: Int, globalBatch: Int, shards: Int) -> Int {
    globalBatch / shards + (p < globalBatch % shards ? 1 : 0)
  }

  /// Images rank `rank` of `ranks` processes in every step.
  public func localBatch(rank: Int, ranks: Int) -> Int {
    ShardAssignment.owned(byRank: rank, of: ranks, shards: shards).reduce(0) { $0 + share(ofShard: $1) }
  }
}
