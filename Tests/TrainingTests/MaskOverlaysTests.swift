import CPNG
import Foundation
import Loader
import Model
import Training
import XCTest

/// The report's mask overlays: which test images, and every pixel of the figure against the
/// blend worked here by hand from the network's own class maps.
final class MaskOverlaysTests: XCTestCase {
  /// Classes from the fewest training images up (background skipped), the first test image
  /// whose rarest class each is; a class without test images is passed over.
  func testTheRarestClassesComeFirst() {
    let labels: [Int32] = [3, 1, 2, 1, 4, 0]
    let trainCounts = [1000, 50, 5, 20, 0, 2]
    XCTAssertEqual(MaskOverlays.chosen(labels: labels, trainCounts: trainCounts), [4, 2, 0, 1])
    XCTAssertEqual(MaskOverlays.chosen(labels: labels, trainCounts: trainCounts, count: 2), [4, 2])
  }

  /// Three 1-channel 8×8 test images, 3 classes: each row of the PNG is the image in gray, the
  /// truth and the prediction (arg-max of one forward pass per image), labels 1 and 2 painted as
  /// 0.4·pixel + 0.6·colour (tab10 orange 255,127,14 and green 44,160,44), 255 as white, label
  /// 0 not at all; panels and rows 4 white pixels apart.
  func testEveryPixelOfTheFigure() throws {
    let (side, classes) = (8, 3)
    let plane = side * side
    let (images, network) = try SyntheticData.segmentation(
      side: side, classNames: ["background", "b", "c"], labels: [1, 2, 1], ignoreEvery: 9, seed: 3, stream: 7,
      networkSeed: 4)
    let (pixels, masks) = (images.pixels, images.masks!)
    let normalization = Normalization(mean: [0.5], std: [0.25])
    let path = NSTemporaryDirectory() + "overlays-\(UUID().uuidString).png"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try MaskOverlays.write(
      network: network, images: RecordStore(images: images), normalization: normalization,
      trainCounts: [500, 40, 10], evaluator: Evaluator(), to: path)

    let (figure, width, height) = try readRGB(path)
    XCTAssertEqual(width, 3 * side + 2 * 4)
    // Class 2 (10 training images) first: image 1; then class 1: image 0.
    let rows = [1, 0]
    XCTAssertEqual(height, rows.count * side + 4)
    let colours: [Int: [Double]] = [1: [255, 127, 14], 2: [44, 160, 44], 255: [255, 255, 255]]
    func blend(_ gray: UInt8, _ label: UInt8) -> [UInt8] {
      guard let colour = colours[Int(label)] else { return [gray, gray, gray] }
      return colour.map { UInt8((0.4 * Double(gray) + 0.6 * $0).rounded()) }
    }
    for (row, n) in rows.enumerated() {
      let input = Tensor(shape: Shape(batch: 1, channels: 1, height: side, width: side))
      for p in 0..<plane { input.pointer[p] = (Float(pixels[n * plane + p]) / 255 - 0.5) / 0.25 }
      let maps = network.forward(input).toArray()
      for p in 0..<plane {
        let gray = pixels[n * plane + p]
        let predicted = UInt8((0..<classes).max { maps[$0 * plane + p] < maps[$1 * plane + p] }!)
        let expected = [[gray, gray, gray], blend(gray, masks[n * plane + p]), blend(gray, predicted)]
        for panel in 0..<3 {
          let (y, x) = (row * (side + 4) + p / side, panel * (side + 4) + p % side)
          let start = (y * width + x) * 3
          XCTAssertEqual(
            Array(figure[start..<(start + 3)]), expected[panel], "row \(row) panel \(panel) pixel \(p)")
        }
      }
    }
    // The gaps are white.
    XCTAssertEqual(Array(figure[(side * 3)..<((side + 4) * 3)]), [UInt8](repeating: 255, count: 12))
  }

  private func readRGB(_ path: String) throws -> (pixels: [UInt8], width: Int, height: Int) {
    var image = png_image()
    image.version = cpng_image_version()
    defer { png_image_free(&image) }
    XCTAssertNotEqual(png_image_begin_read_from_file(&image, path), 0)
    image.format = cpng_format_rgb()
    var pixels = [UInt8](repeating: 0, count: Int(image.width * image.height) * 3)
    XCTAssertNotEqual(
      pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }, 0)
    return (pixels, Int(image.width), Int(image.height))
  }
}
