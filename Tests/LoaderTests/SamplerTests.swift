import Loader
import XCTest

/// Invariants 2 and 4 of DESIGN.md: equal steps on every rank, and draws with the class
/// distribution the sampler promises, for world sizes 1…4.
final class SamplerTests: XCTestCase {
  /// Labels with the exp-100 Fashion-MNIST-LT counts, 1×1 "images" (pixels do not matter here).
  private let training: LabeledImages = {
    let counts = [5900, 3536, 2120, 1271, 762, 456, 273, 164, 98, 59]
    var labels: [Int32] = []
    // Interleave classes as a real file would, rather than in blocks.
    var remaining = counts
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
    of images: LabeledImages, ranks: Int, sampler: SamplerKind, batch: Int, shards: Int, seed: UInt64,
    normalization: Normalization = Normalization(mean: [0], std: [1])
  ) throws -> [TrainingStream] {
    let plan = try EpochPlan(epochSize: images.count, globalBatch: batch, shards: shards, ranks: ranks)
    let parts = StratifiedPartitioning.indices(
      labels: images.labels, classes: images.classCount, partitions: shards)
    return (0..<ranks).map { rank in
      let owned = ShardAssignment.owned(byRank: rank, of: ranks, shards: shards)
      return TrainingStream(
        shards: owned.map { (index: $0, images: images.subset(parts[$0])) },
        globalClassCounts: images.classCounts,
        plan: plan, sampler: sampler, seed: seed, normalization: normalization)
    }
  }

  private func streams(ranks: Int, sampler: SamplerKind, batch: Int = 128) throws -> [TrainingStream] {
    try streams(of: training, ranks: ranks, sampler: sampler, batch: batch, shards: 12, seed: 42)
  }

  private func unionCounts(_ streams: [TrainingStream], epoch: Int = 0) -> [Int] {
    var counts = [Int](repeating: 0, count: 10)
    for stream in streams {
      stream.startEpoch(epoch)
      for label in stream.epochLabels { counts[Int(label)] += 1 }
    }
    return counts
  }

  func testStepsAndBatchesAreEqualOnEveryRankFor1To4Ranks() throws {
    for ranks in 1...4 {
      let all = try streams(ranks: ranks, sampler: .oversample, batch: 120)
      let steps = Set(all.map(\.plan.stepsPerEpoch))
      XCTAssertEqual(steps, [training.count / 120], "ranks \(ranks)")
      XCTAssertEqual(all.map(\.localBatch).reduce(0, +), 120, "ranks \(ranks)")
      for stream in all {
        stream.startEpoch(0)
        XCTAssertEqual(
          stream.epochLabels.count, stream.plan.stepsPerEpoch * stream.localBatch, "ranks \(ranks)")
      }
    }
  }

  /// Under `oversample` every class is drawn 1/10 of the time: within ±15% of uniform (the
  /// issue's bound; the binomial standard deviation here is about 2.5%).
  func testOversampleUnionIsClassBalanced() throws {
    for ranks in [1, 2, 3, 4] {
      let counts = unionCounts(try streams(ranks: ranks, sampler: .oversample))
      let expected = Double(counts.reduce(0, +)) / 10
      for (c, count) in counts.enumerated() {
        XCTAssertEqual(Double(count), expected, accuracy: 0.15 * expected, "ranks \(ranks), class \(c)")
      }
    }
  }

  /// Under `uniform` the draws follow the training counts: each class within 2% of its share
  /// (an epoch drops the last partial batch, and partitions cycle by at most a few images).
  func testUniformUnionMatchesTrainingCounts() throws {
    let trainingCounts = training.classCounts
    for ranks in [1, 2, 4] {
      let counts = unionCounts(try streams(ranks: ranks, sampler: .uniform))
      let scale = Double(counts.reduce(0, +)) / Double(training.count)
      for c in 0..<10 {
        let expected = Double(trainingCounts[c]) * scale
        XCTAssertEqual(
          Double(counts[c]), expected, accuracy: max(0.02 * expected, 3), "ranks \(ranks), class \(c)")
      }
    }
  }

  /// The union of a step's draws is the same multiset of images whatever the rank count
  /// (sampling streams are keyed by shard, not rank): the basis of rank-count invariance.
  func testUnionOfDrawsDoesNotDependOnTheRankCount() throws {
    func stepBatches(_ ranks: Int) throws -> [[Float]] {
      // Pixels carry the image index so that draws can be compared as images, not labels.
      let indexed = LabeledImages(
        channels: 1, height: 1, width: 1, classNames: training.classNames,
        pixels: (0..<training.count).map { UInt8($0 % 251) }, labels: training.labels)
      let all = try streams(
        of: indexed, ranks: ranks, sampler: .oversample, batch: 96, shards: 12, seed: 3,
        normalization: Normalization(mean: [0], std: [1 / 255]))
      for stream in all { stream.startEpoch(1) }
      return (0..<5).map { step in
        all.flatMap { stream -> [Float] in
          var pixels = [Float](repeating: 0, count: stream.localBatch)
          var labels = [Int32](repeating: 0, count: stream.localBatch)
          pixels.withUnsafeMutableBufferPointer { p in
            labels.withUnsafeMutableBufferPointer {
              stream.batch(step: step, pixels: p.baseAddress!, labels: $0.baseAddress!)
            }
          }
          return zip(pixels, labels).map { $0 * 1000 + Float($1) }
        }.sorted()
      }
    }
    let one = try stepBatches(1)
    for ranks in [2, 3, 4] { XCTAssertEqual(try stepBatches(ranks), one, "ranks \(ranks)") }
  }

  func testDifferentEpochsDrawDifferently() throws {
    let stream = try streams(ranks: 1, sampler: .uniform)[0]
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
  }
}
