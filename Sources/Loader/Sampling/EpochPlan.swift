/// A training configuration that cannot be run.
public enum PlanError: Error, CustomStringConvertible, Equatable {
  case tooFewPartitions(partitions: Int, ranks: Int)
  case batchTooSmall(globalBatch: Int, ranks: Int)
  case epochTooShort(epochSize: Int, globalBatch: Int)

  public var description: String {
    switch self {
    case .tooFewPartitions(let partitions, let ranks):
      return
        "\(ranks) ranks need at least \(ranks) data partitions, but there are \(partitions): pass --partitions \(ranks) or more"
    case .batchTooSmall(let globalBatch, let ranks):
      return
        "a global batch of \(globalBatch) cannot give each of \(ranks) ranks an image: use --batch-size \(ranks) or more"
    case .epochTooShort(let epochSize, let globalBatch):
      return "an epoch of \(epochSize) images holds no full batch of \(globalBatch): lower --batch-size"
    }
  }
}

/// How one epoch is cut into steps, computed from global numbers only, so that every rank
/// derives the same step count and no rank can wait in an allreduce the others never enter.
///
/// Each step draws `globalBatch` images: partition `p` contributes `share(p)` of them
/// (`⌊B/P⌋`, plus one for the first `B mod P` partitions); a rank's local batch is the sum of
/// its partitions' shares.
public struct EpochPlan: Sendable, Equatable {
  public let globalBatch: Int
  public let partitions: Int
  public let stepsPerEpoch: Int

  public init(epochSize: Int, globalBatch: Int, partitions: Int, ranks: Int) throws {
    guard partitions >= ranks else { throw PlanError.tooFewPartitions(partitions: partitions, ranks: ranks) }
    guard globalBatch >= ranks, globalBatch > 0 else {
      throw PlanError.batchTooSmall(globalBatch: globalBatch, ranks: ranks)
    }
    guard epochSize >= globalBatch else {
      throw PlanError.epochTooShort(epochSize: epochSize, globalBatch: globalBatch)
    }
    self.globalBatch = globalBatch
    self.partitions = partitions
    stepsPerEpoch = epochSize / globalBatch
  }

  /// Images partition `p` contributes to every step.
  public func share(ofPartition p: Int) -> Int {
    globalBatch / partitions + (p < globalBatch % partitions ? 1 : 0)
  }

  /// Images rank `rank` of `ranks` processes in every step.
  public func localBatch(rank: Int, ranks: Int) -> Int {
    StratifiedPartitioning.owned(byRank: rank, of: ranks, partitions: partitions)
      .reduce(0) { $0 + share(ofPartition: $1) }
  }
}
