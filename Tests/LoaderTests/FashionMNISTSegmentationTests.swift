import Foundation
import Loader
import XCTest

/// The default segmentation benchmark: garments on canvases whose masks say, pixel by pixel,
/// what the canvas shows; long-tailed class presence in training, uniform in validation and
/// test; the same canvases for the same seed.
final class FashionMNISTSegmentationTests: XCTestCase {
  private func benchmark(seed: UInt64) throws -> SourceData {
    guard
      FileManager.default.fileExists(atPath: "\(FashionMNIST.defaultDirectory)/train-images-idx3-ubyte.gz")
    else {
      throw MissingDataset("dataset-fashion-mnist is not installed (make deps installs it)")
    }
    return try FashionMNISTSegmentation.load(
      directory: FashionMNIST.defaultDirectory, profile: .exponential(ratio: 100), seed: seed)
  }

  func testMasksDescribeTheCanvasesAndPresenceFollowsTheProfile() throws {
    let source = try benchmark(seed: 0)
    let validation = try XCTUnwrap(source.validation)
    XCTAssertEqual([source.train.count, validation.count, source.test.count], [3000, 500, 1000])
    XCTAssertEqual(source.train.classNames.first, "background")
    XCTAssertEqual(source.train.classCount, 11)
    XCTAssertEqual([source.train.height, source.train.width, source.train.channels], [64, 64, 1])
    for split in [source.train, validation, source.test] {
      for (pixel, label) in zip(split.pixels, split.masks!) {
        switch label {
        case 0: XCTAssertEqual(pixel, 0)
        case 255: XCTAssertTrue((1..<64).contains(pixel), "\(pixel)")
        default: XCTAssertGreaterThanOrEqual(pixel, 64)
        }
      }
    }
    // 1–3 garments per canvas, classes drawn ∝ 100^(−c/9) in training: class 1 in about 60 %
    // of the images, class 10 in about 1 %; uniformly elsewhere (about 19 % each).
    let train = MaskLabels.presence(source.train)
    XCTAssertEqual(train[0], 3000)
    XCTAssertGreaterThan(Double(train[1]) / Double(train[10]), 30, "\(train)")
    XCTAssertTrue(train.dropFirst().allSatisfy { $0 > 0 }, "\(train)")
    for (count, split) in [(500, validation), (1000, source.test)] {
      let presence = MaskLabels.presence(split).dropFirst()
      XCTAssertTrue(presence.allSatisfy { (0.12...0.27).contains(Double($0) / Double(count)) }, "\(presence)")
    }
  }

  func testTheSameSeedMakesTheSameCanvases() throws {
    let (first, again, other) = (try benchmark(seed: 3), try benchmark(seed: 3), try benchmark(seed: 4))
    XCTAssertEqual(first.train.pixels, again.train.pixels)
    XCTAssertEqual(first.test.masks, again.test.masks)
    XCTAssertNotEqual(first.train.pixels, other.train.pixels)
  }
}
