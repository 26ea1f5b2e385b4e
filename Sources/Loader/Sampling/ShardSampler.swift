import PRNG

/// How training images are drawn (`--sampler`).
public enum SamplerKind: String, CaseIterable, Sendable {
  /// Every image of the shard once per pass, in a fresh random order (a shuffle).
  case uniform
  /// Weighted random sampling with replacement, weight `1/n_c` from the GLOBAL class counts
  /// (PyTorch's `WeightedRandomSampler` with inverse-frequency weights): every class is drawn
  /// equally often in expectation.
  case oversample
}

/// Draws the images one training shard contributes to an epoch, from a random stream seeded
/// by `(seed, epoch, shard)` alone, so the draws are the same whichever rank owns the shard.
public struct ShardSampler: Sendable {
  public let kind: SamplerKind
  public let shard: Int
  public let seed: UInt64
  private let byClass: [[Int]]
  private let poolSize: Int
  /// Cumulative sampling mass of the classes present here: weight `1/n_c` (global count)
  /// times the class's local size, so the union over shards is class-balanced.
  private let cumulativeMass: [(classIndex: Int, upTo: Double)]

  /// `labels` are the shard's own images; `globalClassCounts` those of the whole split.
  public init(kind: SamplerKind, labels: [Int32], globalClassCounts: [Int], shard: Int, seed: UInt64) {
    self.kind = kind
    self.shard = shard
    self.seed = seed
    poolSize = labels.count
    var byClass = [[Int]](repeating: [], count: globalClassCounts.count)
    for (index, label) in labels.enumerated() { byClass[Int(label)].append(index) }
    self.byClass = byClass
    var running = 0.0
    var cumulative: [(classIndex: Int, upTo: Double)] = []
    for (c, local) in byClass.enumerated() where !local.isEmpty {
      running += Double(local.count) / Double(max(globalClassCounts[c], local.count))
      cumulative.append((c, running))
    }
    cumulativeMass = cumulative
  }

  /// `count` indices into the shard's images for `epoch`.
  public func draws(epoch: Int, count: Int) -> [Int] {
    guard count > 0, poolSize > 0 else { return [] }
    var rng = Xoshiro256(seed: seed, stream: [UInt64(epoch), UInt64(shard), 0x5A3])
    switch kind {
    case .uniform:
      var result: [Int] = []
      result.reserveCapacity(count)
      while result.count < count {
        var pass = Array(0..<poolSize)
        pass.shuffle(using: &rng)
        result += pass.prefix(count - result.count)
      }
      return result
    case .oversample:
      let total = cumulativeMass.last!.upTo
      return (0..<count).map { _ in
        let u = rng.nextUnitDouble() * total
        let pick = cumulativeMass.first { u < $0.upTo } ?? cumulativeMass.last!
        let members = byClass[pick.classIndex]
        return members[rng.nextIndex(below: members.count)]
      }
    }
  }
}
