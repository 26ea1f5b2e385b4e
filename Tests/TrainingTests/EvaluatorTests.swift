import Loader
import Model
import PRNG
import Training
import XCTest

final class EvaluatorTests: XCTestCase {
  /// `--tta flip` scores each image by the mean of its logits and its mirror image's logits:
  /// the summed cross-entropy equals the one computed here by hand from two forward passes.
  func testFlipAveragesTheLogitsOfEachImageAndItsMirror() throws {
    let (height, width, count) = (6, 5, 3)
    var rng = Xoshiro256(seed: 8, stream: [2])
    let pixels = (0..<(count * height * width)).map { _ in UInt8(rng.nextIndex(below: 256)) }
    let images = LabeledImages(
      channels: 1, height: height, width: width, classNames: ["a", "b", "c"], pixels: pixels,
      labels: [0, 2, 1])
    let normalization = Normalization(mean: [0.5], std: [0.25])
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: height, width: width, classes: 3)
    network.initializeParameters(seed: 3)

    var expected = 0.0
    for n in 0..<count {
      func logits(mirrored: Bool) -> [Double] {
        let input = Tensor(shape: Shape(batch: 1, channels: 1, height: height, width: width))
        for y in 0..<height {
          for x in 0..<width {
            let source = mirrored ? width - 1 - x : x
            let value = Float(pixels[n * height * width + y * width + source]) / 255
            input.pointer[y * width + x] = (value - 0.5) / 0.25
          }
        }
        return network.forward(input).toArray().map(Double.init)
      }
      let mean = zip(logits(mirrored: false), logits(mirrored: true)).map { ($0 + $1) / 2 }
      let label = Int(images.labels[n])
      expected += log(mean.map(exp).reduce(0, +)) - mean[label]
    }
    let flipped = try Evaluator(batchSize: 2, augmentation: .flip).evaluate(
      network: network, images: RecordStore(images: images), normalization: normalization)
    XCTAssertEqual(flipped.counts.crossEntropySum, expected, accuracy: 1e-4)
    let plain = try Evaluator(batchSize: 2).evaluate(
      network: network, images: RecordStore(images: images), normalization: normalization)
    XCTAssertNotEqual(plain.counts.crossEntropySum, flipped.counts.crossEntropySum)
    XCTAssertEqual(flipped.counts.images, count)
  }

  /// `--tta flip-shift` scores each image by the mean logits of the ten crops training's
  /// augmentation draws at one pixel of padding (`Augmentation.transform`: crop corners (1, 1),
  /// (0, 1), (2, 1), (1, 0), (1, 2), each plain and mirrored), in three channels whose black
  /// pixels normalise to different values: the summed cross-entropy equals the one computed here.
  func testFlipShiftAveragesTheTenCropsTrainingDrawsAtOnePixelOfPadding() throws {
    let (channels, height, width, count) = (3, 6, 5, 3)
    var rng = Xoshiro256(seed: 9, stream: [2])
    let size = channels * height * width
    let pixels = (0..<(count * size)).map { _ in UInt8(rng.nextIndex(below: 256)) }
    let images = LabeledImages(
      channels: channels, height: height, width: width, classNames: ["a", "b", "c"], pixels: pixels,
      labels: [0, 2, 1])
    let normalization = Normalization(mean: [0.5, 0.2, 0.7], std: [0.25, 0.3, 0.1])
    let network = try Architecture.smallCNN.makeNetwork(
      channels: channels, height: height, width: width, classes: 3)
    network.initializeParameters(seed: 3)

    var expected = 0.0
    for n in 0..<count {
      var mean = [Double](repeating: 0, count: 3)
      for flip in [false, true] {
        for (cropX, cropY) in [(1, 1), (0, 1), (2, 1), (1, 0), (1, 2)] {
          var draw = Augmentation.Draw()
          (draw.cropX, draw.cropY, draw.flip) = (cropX, cropY, flip)
          var cropped = [UInt8](repeating: 0, count: size)
          let input = Tensor(shape: Shape(batch: 1, channels: channels, height: height, width: width))
          pixels.withUnsafeBufferPointer { source in
            Augmentation.transform(
              source.baseAddress! + n * size, into: &cropped, channels: channels, height: height,
              width: width,
              padding: 1, draw: draw)
          }
          BatchAssembler.normalize(
            cropped, channels: channels, plane: height * width, normalization: normalization,
            into: input.pointer)
          for (k, logit) in network.forward(input).toArray().enumerated() { mean[k] += Double(logit) / 10 }
        }
      }
      expected += log(mean.map(exp).reduce(0, +)) - mean[Int(images.labels[n])]
    }
    let store = RecordStore(images: images)
    let shifted = try Evaluator(batchSize: 2, augmentation: .flipShift).evaluate(
      network: network, images: store, normalization: normalization)
    XCTAssertEqual(shifted.counts.crossEntropySum, expected, accuracy: 1e-4)
    let flipped = try Evaluator(batchSize: 2, augmentation: .flip).evaluate(
      network: network, images: store, normalization: normalization)
    XCTAssertGreaterThan(abs(flipped.counts.crossEntropySum - expected), 1e-3)
  }

  /// For class maps, `--tta flip` averages each pixel's scores with those of its mirror pixel
  /// in the mirror image's maps: the confusion matrix and cross-entropy equal the ones tallied
  /// here from two single-image forward passes, the second mirrored back by hand.
  func testFlipAveragesClassMapsWithTheMirrorImagesMapsMirroredBack() throws {
    let (side, count, classes) = (8, 3, 3)
    let (images, network) = try SyntheticData.segmentation(
      side: side, classNames: ["a", "b", "c"], labels: [0, 1, 2], ignoreEvery: 7, seed: 5, stream: 4,
      networkSeed: 6)
    let (pixels, masks) = (images.pixels, images.masks!)
    let normalization = Normalization(mean: [0.5], std: [0.25])

    var expected = PredictionCounts(classes: classes)
    let plane = side * side
    for n in 0..<count {
      func maps(mirrored: Bool) -> [Float] {
        let input = Tensor(shape: Shape(batch: 1, channels: 1, height: side, width: side))
        for p in 0..<plane {
          let (y, x) = (p / side, p % side)
          let source = mirrored ? y * side + side - 1 - x : p
          input.pointer[p] = (Float(pixels[n * plane + source]) / 255 - 0.5) / 0.25
        }
        return network.forward(input).toArray()
      }
      let (plain, mirror) = (maps(mirrored: false), maps(mirrored: true))
      var mean = [Float](repeating: 0, count: classes * plane)
      for k in 0..<classes {
        for p in 0..<plane {
          let (y, x) = (p / side, p % side)
          mean[k * plane + p] = (plain[k * plane + p] + mirror[k * plane + y * side + side - 1 - x]) / 2
        }
      }
      Array(masks[(n * plane)..<((n + 1) * plane)]).withUnsafeBufferPointer {
        expected.addPixels(
          maps: Tensor(shape: Shape(batch: 1, channels: classes, height: side, width: side), values: mean),
          masks: $0)
      }
    }
    let store = RecordStore(images: images)
    let flipped = try Evaluator(batchSize: 2, augmentation: .flip).evaluate(
      network: network, images: store, normalization: normalization)
    XCTAssertEqual(flipped.counts.matrix.counts, expected.matrix.counts)
    XCTAssertEqual(flipped.counts.crossEntropySum, expected.crossEntropySum, accuracy: 1e-3)
    let plain = try Evaluator(batchSize: 2).evaluate(
      network: network, images: store, normalization: normalization)
    XCTAssertNotEqual(plain.counts.crossEntropySum, flipped.counts.crossEntropySum)
  }
}
