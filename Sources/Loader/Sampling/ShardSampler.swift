import PRNG

/// Draws the images one training shard contributes to an epoch, from a random stream seeded
/// by `(seed, epoch, shard)` alone, so the draws are the same whichever rank owns the shard.
public struct ShardSampler: Sendable {
  public let shard: Int
  public let seed: UInt64
  private let byClass: [[Int]]
  private let poolSize: Int

  /// `labels` are the shard's own images, `classes` the number of classes.
  public init(labels: [Int32], classes: Int, shard: Int, seed: UInt64) {
    self.shard = shard
    self.seed = seed
    poolSize = labels.count
    var byClass = [[Int]](repeating: [], count: classes)
    for (index, label) in labels.enumerated() { byClass[Int(label)].append(index) }
    self.byClass = byClass
  }

  /// `count` indices into the shard's images for `epoch`, following `rule`.
  public func draws(rule: DrawRule, epoch: Int, count: Int) -> [Int] {
    guard count > 0, poolSize > 0 else { return [] }
    var rng = Xoshiro256(seed: seed, stream: [UInt64(epoch), UInt64(shard), 0x5A3])
    switch rule {
    case .shuffle:
      var result: [Int] = []
      result.reserveCapacity(count)
      while result.count < count {
        var pass = Array(0..<poolSize)
        pass.shuffle(using: &rng)
        result += pass.prefix(count - result.count)
      }
      return result
    case .weighted(let classWeights):
      // Class c is drawn with probability ∝ weight_c × (its images here), then one of them.
      var running = 0.0
      let cumulative = byClass.indices.compactMap { c -> (classIndex: Int, upTo: Double)? in
        guard !byClass[c].isEmpty, classWeights[c] > 0 else { return nil }
        running += classWeights[c] * Double(byClass[c].count)
        return (c, running)
      }
      guard let total = cumulative.last?.upTo else { return [] }
      return (0..<count).map { _ in
        let u = rng.nextUnitDouble() * total
        let pick = cumulative.first { u < $0.upTo } ?? cumulative.last!
        let members = byClass[pick.classIndex]
        return members[rng.nextIndex(below: members.count)]
      }
    case .quota(let quotas, let undersampled):
      var chosen: [Int] = []
      for (c, members) in byClass.enumerated() where !members.isEmpty && quotas[c] > 0 {
        if undersampled[c] {
          chosen += members.shuffled(using: &rng).prefix(quotas[c])
        } else {
          for i in 0..<quotas[c] {
            chosen.append(i < members.count ? members[i] : members[rng.nextIndex(below: members.count)])
          }
        }
      }
      chosen.shuffle(using: &rng)
      return Array(chosen.prefix(count))
    }
  }
}
