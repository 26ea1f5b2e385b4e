import Foundation
import Loader
import XCTest

/// Label masks move with their images: the same crop, flip and resized crop (masks by nearest
/// neighbour, padding labelled ignore), through the training stream on any number of ranks,
/// threads, memory budget and encoding.
final class MaskAugmentationTests: XCTestCase {
  private let side = 15

  /// A 2-channel image whose pixels say where they come from (`8x + 8`, `8y + 8`: 0 only in
  /// padding), and a mask naming each pixel `x + 15y`.
  private var positions: (image: [UInt8], mask: [UInt8]) {
    let plane = side * side
    var image = [UInt8](repeating: 0, count: 2 * plane)
    var mask = [UInt8](repeating: 0, count: plane)
    for y in 0..<side {
      for x in 0..<side {
        image[y * side + x] = UInt8(8 * x + 8)
        image[plane + y * side + x] = UInt8(8 * y + 8)
        mask[y * side + x] = UInt8(x + side * y)
      }
    }
    return (image, mask)
  }

  private func transformed(_ augmentation: Augmentation, draw index: Int) -> (image: [UInt8], mask: [UInt8]) {
    let (image, mask) = positions
    let draw = augmentation.draw(seed: 3, epoch: 0, shard: 0, draw: index, height: side, width: side)
    var (outImage, outMask) = (
      [UInt8](repeating: 0, count: image.count), [UInt8](repeating: 0, count: mask.count)
    )
    Augmentation.transform(
      image, into: &outImage, channels: 2, height: side, width: side, padding: augmentation.cropPadding,
      draw: draw)
    Augmentation.transformMask(
      mask, into: &outMask, height: side, width: side, padding: augmentation.cropPadding, draw: draw,
      fill: 255)
    return (outImage, outMask)
  }

  func testTheMaskFollowsCropAndFlipExactly() {
    var augmentation = Augmentation()
    (augmentation.cropPadding, augmentation.horizontalFlip) = (4, true)
    var (padded, flipped) = (0, 0)
    for index in 0..<100 {
      let (image, mask) = transformed(augmentation, draw: index)
      let plane = side * side
      for p in 0..<plane {
        if image[p] == 0 {
          XCTAssertEqual(mask[p], 255, "draw \(index), pixel \(p): padding is ignored")
          padded += 1
        } else {
          let (x, y) = (Int(image[p]) / 8 - 1, Int(image[plane + p]) / 8 - 1)
          XCTAssertEqual(Int(mask[p]), x + side * y, "draw \(index), pixel \(p)")
          if p % side == 0 && x == side - 1 { flipped += 1 }
        }
      }
    }
    XCTAssertGreaterThan(padded, 0)
    XCTAssertGreaterThan(flipped, 0)
  }

  /// Bilinear interpolation of a ramp is the ramp at the sampled position, so the image tells
  /// where each output pixel sampled; its mask label must be the source pixel nearest to that
  /// position (within half a pixel: 4 grey levels).
  func testTheMaskFollowsTheResizedCropByNearestNeighbour() {
    var augmentation = Augmentation()
    (augmentation.resizedCropScale, augmentation.horizontalFlip) = (0.08...1, true)
    var enlarged = 0
    for index in 0..<100 {
      let (image, mask) = transformed(augmentation, draw: index)
      let plane = side * side
      for p in 0..<plane {
        let (x, y) = (Int(mask[p]) % side, Int(mask[p]) / side)
        XCTAssertLessThanOrEqual(abs(Int(image[p]) - (8 * x + 8)), 4, "draw \(index), pixel \(p)")
        XCTAssertLessThanOrEqual(abs(Int(image[plane + p]) - (8 * y + 8)), 4, "draw \(index), pixel \(p)")
      }
      if Set(mask).count < plane { enlarged += 1 }
    }
    XCTAssertGreaterThan(enlarged, 50, "most boxes are smaller than the image")
  }

  /// By hand: a box 2 wide from column 1 of a 4-wide row, enlarged 2×: output centres 0.5, 1.5,
  /// 2.5, 3.5 fall at box positions 0.25, 0.75, 1.25, 1.75, so columns 1, 1, 2, 2; mirrored
  /// 2, 2, 1, 1.
  func testNearestNeighbourColumnsByHand() {
    let mask: [UInt8] = [10, 11, 12, 13]
    var draw = Augmentation.Draw()
    draw.resizedCrop = Augmentation.Box(x: 1, y: 0, width: 2, height: 1)
    var out = [UInt8](repeating: 0, count: 4)
    Augmentation.transformMask(mask, into: &out, height: 1, width: 4, padding: 0, draw: draw, fill: 255)
    XCTAssertEqual(out, [11, 11, 12, 12])
    draw.flip = true
    Augmentation.transformMask(mask, into: &out, height: 1, width: 4, padding: 0, draw: draw, fill: 255)
    XCTAssertEqual(out, [12, 12, 11, 11])
  }

  /// Through the stream: masks arrive with their images (identity augmentation: each batch
  /// image's mask is its own), and with crop, flip, jitter and Cutout the batches — pixels and
  /// masks — are the same on 1 or 2 ranks, 0 or 3 threads, from memory, from disk without a
  /// budget, and from PNG records.
  func testMasksTravelWithTheirImagesThroughTheStream() throws {
    let images = Fixtures.segmentationImages(count: 48, channels: 3, side: 8, classes: 3)
    let directory = try Fixtures.temporaryDirectory("mask-stream-tests")
    defer { try? FileManager.default.removeItem(at: directory) }
    let shards = StratifiedPartitioning.indices(labels: images.labels, classes: 3, partitions: 2).map {
      images.subset($0)
    }
    func paths(_ encoding: RecordEncoding) throws -> [String] {
      try shards.enumerated().map { index, shard in
        let path = directory.appendingPathComponent("\(encoding)-\(index).imbs").path
        try Data(try ShardWriter.encode(shard, encoding: encoding, zstdLevel: 3).bytes).write(
          to: URL(fileURLWithPath: path))
        return path
      }
    }
    let (raw, png) = (try paths(.raw), try paths(.png))
    func fromDisk(_ path: String, _ encoding: RecordEncoding) throws -> RecordStore {
      var budget = 0
      return try RecordStore(
        shards: [try ShardFile(path: path)], shape: Manifest.Image(channels: 3, height: 8, width: 8),
        classNames: images.classNames, encoding: encoding, masks: true, budget: &budget)
    }
    var standard = Augmentation()
    (standard.cropPadding, standard.horizontalFlip, standard.cutout) = (2, true, 3)
    // Brightness keeps the padding's black black (contrast would not), so the padding shows.
    standard.brightness = 0.4
    let normalization = Normalization(mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3])

    func batches(_ augmentation: Augmentation, ranks: Int, threads: Int, _ store: (Int) throws -> RecordStore)
      throws -> [[Float]]
    {
      let stores = try (0..<2).map(store)
      let scheme = SamplingScheme(
        options: SamplerOptions(kind: .oversample), globalCounts: images.classCounts,
        shardCounts: shards.map(\.classCounts))
      let plan = try EpochPlan(epochSize: 32, globalBatch: 8, shards: 2, ranks: ranks)
      let streams = (0..<ranks).map { rank in
        TrainingStream(
          shards: ShardAssignment.owned(byRank: rank, of: ranks, shards: 2).map { ($0, stores[$0]) },
          scheme: scheme, plan: plan, seed: 5, normalization: normalization, augmentation: augmentation,
          loaderThreads: threads)
      }
      var all: [[Float]] = []
      for stream in streams { stream.startEpoch(1) }
      for step in 0..<plan.stepsPerEpoch {
        for stream in streams {
          XCTAssertEqual(stream.maskSize, 64)
          var pixels = [Float](repeating: .nan, count: stream.localBatch * 192)
          var labels = [Int32](repeating: -1, count: stream.localBatch)
          var masks = [UInt8](repeating: 254, count: stream.localBatch * 64)
          try stream.batch(step: step, pixels: &pixels, labels: &labels, masks: &masks)
          all += labels.indices.map { i in
            Array(pixels[(i * 192)..<((i + 1) * 192)]) + masks[(i * 64)..<((i + 1) * 64)].map(Float.init)
          }
        }
      }
      return all.sorted { $0.lexicographicallyPrecedes($1) }
    }

    // Identity: every image and mask as stored.
    var stored: [[Float]: [Float]] = [:]
    for i in 0..<images.count {
      var normalized = [Float](repeating: 0, count: 192)
      images.pixels[(i * 192)..<((i + 1) * 192)].withContiguousStorageIfAvailable {
        BatchAssembler.normalize(
          $0.baseAddress!, channels: 3, plane: 64, normalization: normalization, into: &normalized)
      }
      stored[normalized] = images.masks![(i * 64)..<((i + 1) * 64)].map(Float.init)
    }
    for row in try batches(Augmentation(), ranks: 2, threads: 3, { try fromDisk(raw[$0], .raw) }) {
      XCTAssertEqual(stored[Array(row.prefix(192))], Array(row.dropFirst(192)))
    }

    let reference = try batches(standard, ranks: 1, threads: 0) { RecordStore(images: shards[$0]) }
    // Where the crop brought in padding (black in all three channels), the mask says ignore.
    let black = (0..<3).map { -normalization.mean[$0] / normalization.std[$0] }
    var padded = 0
    for row in reference {
      for p in 0..<64 where (0..<3).allSatisfy({ abs(row[$0 * 64 + p] - black[$0]) < 1e-6 }) {
        XCTAssertEqual(row[192 + p], 255)
        padded += 1
      }
    }
    XCTAssertGreaterThan(padded, 100)
    XCTAssertEqual(try batches(standard, ranks: 2, threads: 3) { try fromDisk(raw[$0], .raw) }, reference)
    XCTAssertEqual(try batches(standard, ranks: 1, threads: 1) { try fromDisk(png[$0], .png) }, reference)
  }
}
