import Foundation

/// How training images are drawn (`--sampler`).
public enum SamplerKind: String, CaseIterable, Codable, Sendable {
  /// Every image of a shard once per pass, in a fresh random order (a shuffle).
  case uniform
  /// With replacement, per-image weight `1/n_c` (PyTorch's `WeightedRandomSampler` with
  /// inverse-frequency weights): every class equally often.
  case oversample
  /// With replacement, per-image weight `1/ln(1 + n_c)` (natural log; `+1` keeps a class of one
  /// image finite): class frequencies ∝ `n_c / ln(1 + n_c)`.
  case invLog = "inv-log"
  /// With replacement, per-image weight `1/√n_c`: class frequencies ∝ `√n_c`.
  case sqrt
  /// With replacement, per-image weight `(1 − β)/(1 − β^{n_c})` (Cui et al. 2019): class
  /// frequencies ∝ `n_c / E_{n_c}`.
  case effective
  /// Every class exactly `T` times per epoch: classes above `T` undersampled without
  /// replacement, the others kept whole and topped up with replacement (imbalanced-learn's
  /// RandomUnderSampler + RandomOverSampler).
  case underOver = "under-over"
  /// Class-balanced (as `oversample`) for the first `--stage1-epochs` epochs, then `uniform`.
  case twoStage = "two-stage"
}

/// The sampler's settings.
public struct SamplerOptions: Codable, Sendable, Equatable {
  public var kind: SamplerKind = .oversample
  /// β of the `effective` sampler.
  public var beta = 0.9999
  /// `T` of `under-over`.
  public var undersampleThreshold: Int?
  /// Balanced epochs of `two-stage`.
  public var stage1Epochs = 1

  public init(kind: SamplerKind = .oversample) { self.kind = kind }
}

/// How one shard draws its images in one epoch.
public enum DrawRule: Equatable, Sendable {
  /// Successive shuffles of the shard.
  case shuffle
  /// With replacement; an image of class c has weight `classWeights[c]`.
  case weighted(classWeights: [Double])
  /// Exactly `quotas[c]` images of class c (then shuffled and cut to the epoch's length):
  /// without replacement where `undersampled[c]`, else every image once plus random repeats.
  case quota(quotas: [Int], undersampled: [Bool])
}

/// The sampler worked out from the manifest's numbers alone (global and per-shard class
/// counts), so that every rank derives the same rules, quotas and step count.
public struct SamplingScheme: Sendable {
  public let options: SamplerOptions
  public let globalCounts: [Int]
  public let shardCounts: [[Int]]
  /// `under-over` only: per shard, per class, that shard's part of `T`.
  private let quotas: [[Int]]?
  /// The sampler of a classifier stage (cRT's `oversample`, weight balancing's `uniform`) and
  /// the 0-based epoch from which it replaces `options.kind`.
  public let laterSampler: (fromEpoch: Int, kind: SamplerKind)?

  public init(
    options: SamplerOptions, globalCounts: [Int], shardCounts: [[Int]],
    laterSampler: (fromEpoch: Int, kind: SamplerKind)? = nil
  ) {
    precondition(laterSampler.map { [.uniform, .oversample].contains($0.kind) } ?? true)
    self.options = options
    self.laterSampler = laterSampler
    self.globalCounts = globalCounts
    self.shardCounts = shardCounts
    if options.kind == .underOver {
      let threshold = options.undersampleThreshold ?? 0
      quotas = SamplingScheme.splitQuotas(
        threshold: threshold, globalCounts: globalCounts, shardCounts: shardCounts)
    } else {
      quotas = nil
    }
  }

  /// Images per epoch when `--epoch-size` is not given: the training split's size, or `K·T`
  /// for `under-over`.
  public var defaultEpochSize: Int {
    options.kind == .underOver
      ? globalCounts.count * (options.undersampleThreshold ?? 0) : globalCounts.reduce(0, +)
  }

  /// `under-over`: how many images each shard can give per epoch without exceeding a quota.
  public var drawLimits: [Int]? { quotas?.map { $0.reduce(0, +) } }

  public func rule(epoch: Int, shard: Int) -> DrawRule {
    if let later = laterSampler, epoch >= later.fromEpoch {
      return rule(of: later.kind, epoch: epoch, shard: shard)
    }
    return rule(of: options.kind, epoch: epoch, shard: shard)
  }

  private func rule(of kind: SamplerKind, epoch: Int, shard: Int) -> DrawRule {
    let counts = globalCounts.map(Double.init)
    switch kind {
    case .uniform:
      return .shuffle
    case .oversample:
      return .weighted(classWeights: counts.map { 1 / $0 })
    case .invLog:
      return .weighted(classWeights: counts.map { 1 / Foundation.log(1 + $0) })
    case .sqrt:
      return .weighted(classWeights: counts.map { 1 / $0.squareRoot() })
    case .effective:
      return .weighted(
        classWeights: globalCounts.map { (1 - options.beta) / (1 - pow(options.beta, Double($0))) })
    case .underOver:
      let threshold = options.undersampleThreshold ?? 0
      return .quota(quotas: quotas![shard], undersampled: globalCounts.map { $0 > threshold })
    case .twoStage:
      return epoch < options.stage1Epochs ? .weighted(classWeights: counts.map { 1 / $0 }) : .shuffle
    }
  }

  /// The class distribution that the union of all ranks' draws in `epoch` converges to.
  public func target(epoch: Int) -> [Double] {
    let shares: [Double]
    switch rule(epoch: epoch, shard: 0) {
    case .shuffle:
      shares = globalCounts.map(Double.init)
    case .weighted(let weights):
      shares = zip(globalCounts, weights).map { Double($0) * $1 }
    case .quota:
      shares = globalCounts.map { $0 > 0 ? 1 : 0 }
    }
    let total = shares.reduce(0, +)
    return shares.map { $0 / total }
  }

  /// Splits `T` of every class over the shards in proportion to their images of that class,
  /// by largest remainder, so the shards' quotas of a class add up to exactly `T`.
  static func splitQuotas(threshold: Int, globalCounts: [Int], shardCounts: [[Int]]) -> [[Int]] {
    var quotas = shardCounts.map { [Int](repeating: 0, count: $0.count) }
    for c in globalCounts.indices where globalCounts[c] > 0 {
      let exact = shardCounts.map { Double(threshold) * Double($0[c]) / Double(globalCounts[c]) }
      var given = 0
      for p in exact.indices {
        quotas[p][c] = Int(exact[p].rounded(.down))
        given += quotas[p][c]
      }
      let byRemainder = exact.indices.sorted { a, b in
        let (ra, rb) = (exact[a] - exact[a].rounded(.down), exact[b] - exact[b].rounded(.down))
        return ra != rb ? ra > rb : a < b
      }
      for p in byRemainder.prefix(threshold - given) { quotas[p][c] += 1 }
    }
    return quotas
  }
}
