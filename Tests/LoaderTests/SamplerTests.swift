import Loader
import XCTest

/// Invariants 2 and 4 of DESIGN.md: equal steps on every rank, and draws with the class
/// distribution each sampler promises, for world sizes 1…4.
final class SamplerTests: XCTestCase {
  /// The exp-100 Fashion-MNIST-LT counts.
  static let counts = [5900, 3536, 2120, 1271, 762, 456, 273, 164, 98, 59]

  /// Labels with those counts, interleaved as a real file would be, in 1×1 "images".
  private let training: LabeledImages = {
    var labels: [Int32] = []
    var remaining = SamplerTests.counts
    while remaining.contains(where: { $0 > 0 }) {
      for c in remaining.indices where remaining[c] > 0 {
        labels.append(Int32(c))
        remaining[c] -= 1
      }
    }
    return LabeledImages(
      channels: 1, height: 1, width: 1, classNames: (0..<10).map { "class\($0)" },
      pixels: [UInt8](repeating: 0, count: labels.count), labels: labels)
  }()

  /// Every rank's stream over `images` cut into `shards` stratified shards, as `pack` cuts them.
  private func streams(
    of images: LabeledImages, ranks: Int, sampler: SamplerOptions, batch: Int = 128, shards: Int = 12,
    seed: UInt64 = 42, epochSize: Int? = nil,
    normalization: Normalization = Normalization(mean: [0], std: [1]),
    laterSampler: (fromEpoch: Int, kind: SamplerKind)? = nil
  ) throws -> [TrainingStream] {
    let parts = StratifiedPartitioning.indices(
      labels: images.labels, classes: images.classCount, partitions: shards)
    let shardImages = parts.map { images.subset($0) }
    let scheme = SamplingScheme(
      options: sampler, globalCounts: images.classCounts, shardCounts: shardImages.map(\.classCounts),
      laterSampler: laterSampler)
    let plan = try EpochPlan(
      epochSize: epochSize ?? scheme.defaultEpochSize, globalBatch: batch, shards: shards, ranks: ranks,
      drawLimits: scheme.drawLimits)
    return (0..<ranks).map { rank in
      let owned = ShardAssignment.owned(byRank: rank, of: ranks, shards: shards)
      return TrainingStream(
        shards: owned.map { (index: $0, store: RecordStore(images: shardImages[$0])) }, scheme: scheme,
        plan: plan, seed: seed,
        normalization: normalization)
    }
  }

  private func unionCounts(_ streams: [TrainingStream], epoch: Int = 0) -> [Int] {
    var counts = [Int](repeating: 0, count: 10)
    for stream in streams {
      stream.startEpoch(epoch)
      for label in stream.epochLabels { counts[Int(label)] += 1 }
    }
    return counts
  }

  private func options(_ kind: SamplerKind, threshold: Int? = nil, stage1: Int = 1) -> SamplerOptions {
    var options = SamplerOptions(kind: kind)
    options.undersampleThreshold = threshold
    options.stage1Epochs = stage1
    return options
  }

  /// The union over ranks of one epoch's draws matches the scheme's target distribution:
  /// every class share within 15% (relative) of the target, plus 3 images of slack for the
  /// smallest expectations. About 14,600 draws: a binomial share of 1/10 has a standard
  /// deviation near 2.5% (relative), so 15% is six deviations.
  func testEveryWeightedSamplerMatchesItsTargetFor1To4Ranks() throws {
    for kind in [SamplerKind.uniform, .oversample, .invLog, .sqrt, .effective] {
      for ranks in [1, 2, 4] {
        let all = try streams(of: training, ranks: ranks, sampler: options(kind))
        let counts = unionCounts(all)
        let total = Double(counts.reduce(0, +))
        let target = all[0].scheme.target(epoch: 0)
        for c in 0..<10 {
          let expected = target[c] * total
          XCTAssertEqual(
            Double(counts[c]), expected, accuracy: 0.15 * expected + 3,
            "\(kind) ranks \(ranks) class \(c): \(counts)")
        }
      }
    }
  }

  /// Targets by hand: `uniform` ∝ n_c; `oversample` 1/K; `sqrt` ∝ √n_c;
  /// `inv-log` ∝ n_c / ln(1 + n_c).
  func testTargetDistributions() {
    func target(_ kind: SamplerKind) -> [Double] {
      SamplingScheme(options: options(kind), globalCounts: [100, 25, 4], shardCounts: [[100, 25, 4]]).target(
        epoch: 0)
    }
    XCTAssertEqual(target(.uniform), [100.0 / 129, 25.0 / 129, 4.0 / 129])
    for share in target(.oversample) { XCTAssertEqual(share, 1.0 / 3, accuracy: 1e-12) }
    let sqrt = target(.sqrt)
    XCTAssertEqual(sqrt[0], 10.0 / 17, accuracy: 1e-12)
    XCTAssertEqual(sqrt[2], 2.0 / 17, accuracy: 1e-12)
    let invLog = [100.0, 25, 4].map { $0 / log(1 + $0) }
    for (share, raw) in zip(target(.invLog), invLog) {
      XCTAssertEqual(share, raw / invLog.reduce(0, +), accuracy: 1e-12)
    }
  }

  /// `under-over` with T = 500: per epoch no class is drawn more than T times (the large classes
  /// are cut to T without repeats), and the small ones are all drawn, topped up to T.
  func testUnderOverNeverExceedsTheThresholdAndBalances() throws {
    for ranks in [1, 2, 4] {
      let all = try streams(of: training, ranks: ranks, sampler: options(.underOver, threshold: 500))
      // An epoch is K·T = 5,000 images, cut further so that no shard is asked for more than its
      // quotas hold (12 shards of about 417 images, 8 of them giving 11 per step: ⌊417/11⌋ = 37–38).
      let steps = all[0].plan.stepsPerEpoch
      XCTAssertLessThanOrEqual(steps, 5000 / 128)
      XCTAssertGreaterThanOrEqual(steps, 37)
      let counts = unionCounts(all, epoch: 2)
      for c in 0..<10 {
        XCTAssertLessThanOrEqual(counts[c], 500, "ranks \(ranks) class \(c): \(counts)")
        XCTAssertGreaterThanOrEqual(counts[c], 450, "ranks \(ranks) class \(c): \(counts)")
      }
    }
  }

  /// Classes above T are drawn without replacement: no image of class 0 repeats in an epoch.
  func testUnderOverUndersamplesWithoutReplacement() throws {
    let indexed = LabeledImages(
      channels: 1, height: 1, width: 2, classNames: training.classNames,
      pixels: (0..<training.count).flatMap { [UInt8($0 / 256), UInt8($0 % 256)] }, labels: training.labels)
    let stream = try streams(
      of: indexed, ranks: 1, sampler: options(.underOver, threshold: 500), batch: 100,
      normalization: Normalization(mean: [0], std: [1 / 255]))[0]
    stream.startEpoch(0)
    var pixels = [Float](repeating: 0, count: 2 * stream.localBatch)
    var labels = [Int32](repeating: 0, count: stream.localBatch)
    var seen = Set<Int>()
    for step in 0..<stream.plan.stepsPerEpoch {
      try pixels.withUnsafeMutableBufferPointer { p in
        try labels.withUnsafeMutableBufferPointer {
          try stream.batch(step: step, pixels: p.baseAddress!, labels: $0.baseAddress!)
        }
      }
      for i in 0..<stream.localBatch where labels[i] == 0 {
        XCTAssertTrue(
          seen.insert(Int(pixels[2 * i]) * 256 + Int(pixels[2 * i + 1])).inserted, "an image repeated")
      }
    }
    XCTAssertGreaterThan(seen.count, 400)
  }

  /// `two-stage` draws class-balanced for `--stage1-epochs` epochs, then the natural distribution.
  func testTwoStageSwitchesAtTheRightEpoch() throws {
    let all = try streams(of: training, ranks: 2, sampler: options(.twoStage, stage1: 2))
    let scheme = all[0].scheme
    XCTAssertEqual(scheme.rule(epoch: 1, shard: 0), scheme.rule(epoch: 0, shard: 0))
    XCTAssertEqual(scheme.rule(epoch: 2, shard: 0), .shuffle)
    let balanced = unionCounts(all, epoch: 1)
    let natural = unionCounts(all, epoch: 2)
    XCTAssertLessThan(Double(balanced.max()!) / Double(balanced.min()!), 1.5, "\(balanced)")
    XCTAssertGreaterThan(Double(natural.max()!) / Double(natural.min()!), 50, "\(natural)")
  }

  /// cRT's stage: from its first epoch on, every sampler draws class-balanced batches (the
  /// union over 1 or 3 ranks), and before it draws as its kind says; weight balancing's stage
  /// draws the natural distribution after a balanced first stage.
  func testClassifierStagesReplaceTheSampler() throws {
    let natural = try streams(
      of: training, ranks: 2, sampler: options(.oversample), laterSampler: (fromEpoch: 1, kind: .uniform))
    XCTAssertEqual(natural[0].scheme.rule(epoch: 1, shard: 0), .shuffle)
    let skew = unionCounts(natural, epoch: 1)
    XCTAssertGreaterThan(Double(skew.max()!) / Double(skew.min()!), 50, "\(skew)")
    for (kind, ranks) in [(SamplerKind.uniform, 1), (.sqrt, 3), (.underOver, 2)] {
      let all = try streams(
        of: training, ranks: ranks, sampler: options(kind, threshold: 200),
        laterSampler: (fromEpoch: 2, kind: .oversample))
      let before = unionCounts(all, epoch: 1)
      let after = unionCounts(all, epoch: 2)
      let plain = try streams(of: training, ranks: ranks, sampler: options(kind, threshold: 200))[0].scheme
      XCTAssertEqual(all[0].scheme.rule(epoch: 1, shard: 0), plain.rule(epoch: 1, shard: 0))
      XCTAssertEqual(
        all[0].scheme.rule(epoch: 2, shard: 0),
        .weighted(classWeights: training.classCounts.map { 1 / Double($0) }))
      XCTAssertLessThan(Double(after.max()!) / Double(after.min()!), 1.5, "\(kind): \(after)")
      if kind != .underOver {
        XCTAssertGreaterThan(Double(before.max()!) / Double(before.min()!), 5, "\(kind): \(before)")
      }
    }
  }

  func testStepsAndBatchesAreEqualOnEveryRankFor1To4Ranks() throws {
    for kind in SamplerKind.allCases {
      for ranks in 1...4 {
        let all = try streams(of: training, ranks: ranks, sampler: options(kind, threshold: 300), batch: 120)
        XCTAssertEqual(Set(all.map(\.plan.stepsPerEpoch)).count, 1, "\(kind) ranks \(ranks)")
        XCTAssertEqual(all.map(\.localBatch).reduce(0, +), 120, "\(kind) ranks \(ranks)")
        for stream in all {
          stream.startEpoch(3)
          XCTAssertEqual(
            stream.epochLabels.count, stream.plan.stepsPerEpoch * stream.localBatch, "\(kind) ranks \(ranks)")
        }
      }
    }
  }

  /// The union of a step's draws is the same multiset of images whatever the rank count
  /// (sampling streams are keyed by shard, not rank): the basis of rank-count invariance.
  func testUnionOfDrawsDoesNotDependOnTheRankCount() throws {
    let indexed = LabeledImages(
      channels: 1, height: 1, width: 1, classNames: training.classNames,
      pixels: (0..<training.count).map { UInt8($0 % 251) }, labels: training.labels)
    for kind in [SamplerKind.oversample, .underOver, .uniform] {
      func stepBatches(_ ranks: Int) throws -> [[Float]] {
        let all = try streams(
          of: indexed, ranks: ranks, sampler: options(kind, threshold: 400), batch: 96, seed: 3,
          normalization: Normalization(mean: [0], std: [1 / 255]))
        for stream in all { stream.startEpoch(1) }
        return try (0..<5).map { step in
          try all.flatMap { stream -> [Float] in
            var pixels = [Float](repeating: 0, count: stream.localBatch)
            var labels = [Int32](repeating: 0, count: stream.localBatch)
            try pixels.withUnsafeMutableBufferPointer { p in
              try labels.withUnsafeMutableBufferPointer {
                try stream.batch(step: step, pixels: p.baseAddress!, labels: $0.baseAddress!)
              }
            }
            return zip(pixels, labels).map { $0 * 1000 + Float($1) }
          }.sorted()
        }
      }
      let one = try stepBatches(1)
      for ranks in [2, 3, 4] { XCTAssertEqual(try stepBatches(ranks), one, "\(kind) ranks \(ranks)") }
    }
  }

  func testDifferentEpochsDrawDifferently() throws {
    let stream = try streams(of: training, ranks: 1, sampler: options(.uniform))[0]
    stream.startEpoch(0)
    let first = stream.epochLabels
    stream.startEpoch(1)
    XCTAssertNotEqual(stream.epochLabels, first)
    stream.startEpoch(0)
    XCTAssertEqual(stream.epochLabels, first, "same seed and epoch, same draws")
  }

  func testStratifiedPartitionsHoldEqualClassProportions() {
    let parts = StratifiedPartitioning.indices(labels: training.labels, classes: 10, partitions: 7)
    XCTAssertEqual(parts.flatMap { $0 }.sorted(), Array(0..<training.count), "disjoint and covering")
    for c in 0..<10 {
      let perShard = parts.map { part in part.filter { training.labels[$0] == Int32(c) }.count }
      XCTAssertLessThanOrEqual(perShard.max()! - perShard.min()!, 1, "class \(c)")
    }
  }

  func testPlanErrors() {
    XCTAssertThrowsError(try EpochPlan(epochSize: 1000, globalBatch: 64, shards: 2, ranks: 3)) {
      XCTAssertEqual($0 as? PlanError, .tooFewShards(shards: 2, ranks: 3))
      XCTAssertEqual(
        "\($0)",
        "3 ranks need at least 3 training shards, but the dataset has 2: pack it again with --shards 3 or more"
      )
    }
    XCTAssertThrowsError(try EpochPlan(epochSize: 10, globalBatch: 64, shards: 8, ranks: 1)) {
      XCTAssertEqual($0 as? PlanError, .epochTooShort(epochSize: 10, globalBatch: 64))
    }
    XCTAssertThrowsError(try EpochPlan(epochSize: 100, globalBatch: 2, shards: 8, ranks: 4)) {
      XCTAssertEqual($0 as? PlanError, .batchTooSmall(globalBatch: 2, ranks: 4))
    }
    XCTAssertThrowsError(
      try EpochPlan(epochSize: 1000, globalBatch: 64, shards: 2, ranks: 1, drawLimits: [10, 40])
    ) {
      XCTAssertEqual($0 as? PlanError, .quotaTooSmall(globalBatch: 64))
    }
  }
}
