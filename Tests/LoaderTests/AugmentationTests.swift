import Loader
import XCTest

/// Each augmentation on tiny images with exact expected pixels (worked out by hand in each
/// test), the draws' ranges and determinism, and the property that makes augmented training
/// rank-invariant: a batch's augmented images are the same whether one rank owns both shards
/// or two ranks own one each.
final class AugmentationTests: XCTestCase {
  private func transformed(
    _ image: [UInt8], channels: Int = 1, height: Int = 3, width: Int = 3, padding: Int = 1,
    _ configure: (inout Augmentation.Draw) -> Void
  ) -> [UInt8] {
    var draw = Augmentation.Draw()
    configure(&draw)
    var target = [UInt8](repeating: 99, count: image.count)
    image.withUnsafeBufferPointer { source in
      target.withUnsafeMutableBufferPointer {
        Augmentation.transform(
          source.baseAddress!, into: $0.baseAddress!, channels: channels, height: height, width: width,
          padding: padding, draw: draw)
      }
    }
    return target
  }

  private let digits: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9]

  /// Padding 1 then a crop at (0, 0) of the padded image shifts the image down and right,
  /// bringing in zeros; at (2, 1) it shifts it left.
  func testCropWithPadding() {
    XCTAssertEqual(transformed(digits) { _ in }, [0, 0, 0, 0, 1, 2, 0, 4, 5])
    XCTAssertEqual(transformed(digits) { ($0.cropX, $0.cropY) = (2, 1) }, [2, 3, 0, 5, 6, 0, 8, 9, 0])
  }

  func testHorizontalFlip() {
    XCTAssertEqual(
      transformed(digits) { ($0.cropX, $0.cropY, $0.flip) = (1, 1, true) }, [3, 2, 1, 6, 5, 4, 9, 8, 7])
    // Cropped at (0, 0) as above, then mirrored (torchvision's order): the zeros end up right.
    XCTAssertEqual(
      transformed(digits) { ($0.cropX, $0.cropY, $0.flip) = (0, 0, true) }, [0, 0, 0, 2, 1, 0, 5, 4, 0])
  }

  /// Brightness 1.5: 100 → 150, 200 → 300, clamped to 255. Contrast 0.5 blends with the mean
  /// grey 100: 0 → 50, 200 → 150. Saturation 0 of RGB (200, 100, 50) is its luma 124.2 → 124
  /// in every channel.
  func testColourJitter() {
    XCTAssertEqual(
      transformed([100, 200], height: 1, width: 2, padding: 0) { ($0.brightness) = 1.5 }, [150, 255])
    XCTAssertEqual(
      transformed([0, 100, 200, 100], height: 2, width: 2, padding: 0) { $0.contrast = 0.5 },
      [50, 100, 150, 100])
    XCTAssertEqual(
      transformed([200, 100, 50], channels: 3, height: 1, width: 1, padding: 0) { $0.saturation = 0 },
      [124, 124, 124])
  }

  /// A side-2 square centred at (2, 2) covers pixels 1…2 × 1…2; centred at (0, 0) it is
  /// clipped to the corner pixel.
  func testCutoutZeroesTheSquareClippedAtTheBorder() {
    func cut(_ centre: (Int, Int)) -> [Float] {
      var image = [Float](repeating: 1, count: 16)
      var draw = Augmentation.Draw()
      draw.cutoutCentre = (x: centre.0, y: centre.1)
      image.withUnsafeMutableBufferPointer {
        Augmentation.cut($0.baseAddress!, channels: 1, height: 4, width: 4, side: 2, draw: draw)
      }
      return image
    }
    XCTAssertEqual(cut((2, 2)), [1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1])
    XCTAssertEqual(cut((0, 0)), [0] + [Float](repeating: 1, count: 15))
  }

  /// Draws stay in range, flip about half the time, repeat for the same coordinates and
  /// differ for another draw index.
  func testDrawsAreInRangeAndAFunctionOfTheirCoordinates() {
    var augmentation = Augmentation()
    (augmentation.cropPadding, augmentation.horizontalFlip, augmentation.cutout) = (4, true, 16)
    augmentation.brightness = 0.4
    var flips = 0
    for index in 0..<1000 {
      let draw = augmentation.draw(seed: 3, epoch: 2, shard: 1, draw: index, height: 32, width: 32)
      XCTAssertTrue((0...8).contains(draw.cropX) && (0...8).contains(draw.cropY))
      XCTAssertTrue((0.6...1.4).contains(draw.brightness))
      XCTAssertEqual(draw.contrast, 1)
      XCTAssertNotNil(draw.cutoutCentre)
      if draw.flip { flips += 1 }
    }
    XCTAssertEqual(Double(flips), 500, accuracy: 60)
    let a = augmentation.draw(seed: 3, epoch: 2, shard: 1, draw: 7, height: 32, width: 32)
    XCTAssertEqual(a, augmentation.draw(seed: 3, epoch: 2, shard: 1, draw: 7, height: 32, width: 32))
    XCTAssertNotEqual(a, augmentation.draw(seed: 3, epoch: 2, shard: 1, draw: 8, height: 32, width: 32))
    XCTAssertNotEqual(a, augmentation.draw(seed: 3, epoch: 3, shard: 1, draw: 7, height: 32, width: 32))
  }

  /// The 2×2 box at (1, 1) of a 4×4 image, [[10, 50], [90, 130]], enlarged to 4×4: output
  /// pixel o samples the box at (o + ½)·½ − ½ = 0 (clamped from −¼), ¼, ¾, 1¼ (past the last
  /// pixel, so the last pixel), so each row is [a, ¾a + ¼b, ¼a + ¾b, b] and the rows blend the
  /// same way (worked out by hand; PyTorch's bilinear `align_corners=False` gives the same).
  func testResizedCropInterpolatesBilinearly() {
    var image = [UInt8](repeating: 255, count: 16)
    (image[5], image[6], image[9], image[10]) = (10, 50, 90, 130)
    let expected: [UInt8] = [10, 20, 40, 50, 30, 40, 60, 70, 70, 80, 100, 110, 90, 100, 120, 130]
    let box = Augmentation.Box(x: 1, y: 1, width: 2, height: 2)
    XCTAssertEqual(
      transformed(image, height: 4, width: 4, padding: 0) { $0.resizedCrop = box }, expected)
    let mirrored = (0..<4).flatMap { row in expected[(row * 4)..<(row * 4 + 4)].reversed() }
    XCTAssertEqual(
      transformed(image, height: 4, width: 4, padding: 0) { ($0.resizedCrop, $0.flip) = (box, true) },
      mirrored)
    // The whole image as the box is the identity.
    XCTAssertEqual(
      transformed(image, height: 4, width: 4, padding: 0) {
        $0.resizedCrop = Augmentation.Box(x: 0, y: 0, width: 4, height: 4)
      }, image)
  }

  /// The box's area and ratio stay in range and it lies inside the image; a ratio no box of
  /// the image can have falls back to the centred box clamped to the ratio (torchvision).
  func testResizedCropBoxes() {
    var augmentation = Augmentation()
    augmentation.resizedCropScale = 0.25...0.5
    for index in 0..<300 {
      let box = augmentation.draw(seed: 1, epoch: 0, shard: 2, draw: index, height: 32, width: 40)
        .resizedCrop!
      XCTAssertTrue(box.x >= 0 && box.y >= 0 && box.x + box.width <= 40 && box.y + box.height <= 32, "\(box)")
      let share = Double(box.width * box.height) / Double(32 * 40)
      XCTAssertTrue(share > 0.22 && share < 0.54, "\(share)")
      let ratio = Double(box.width) / Double(box.height)
      XCTAssertTrue(ratio > 0.7 && ratio < 1.43, "\(ratio)")
    }
    augmentation.resizedCropScale = 1...1
    augmentation.resizedCropRatio = 1...1
    let tall = augmentation.draw(seed: 1, epoch: 0, shard: 0, draw: 0, height: 8, width: 2).resizedCrop
    XCTAssertEqual(tall, Augmentation.Box(x: 0, y: 3, width: 2, height: 2))
    XCTAssertEqual(
      augmentation.draw(seed: 1, epoch: 0, shard: 0, draw: 0, height: 6, width: 6).resizedCrop,
      Augmentation.Box(x: 0, y: 0, width: 6, height: 6))
    // The box comes from its own stream: the other draws are those without it.
    var plain = augmentation
    plain.resizedCropScale = nil
    var withBox = augmentation.draw(seed: 4, epoch: 1, shard: 0, draw: 3, height: 8, width: 8)
    withBox.resizedCrop = nil
    XCTAssertEqual(withBox, plain.draw(seed: 4, epoch: 1, shard: 0, draw: 3, height: 8, width: 8))
  }

  /// Two shards of 4×4 RGB images: one rank owning both and two ranks owning one each assemble
  /// the same augmented pixels, step by step (invariant 1 for augmented training).
  func testOneRankAndTwoRanksDrawTheSameAugmentedImages() throws {
    let count = 40
    let images = LabeledImages(
      channels: 3, height: 4, width: 4, classNames: ["a", "b"],
      pixels: (0..<(count * 48)).map { UInt8(truncatingIfNeeded: $0 &* 29) },
      labels: (0..<count).map { Int32($0 % 2) })
    let parts = StratifiedPartitioning.indices(labels: images.labels, classes: 2, partitions: 2)
    let shards = parts.map { images.subset($0) }
    var augmentation = Augmentation()
    (augmentation.cropPadding, augmentation.horizontalFlip, augmentation.cutout) = (1, true, 2)
    (augmentation.brightness, augmentation.contrast, augmentation.saturation) = (0.4, 0.4, 0.4)
    let scheme = SamplingScheme(
      options: SamplerOptions(kind: .oversample), globalCounts: images.classCounts,
      shardCounts: shards.map(\.classCounts))
    func batches(ranks: Int) throws -> [[Float]] {
      let plan = try EpochPlan(epochSize: 32, globalBatch: 8, shards: 2, ranks: ranks)
      let streams = (0..<ranks).map { rank in
        TrainingStream(
          shards: ShardAssignment.owned(byRank: rank, of: ranks, shards: 2).map {
            (index: $0, store: RecordStore(images: shards[$0]))
          },
          scheme: scheme, plan: plan, seed: 9,
          normalization: Normalization(mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]),
          augmentation: augmentation)
      }
      for stream in streams { stream.startEpoch(1) }
      return try (0..<plan.stepsPerEpoch).map { step in
        try streams.flatMap { stream -> [Float] in
          var pixels = [Float](repeating: .nan, count: stream.localBatch * 48)
          var labels = [Int32](repeating: -1, count: stream.localBatch)
          try pixels.withUnsafeMutableBufferPointer { p in
            try labels.withUnsafeMutableBufferPointer {
              try stream.batch(step: step, pixels: p.baseAddress!, labels: $0.baseAddress!)
            }
          }
          XCTAssertFalse(labels.contains(-1))
          return try XCTUnwrap(pixels.allSatisfy(\.isFinite) ? pixels : nil)
        }
      }
    }
    let one = try batches(ranks: 1)
    XCTAssertEqual(one, try batches(ranks: 2))
    XCTAssertTrue(one.joined().contains(-2), "a Cutout square or a padded zero after normalisation")
  }
}
