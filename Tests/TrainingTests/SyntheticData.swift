import Foundation
import Loader
import Model
import PRNG
import XCTest

/// Small datasets written by the tests themselves, for what Fashion-MNIST cannot show: RGB
/// 32×32 records (CIFAR-10's binary layout) and folders of image files of mixed sizes
/// (netpbm files, which libvips decodes like any photo).
enum SyntheticData {
  /// `labels.count` random 1-channel `side`×`side` images with random masks over `classNames`
  /// (every `ignoreEvery`-th pixel the ignore label), drawn from `seed` and `stream`, and an
  /// untrained segmentation UNet for them, initialised from `networkSeed`.
  static func segmentation(
    side: Int, classNames: [String], labels: [Int32], ignoreEvery: Int, seed: UInt64, stream: UInt64,
    networkSeed: UInt64
  ) throws -> (images: LabeledImages, network: Network) {
    let (count, classes) = (labels.count * side * side, classNames.count)
    var rng = Xoshiro256(seed: seed, stream: [stream])
    let pixels = (0..<count).map { _ in UInt8(rng.nextIndex(below: 256)) }
    let masks = (0..<count).map { p in
      p % ignoreEvery == 0 ? PixelLoss.ignoreLabel : UInt8(rng.nextIndex(below: classes))
    }
    let images = LabeledImages(
      channels: 1, height: side, width: side, classNames: classNames, pixels: pixels, labels: labels,
      masks: masks)
    let network = try Architecture.unet.makeNetwork(
      channels: 1, height: side, width: side, classes: classes, task: .segmentation)
    network.initializeParameters(seed: networkSeed)
    return (images, network)
  }

  /// Class `c`'s image `n`: a colour gradient whose direction and hue depend on the class,
  /// with a pseudo-random speckle, so that a few steps learn something.
  static func pixel(class c: Int, image n: Int, channel: Int, row: Int, column: Int, size: Int) -> UInt8 {
    let ramp = (c % 2 == 0 ? row : column) * 255 / max(size - 1, 1)
    let hue = (channel * 85 + c * 25) % 256
    let speckle = (n &* 7919 &+ row &* 31 &+ column &* 17 &+ channel &* 3) % 41
    return UInt8(truncatingIfNeeded: (ramp + hue) / 2 + speckle)
  }

  /// A CIFAR-10-format folder (`data_batch_1…5.bin`, `test_batch.bin`, `batches.meta.txt`) of
  /// `perBatch` × 5 training and `test` test images, packed into `directory/name`; returns
  /// the dataset's path.
  static func cifar10(in directory: URL, perBatch: Int, test: Int, name: String = "cifar") throws -> String {
    let source = directory.appendingPathComponent("\(name)-source")
    try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
    func records(_ count: Int, offset: Int) -> Data {
      var bytes: [UInt8] = []
      for n in 0..<count {
        let label = (n + offset) % 10
        bytes.append(UInt8(label))
        for channel in 0..<3 {
          for row in 0..<32 {
            for column in 0..<32 {
              bytes.append(
                pixel(class: label, image: n + offset, channel: channel, row: row, column: column, size: 32))
            }
          }
        }
      }
      return Data(bytes)
    }
    for batch in 1...5 {
      try records(perBatch, offset: batch * perBatch).write(
        to: source.appendingPathComponent("data_batch_\(batch).bin"))
    }
    try records(test, offset: 0).write(to: source.appendingPathComponent("test_batch.bin"))
    try (0..<10).map { "class\($0)" }.joined(separator: "\n").write(
      to: source.appendingPathComponent("batches.meta.txt"), atomically: true, encoding: .utf8)
    let out = directory.appendingPathComponent(name).path
    let pack = try CommandRunner.single([
      "pack", "--source", "cifar10", "--input", source.path, "--out", out, "--val-per-class", "4",
      "--shards", "2",
    ])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    return out
  }

  /// An RGB image of `height`×`width` in binary PPM (P6), a grey one in PGM (P5).
  static func writeNetpbm(class c: Int, image n: Int, height: Int, width: Int, channels: Int, to path: String)
    throws
  {
    var bytes = Array("\(channels == 3 ? "P6" : "P5")\n\(width) \(height)\n255\n".utf8)
    for row in 0..<height {
      for column in 0..<width {
        for channel in 0..<channels {
          bytes.append(
            pixel(class: c, image: n, channel: channel, row: row, column: column, size: max(height, width)))
        }
      }
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }
}
