import Foundation
import Loader
import XCTest

/// The streamed loader: records read from shard files one by one, kept in memory only within
/// the budget, batches filled by worker threads ahead of the caller. None of that may change a
/// single trained pixel.
final class StreamingLoaderTests: XCTestCase {
  private var directory: URL!
  private let images = Fixtures.photoLikeImages(count: 96, channels: 3, side: 8)
  private let shardCount = 4

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory("streaming-tests") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// The images cut into stratified shards, as `pack` cuts a split.
  private var shardImages: [LabeledImages] {
    StratifiedPartitioning.indices(labels: images.labels, classes: 2, partitions: shardCount).map {
      images.subset($0)
    }
  }

  /// Writes the shards with `encoding` and returns their paths.
  private func writeShards(_ encoding: RecordEncoding) throws -> [String] {
    try shardImages.enumerated().map { index, shard in
      let path = directory.appendingPathComponent("\(encoding)-\(index).imbs").path
      let (bytes, _) = try ShardWriter.encode(shard, encoding: encoding, zstdLevel: 3)
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      return path
    }
  }

  private func store(_ path: String, encoding: RecordEncoding, budget: inout Int) throws -> RecordStore {
    try RecordStore(
      shards: [try ShardFile(path: path)], shape: Manifest.Image(channels: 3, height: 8, width: 8),
      classNames: ["a", "b"], encoding: encoding, budget: &budget)
  }

  private var standard: Augmentation {
    var augmentation = Augmentation()
    (augmentation.cropPadding, augmentation.horizontalFlip, augmentation.cutout) = (2, true, 3)
    (augmentation.brightness, augmentation.contrast, augmentation.saturation) = (0.4, 0.4, 0.4)
    return augmentation
  }

  /// Every step of epochs 0 and 1 over all ranks: each image's pixels followed by its label
  /// (and with mixing its partner's label and its own label's weight), sorted (ranks own
  /// different shards, so they hold a step's images in another order).
  private func batches(
    ranks: Int, threads: Int, augmentation: Augmentation, mixing: Mixing = Mixing(),
    shard: (Int) throws -> RecordStore
  ) throws -> [[[Float]]] {
    let stores = try (0..<shardCount).map(shard)
    let scheme = SamplingScheme(
      options: SamplerOptions(kind: .oversample), globalCounts: images.classCounts,
      shardCounts: shardImages.map(\.classCounts))
    let plan = try EpochPlan(epochSize: 64, globalBatch: 16, shards: shardCount, ranks: ranks)
    let streams = (0..<ranks).map { rank in
      TrainingStream(
        shards: ShardAssignment.owned(byRank: rank, of: ranks, shards: shardCount).map { ($0, stores[$0]) },
        scheme: scheme, plan: plan, seed: 11,
        normalization: Normalization(mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3]),
        augmentation: augmentation, mixing: mixing,
        loaderThreads: threads)
    }
    var all: [[[Float]]] = []
    let size = images.imageSize
    for epoch in 0..<2 {
      for stream in streams { stream.startEpoch(epoch) }
      for step in 0..<plan.stepsPerEpoch {
        let step = try streams.flatMap { stream -> [[Float]] in
          var pixels = [Float](repeating: .nan, count: stream.localBatch * size)
          var labels = [Int32](repeating: -1, count: stream.localBatch)
          try stream.batch(step: step, pixels: &pixels, labels: &labels)
          let pairing = stream.pairing(step: step)
          XCTAssertEqual(pairing == nil, !mixing.mixes)
          return labels.indices.map { i in
            Array(pixels[(i * size)..<((i + 1) * size)]) + [Float(labels[i])]
              + (pairing.map { [Float($0.partners[i]), $0.weights[i]] } ?? [])
          }
        }
        all.append(step.sorted { $0.lexicographicallyPrecedes($1) })
      }
    }
    return all
  }

  /// Issue 15's exactness: in-memory images on the caller's thread are the reference; records
  /// streamed from disk with no memory budget, or half of them in memory, on 1 or 3 threads, on
  /// 1, 2 or 4 ranks, and PNG records, give the identical augmented batches, bit for bit.
  func testThreadsRanksBudgetAndEncodingDoNotChangeABatch() throws {
    let shards = shardImages
    let raw = try writeShards(.raw)
    let png = try writeShards(.png)
    for augmentation in [Augmentation(), standard] {
      let reference = try batches(ranks: 1, threads: 0, augmentation: augmentation) {
        RecordStore(images: shards[$0])
      }
      XCTAssertEqual(reference.count, 8)
      XCTAssertFalse(reference.joined().joined().contains { $0.isNaN })
      for (ranks, threads) in [(1, 1), (2, 3), (4, 1), (4, 3)] {
        var budget = 0
        let streamed = try batches(ranks: ranks, threads: threads, augmentation: augmentation) {
          try self.store(raw[$0], encoding: .raw, budget: &budget)
        }
        XCTAssertEqual(streamed, reference, "\(ranks) ranks, \(threads) threads, from disk")
      }
      var half = shards.reduce(0) { $0 + $1.pixels.count } / 2
      XCTAssertEqual(
        try batches(ranks: 2, threads: 3, augmentation: augmentation) {
          try self.store(raw[$0], encoding: .raw, budget: &half)
        }, reference, "half the records in memory")
      var none = 0
      XCTAssertEqual(
        try batches(ranks: 2, threads: 1, augmentation: augmentation) {
          try self.store(png[$0], encoding: .png, budget: &none)
        }, reference, "PNG records")
    }
  }

  /// Mixed batches (mixup, CutMix, Remix on augmented images) are the same bit for bit — pixels,
  /// partners and label weights — on 1, 2 and 4 ranks and any number of loader threads, and they
  /// differ from the unmixed batches.
  func testMixedBatchesDoNotDependOnRanksOrThreads() throws {
    let shards = shardImages
    let unmixed = try batches(ranks: 1, threads: 0, augmentation: standard) {
      RecordStore(images: shards[$0])
    }
    for kind in [Mixing.Kind.mixup, .cutmix, .remix] {
      let mixing = Mixing(kind: kind, alpha: 0.4)
      let reference = try batches(ranks: 1, threads: 0, augmentation: standard, mixing: mixing) {
        RecordStore(images: shards[$0])
      }
      for (ranks, threads) in [(2, 1), (4, 0), (4, 3)] {
        XCTAssertEqual(
          try batches(ranks: ranks, threads: threads, augmentation: standard, mixing: mixing) {
            RecordStore(images: shards[$0])
          }, reference, "\(kind): \(ranks) ranks, \(threads) threads")
      }
      XCTAssertNotEqual(reference.map { $0.map { Array($0.dropLast(2)) } }, unmixed, "\(kind) mixed nothing")
    }
  }

  /// A budget keeps the first records that fit, and is reduced by exactly their bytes; records
  /// beyond it are still read, from the file.
  func testTheBudgetKeepsTheFirstRecordsThatFit() throws {
    let path = try writeShards(.raw)[0]
    var budget = 10 * images.imageSize + 5
    let store = try store(path, encoding: .raw, budget: &budget)
    XCTAssertEqual(store.residentCount, 10)
    XCTAssertEqual(store.residentBytes, 10 * images.imageSize)
    XCTAssertEqual(budget, 5)
    let expected = shardImages[0]
    let reader = RecordReader()
    var pixels = [UInt8](repeating: 0, count: images.imageSize)
    for index in [0, 9, 10, store.count - 1] {
      try store.pixels(index, into: &pixels, reader: reader)
      XCTAssertEqual(
        pixels, Array(expected.pixels[(index * images.imageSize)..<((index + 1) * images.imageSize)]),
        "\(index)")
    }
  }

  /// Records damaged on disk stop the batch that draws one with an error naming the shard and
  /// the record, on the loader's threads as on the caller's.
  func testACorruptRecordNamesItsShard() throws {
    let paths = try writeShards(.raw)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: paths[0])))
    for record in try ShardReader.header(at: paths[0]).records {
      bytes[record.offset + record.storedSize / 2] ^= 0x10
    }
    try Data(bytes).write(to: URL(fileURLWithPath: paths[0]))
    for threads in [0, 2] {
      XCTAssertThrowsError(
        try batches(ranks: 1, threads: threads, augmentation: Augmentation()) {
          var none = 0
          return try self.store(paths[$0], encoding: .raw, budget: &none)
        }
      ) { error in
        guard case .corruptRecord(paths[0], _, _) = error as? ShardError else { return XCTFail("\(error)") }
      }
    }
  }
}
