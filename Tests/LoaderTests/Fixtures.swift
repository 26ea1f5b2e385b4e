import CPNG
import CTurboJPEG
import Foundation
import Loader
import XCTest

/// Small source files written byte by byte (or through the reference encoders), so that
/// round-trip tests compare against pixels that never went through our readers.
enum Fixtures {
  static func temporaryDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// A deterministic pixel pattern for image `index`.
  static func pixels(index: Int, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: index &* 37 &+ $0 &* 11 &+ ($0 / 7)) }
  }

  /// One CIFAR record: label byte(s) then 3,072 pixel bytes.
  static func cifarRecord(labels: [UInt8], index: Int) -> [UInt8] {
    labels + pixels(index: index, count: 3072)
  }

  /// Writes an 8-bit PNG (`channels` 1, 3 or 4 = RGBA, interleaved) with libpng's simplified writer.
  static func writePNG(_ interleaved: [UInt8], width: Int, height: Int, channels: Int, to path: String) throws
  {
    var image = png_image()
    image.version = cpng_image_version()
    image.width = UInt32(width)
    image.height = UInt32(height)
    image.format = [1: cpng_format_gray(), 3: cpng_format_rgb(), 4: cpng_format_rgba()][channels]!
    let ok = interleaved.withUnsafeBytes { png_image_write_to_file(&image, path, 0, $0.baseAddress, 0, nil) }
    png_image_free(&image)
    guard ok != 0 else { throw FixtureError("libpng could not write \(path)") }
  }

  /// Writes a palette PNG whose pixels are the palette `indices` (as VOC's SegmentationClass
  /// masks are), with a 256-entry palette of arbitrary colours, through libpng's simplified writer.
  static func writePaletteMask(_ indices: [UInt8], width: Int, height: Int, to path: String) throws {
    var image = png_image()
    image.version = cpng_image_version()
    (image.width, image.height) = (UInt32(width), UInt32(height))
    image.format = cpng_format_rgb_colormap()
    image.colormap_entries = 256
    var palette: [UInt8] = []
    for entry in 0..<256 { palette += [UInt8(entry), UInt8(255 - entry), UInt8(entry * 7 % 256)] }
    let ok = indices.withUnsafeBytes { pixels in
      palette.withUnsafeBytes {
        png_image_write_to_file(&image, path, 0, pixels.baseAddress, 0, $0.baseAddress)
      }
    }
    png_image_free(&image)
    guard ok != 0 else { throw FixtureError("libpng could not write \(path)") }
  }

  /// Writes a JPEG (quality 100, no chroma subsampling) with TurboJPEG.
  static func writeJPEG(_ interleaved: [UInt8], width: Int, height: Int, channels: Int, to path: String)
    throws
  {
    let handle = tjInitCompress()!
    defer { tjDestroy(handle) }
    var output: UnsafeMutablePointer<UInt8>?
    var size: UInt = 0
    let format = Int32(channels == 3 ? TJPF_RGB.rawValue : TJPF_GRAY.rawValue)
    let subsampling = Int32(channels == 3 ? TJSAMP_444.rawValue : TJSAMP_GRAY.rawValue)
    let status = interleaved.withUnsafeBufferPointer {
      tjCompress2(
        handle, $0.baseAddress, Int32(width), 0, Int32(height), format, &output, &size, subsampling, 100, 0)
    }
    guard status == 0, let output else { throw FixtureError("TurboJPEG could not encode \(path)") }
    defer { tjFree(output) }
    try Data(bytes: output, count: Int(size)).write(to: URL(fileURLWithPath: path))
  }

  static func write(_ bytes: [UInt8], to path: String) throws {
    try FileManager.default.createDirectory(
      atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  /// Records as `label` followed by pixels, sorted: equal lists mean the same images, order aside.
  static func records(_ images: LabeledImages) -> [[UInt8]] {
    (0..<images.count).map { i in
      [UInt8(images.labels[i])] + Array(images.pixels[(i * images.imageSize)..<((i + 1) * images.imageSize)])
    }.sorted { $0.lexicographicallyPrecedes($1) }
  }

  /// `count` smooth images (sums of sines, different in every image and channel) of
  /// `channels×side×side` in two classes: what photos look like to a codec.
  static func photoLikeImages(count: Int, channels: Int, side: Int) -> LabeledImages {
    var pixels: [UInt8] = []
    for i in 0..<count {
      for c in 0..<channels {
        for y in 0..<side {
          for x in 0..<side {
            let value =
              128 + 60 * sin(Double(x) * 0.3 + Double(i) * 0.7 + Double(c))
              + 50 * cos(Double(y) * 0.2 * Double(c + 1) + Double(i % 5))
            pixels.append(UInt8(max(0, min(255, value.rounded()))))
          }
        }
      }
    }
    return LabeledImages(
      channels: channels, height: side, width: side, classNames: ["a", "b"], pixels: pixels,
      labels: (0..<count).map { Int32($0 % 2) })
  }

  /// `photoLikeImages` with a label mask each: blocks of 4×4 pixels labelled
  /// `(x/4 + 2·(y/4) + i) mod classes`, the first row 255 (ignore), one class missing from every
  /// third image; each image labelled with its mask's largest class index, as a mask shard needs.
  static func segmentationImages(count: Int, channels: Int, side: Int, classes: Int) -> LabeledImages {
    let photos = photoLikeImages(count: count, channels: channels, side: side)
    var masks: [UInt8] = []
    for i in 0..<count {
      for y in 0..<side {
        for x in 0..<side {
          let value = (x / 4 + 2 * (y / 4) + i) % classes
          masks.append(y == 0 ? 255 : UInt8(i % 3 == 0 && value == 1 ? 0 : value))
        }
      }
    }
    let labels = (0..<count).map { i in
      Int32(masks[(i * side * side)..<((i + 1) * side * side)].filter { $0 != 255 }.max() ?? 0)
    }
    return LabeledImages(
      channels: channels, height: side, width: side, classNames: (0..<classes).map { "k\($0)" },
      pixels: photos.pixels, labels: labels, masks: masks)
  }

  /// A tiny labelled set with the given class counts, 1×3×2 images with distinct pixels.
  static func tinyImages(counts: [Int]) -> LabeledImages {
    var labels: [Int32] = []
    var remaining = counts
    while remaining.contains(where: { $0 > 0 }) {
      for c in remaining.indices where remaining[c] > 0 {
        labels.append(Int32(c))
        remaining[c] -= 1
      }
    }
    return LabeledImages(
      channels: 1, height: 3, width: 2, classNames: counts.indices.map { "c\($0)" },
      pixels: labels.indices.flatMap { Fixtures.pixels(index: $0, count: 6) }, labels: labels)
  }
}

struct FixtureError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
