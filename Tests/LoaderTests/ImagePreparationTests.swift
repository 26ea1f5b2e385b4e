import Foundation
import Loader
import XCTest

/// What `pack` does to each image of a folder (libvips): each resize policy, channel
/// conversion, alpha compositing and the size limit, on tiny images with exact expected
/// pixels. Downscaling (libvips's Lanczos-3 reduce) reproduces a linear ramp exactly, so a
/// ramp of 10 per pixel halved gives the means of neighbouring pairs, worked out by hand.
final class ImagePreparationTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory("preparation-tests") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// The pixels (planar) of the one image written as PNG, read back through `preparation`.
  private func prepared(
    _ interleaved: [UInt8], width: Int, height: Int, channels: Int, _ preparation: ImagePreparation
  ) throws -> (pixels: [UInt8], channels: Int, height: Int, width: Int) {
    let root = directory.appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("only"), withIntermediateDirectories: true)
    try Fixtures.writePNG(
      interleaved, width: width, height: height, channels: channels,
      to: root.appendingPathComponent("only/0.png").path)
    let images = try SourceKind.folder.load(
      input: root.path, ratios: [1, 0, 0], seed: 0, preparation: preparation
    )
    .train
    return (images.pixels, images.channels, images.height, images.width)
  }

  private func preparation(_ size: Int, _ policy: ResizePolicy) -> ImagePreparation {
    var preparation = ImagePreparation()
    preparation.size = ImageSize(height: size, width: size)
    preparation.policy = policy
    return preparation
  }

  /// 8×8 → 4×4, column x of value 10x: each output column is the mean of the two it covers
  /// (5, 25, 45, 65), where nearest-neighbour would pick one of them; a one-pixel checkerboard
  /// of 0 and 255 becomes mid grey instead of staying black and white.
  func testStretchAveragesInsteadOfPicking() throws {
    let ramp = (0..<8).flatMap { _ in (0..<8).map { UInt8($0 * 10) } }
    let result = try prepared(ramp, width: 8, height: 8, channels: 1, preparation(4, .stretch))
    XCTAssertEqual(result.pixels, (0..<4).flatMap { _ in [5, 25, 45, 65] as [UInt8] })
    XCTAssertEqual([result.channels, result.height, result.width], [1, 4, 4])
    let checkerboard: [UInt8] = (0..<64).map { (index: Int) -> UInt8 in
      (index / 8 + index % 8) % 2 == 0 ? 0 : 255
    }
    let grey = try prepared(checkerboard, width: 8, height: 8, channels: 1, preparation(4, .stretch))
    XCTAssertTrue(grey.pixels.allSatisfy { (120...135).contains($0) }, "\(grey.pixels)")
  }

  /// 8 wide × 4 high, column x of value 10x: scaled by 1/2 to cover 2×2 (4×2, columns
  /// 5, 25, 45, 65), the centre two columns are kept.
  func testShorterCropKeepsTheCentre() throws {
    let image = (0..<4).flatMap { _ in (0..<8).map { UInt8($0 * 10) } }
    let result = try prepared(image, width: 8, height: 4, channels: 1, preparation(2, .shorterCrop))
    XCTAssertEqual(result.pixels, [25, 45, 25, 45])
  }

  /// The same image fitted into 4×4: 4×2 centred, one row of background above and below
  /// (the background's BT.601 luma in a grey dataset: 0.299·200 + 0.587·100 + 0.114·0 = 118.5 → 119).
  func testPadCentresOnTheBackground() throws {
    let image = (0..<4).flatMap { _ in (0..<8).map { UInt8($0 * 10) } }
    var padded = preparation(4, .pad)
    padded.background = [200, 100, 0]
    let result = try prepared(image, width: 8, height: 4, channels: 1, padded)
    let background = [UInt8](repeating: 119, count: 4)
    XCTAssertEqual(result.pixels, background + [5, 25, 45, 65, 5, 25, 45, 65] + background)
  }

  /// RGBA (255, 0, 0, α = 128) on white: `α·fg + (1 − α)·bg` = (255, 127, 127).
  func testAlphaIsCompositedOntoTheBackground() throws {
    let result = try prepared([255, 0, 0, 128], width: 1, height: 1, channels: 4, ImagePreparation())
    XCTAssertEqual(result.channels, 3)
    XCTAssertEqual(result.pixels, [255, 127, 127])
  }

  /// RGB to grey is BT.601 luma (0.299·200 + 0.587·100 + 0.114·50 = 124.2 → 124); grey to RGB
  /// copies the value into every plane.
  func testChannelConversions() throws {
    var grey = ImagePreparation()
    grey.channels = 1
    XCTAssertEqual(try prepared([200, 100, 50], width: 1, height: 1, channels: 3, grey).pixels, [124])
    var colour = ImagePreparation()
    colour.channels = 3
    XCTAssertEqual(
      try prepared([7, 9], width: 2, height: 1, channels: 1, colour).pixels, [7, 9, 7, 9, 7, 9])
  }

  func testAnImageDeclaringTooManyPixelsOrUndecodableIsNamed() throws {
    var small = ImagePreparation()
    small.maxPixels = 10
    XCTAssertThrowsError(
      try prepared([UInt8](repeating: 1, count: 16), width: 4, height: 4, channels: 1, small)
    ) {
      XCTAssertTrue(
        "\($0)".hasSuffix(
          "/only/0.png: the image declares 4×4 pixels, more than the limit of 10 (--max-image-pixels)"),
        "\($0)")
    }
    let root = directory.appendingPathComponent("broken")
    try Fixtures.write(
      Array("not an image at all".utf8), to: root.appendingPathComponent("cls/notes.png").path)
    XCTAssertThrowsError(try SourceKind.folder.load(input: root.path, ratios: [1, 0, 0], seed: 0)) {
      XCTAssertTrue(
        "\($0)".hasPrefix(root.appendingPathComponent("cls/notes.png").path + ": cannot be decoded ("),
        "\($0)")
    }
  }

  /// A folder of photos of mixed sizes and orientations packs into one size.
  func testMixedSizesPackToOneSize() throws {
    let root = directory.appendingPathComponent("mixed")
    for (index, (width, height)) in [(12, 8), (8, 12), (9, 9), (30, 7)].enumerated() {
      try FileManager.default.createDirectory(
        at: root.appendingPathComponent("c\(index % 2)"), withIntermediateDirectories: true)
      try Fixtures.writePNG(
        Fixtures.pixels(index: index, count: width * height * 3), width: width, height: height, channels: 3,
        to: root.appendingPathComponent("c\(index % 2)/\(index).png").path)
    }
    var options = PackOptions()
    options.source = .folder
    options.input = root.path
    options.output = directory.appendingPathComponent("packed").path
    options.shards = 1
    options.validationPerClass = 0
    options.splitRatios = [1, 0, 1]
    options.preparation = preparation(6, .shorterCrop)
    let report = try Packer.pack(options)
    XCTAssertEqual(report.manifest.image, Manifest.Image(channels: 3, height: 6, width: 6))
    XCTAssertEqual(report.manifest.splits.train.count + report.manifest.splits.test.count, 4)
  }
}
