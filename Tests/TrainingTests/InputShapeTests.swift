import Foundation
import XCTest

/// An image size a model cannot take ends the run before any training, with one line naming
/// the model, the size and what it accepts (it used to kill the rank with SIGILL), and leaves
/// no run directory behind.
final class InputShapeTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("shapes-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// A packed dataset of `height`×`width` grey noise in 3 classes, from IDX files written here.
  private func dataset(height: Int, width: Int) throws -> String {
    let source = directory.appendingPathComponent("idx-\(height)x\(width)")
    try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
    func bigEndian(_ values: [UInt32]) -> [UInt8] {
      values.flatMap { withUnsafeBytes(of: $0.bigEndian, Array.init) }
    }
    for (prefix, count) in [("train", 120), ("t10k", 30)] {
      let pixels = (0..<(count * height * width)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
      try Data(bigEndian([0x803, UInt32(count), UInt32(height), UInt32(width)]) + pixels)
        .write(to: source.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
      try Data(bigEndian([0x801, UInt32(count)]) + (0..<count).map { UInt8($0 % 3) })
        .write(to: source.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }
    let out = directory.appendingPathComponent("packed-\(height)x\(width)").path
    let pack = try CommandRunner.single([
      "pack", "--source", "idx", "--input", source.path, "--out", out, "--val-per-class", "5", "--shards",
      "2",
    ])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    return out
  }

  func testSizesAModelCannotTakeAreRefusedBeforeTraining() throws {
    let tiny = try dataset(height: 3, width: 3)
    let run = directory.appendingPathComponent("run").path
    let small = try CommandRunner.single(["train", "--data", tiny, "--batch-size", "16", "--out", run])
    XCTAssertEqual(small.status, 1, small.standardError)
    XCTAssertEqual(
      small.standardError,
      "imbal-dist: error: --model small-cnn cannot take 3×3 images; it accepts height and width of at least 4 (two 2×2 max pools)\n"
    )
    XCTAssertFalse(FileManager.default.fileExists(atPath: run), "a refused run leaves no directory")

    let oblong = try dataset(height: 27, width: 28)
    let unet = try CommandRunner.single([
      "train", "--data", oblong, "--model", "unet", "--mode", "end-to-end", "--batch-size", "16",
    ])
    XCTAssertEqual(unet.status, 1, unet.standardError)
    XCTAssertTrue(unet.standardError.contains("--model unet cannot take 27×28 images"), unet.standardError)
    let classifier = try CommandRunner.single([
      "train", "--data", oblong, "--model", "mobilenetv2", "--max-steps", "1", "--batch-size", "16",
    ])
    XCTAssertEqual(
      classifier.status, 0, "without its decoder MobileNetV2 takes 27×28: \(classifier.standardError)")
  }
}
