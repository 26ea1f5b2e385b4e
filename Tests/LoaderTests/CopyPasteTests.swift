import Foundation
import Loader
import XCTest

/// Copy-paste for segmentation: where an object lands (by hand), pixels past the border dropped
/// rather than wrapped, the ignore ring, sources drawn towards rare classes, and the same pasted
/// batches on any number of ranks and loader threads.
final class CopyPasteTests: XCTestCase {
  /// A 6×6 background image gets source class 3's 2×2 object from the bottom-right corner. The
  /// background's median row and column are 2.5, so the quadrant is rows and columns 0–2 (9
  /// pixels in reading order); position 0.5 picks the 5th, (1, 1), where the object's top-left
  /// pixel (4, 4) goes: the object covers (1…2, 1…2), and the 1-pixel ring around it, rows and
  /// columns 0–3 less the object, is ignored.
  func testAnObjectLandsOnTheChosenBackgroundPixelWithARing() {
    let (side, plane) = (6, 36)
    var sourceMask = [UInt8](repeating: 0, count: plane)
    for p in [28, 29, 34, 35] { sourceMask[p] = 3 }
    let source = (0..<plane).map { UInt8(100 + $0) }
    var image = [UInt8](repeating: 7, count: plane)
    var mask = [UInt8](repeating: 0, count: plane)
    XCTAssertEqual(CopyPaste.ring(height: side, width: side), 1)
    XCTAssertTrue(
      CopyPaste.paste(
        label: 3, from: source, mask: sourceMask, into: &image, mask: &mask, channels: 1, height: side,
        width: side, position: 0.5))
    var expectedMask = [UInt8](repeating: 0, count: plane)
    for y in 0...3 { for x in 0...3 { expectedMask[y * side + x] = 255 } }
    for (target, from) in [(7, 28), (8, 29), (13, 34), (14, 35)] {
      expectedMask[target] = 3
      XCTAssertEqual(image[target], source[from])
    }
    XCTAssertEqual(mask, expectedMask)
    XCTAssertEqual(image.filter { $0 == 7 }.count, plane - 4, "only the object's pixels change")
  }

  /// The object's top-left-most pixel (least row + column, then reading order) is (0, 3); sent to
  /// (1, 1) the object moves by (+1, −2), so its pixel (3, 0) would land at column −2: it is
  /// dropped, where numpy's negative index would have put it at column 4 (the seed's fix).
  func testPixelsPastTheBorderAreDroppedNotWrapped() {
    let (side, plane) = (6, 36)
    var sourceMask = [UInt8](repeating: 0, count: plane)
    (sourceMask[3], sourceMask[18]) = (5, 5)
    var image = [UInt8](repeating: 0, count: plane)
    var mask = [UInt8](repeating: 0, count: plane)
    CopyPaste.paste(
      label: 5, from: [UInt8](repeating: 9, count: plane), mask: sourceMask, into: &image, mask: &mask,
      channels: 1, height: side, width: side, position: 0.5)
    XCTAssertEqual(mask.indices.filter { mask[$0] == 5 }, [7])
    XCTAssertNotEqual(mask[4 * side + 4], 5)
    XCTAssertEqual(image.filter { $0 == 9 }.count, 1)
  }

  /// Nothing to paste without the class in the source, or without background in the image.
  func testNoObjectOrNoBackgroundPastesNothing() {
    let plane = 16
    var image = [UInt8](repeating: 1, count: plane)
    var mask = [UInt8](repeating: 0, count: plane)
    let none = CopyPaste.paste(
      label: 2, from: image, mask: [UInt8](repeating: 1, count: plane), into: &image, mask: &mask,
      channels: 1,
      height: 4, width: 4, position: 0)
    XCTAssertFalse(none)
    var full = [UInt8](repeating: 1, count: plane)
    let noBackground = CopyPaste.paste(
      label: 2, from: image, mask: [UInt8](repeating: 2, count: plane), into: &image, mask: &full,
      channels: 1,
      height: 4, width: 4, position: 0)
    XCTAssertFalse(noBackground)
    XCTAssertEqual(full, [UInt8](repeating: 1, count: plane))
  }

  /// Sources are drawn with weight 1/n of their label: 1,000 images of class 1, 10 of class 2
  /// and 5 of class 0 (background, never a source); over 20,000 draws at probability 0.5 half
  /// the images paste, and classes 1 and 2 are each the source about half the time.
  func testSourcesFavourRareClassesAndNeverTheBackground() {
    let labels = [Int32](repeating: 1, count: 1000) + [Int32](repeating: 2, count: 10) + [0, 0, 0, 0, 0]
    let weights = CopyPaste.cumulativeWeights(labels: labels, classCounts: [5, 1000, 10])
    let copyPaste = CopyPaste(probability: 0.5)
    var counts = [0, 0, 0]
    var pasted = 0
    for draw in 0..<20000 {
      guard
        let choice = copyPaste.choose(seed: 1, epoch: 0, shard: 0, draw: draw, cumulativeWeights: weights)
      else { continue }
      pasted += 1
      counts[Int(labels[choice.source])] += 1
      XCTAssertEqual(
        copyPaste.choose(seed: 1, epoch: 0, shard: 0, draw: draw, cumulativeWeights: weights)?.source,
        choice.source)
    }
    XCTAssertEqual(Double(pasted) / 20000, 0.5, accuracy: 0.02)
    XCTAssertEqual(counts[0], 0)
    XCTAssertEqual(Double(counts[2]) / Double(pasted), 0.5, accuracy: 0.03)
  }

  /// Through the stream: with copy-paste the masks gain pasted objects and ignore rings, and
  /// the batches are the same on 1 or 2 ranks and 0 or 2 loader threads.
  func testPastedBatchesDoNotDependOnRanksOrThreads() throws {
    let images = Fixtures.segmentationImages(count: 48, channels: 1, side: 16, classes: 4)
    let shards = StratifiedPartitioning.indices(labels: images.labels, classes: 4, partitions: 2).map {
      images.subset($0)
    }
    func batches(_ copyPaste: CopyPaste, ranks: Int, threads: Int) throws -> [[Float]] {
      let scheme = SamplingScheme(
        options: SamplerOptions(kind: .uniform), globalCounts: images.classCounts,
        shardCounts: shards.map(\.classCounts))
      let plan = try EpochPlan(epochSize: 32, globalBatch: 8, shards: 2, ranks: ranks)
      let streams = (0..<ranks).map { rank in
        TrainingStream(
          shards: ShardAssignment.owned(byRank: rank, of: ranks, shards: 2).map {
            ($0, RecordStore(images: shards[$0]))
          }, scheme: scheme, plan: plan, seed: 2, normalization: Normalization(mean: [0.5], std: [0.25]),
          copyPaste: copyPaste, loaderThreads: threads)
      }
      var all: [[Float]] = []
      for stream in streams { stream.startEpoch(0) }
      for step in 0..<plan.stepsPerEpoch {
        for stream in streams {
          var pixels = [Float](repeating: 0, count: stream.localBatch * 256)
          var labels = [Int32](repeating: 0, count: stream.localBatch)
          var masks = [UInt8](repeating: 0, count: stream.localBatch * 256)
          try stream.batch(step: step, pixels: &pixels, labels: &labels, masks: &masks)
          for i in 0..<stream.localBatch {
            let mask: [Float] = masks[(i * 256)..<((i + 1) * 256)].map(Float.init)
            all.append(mask + pixels[(i * 256)..<((i + 1) * 256)])
          }
        }
      }
      return all.sorted { $0.lexicographicallyPrecedes($1) }
    }
    let plain = try batches(CopyPaste(), ranks: 1, threads: 0)
    let reference = try batches(CopyPaste(probability: 1), ranks: 1, threads: 0)
    XCTAssertNotEqual(reference, plain)
    let ignored = { (rows: [[Float]]) in rows.reduce(0) { $0 + $1.prefix(256).filter { $0 == 255 }.count } }
    XCTAssertGreaterThan(ignored(reference), ignored(plain), "rings of ignore around pasted objects")
    XCTAssertEqual(try batches(CopyPaste(probability: 1), ranks: 2, threads: 2), reference)
  }
}
