import Foundation
import Loader
import XCTest

final class IDXTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "idx-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  /// Header of a rank-3 uint8 IDX file: magic 00 00 08 03, then three big-endian sizes.
  private func imageHeader(count: Int, rows: Int, columns: Int) -> [UInt8] {
    var header: [UInt8] = [0, 0, 8, 3]
    for value in [count, rows, columns] {
      for byte in 0..<4 { header.append(UInt8(truncatingIfNeeded: value >> (8 * (3 - byte)))) }
    }
    return header
  }

  private func write(_ bytes: [UInt8], _ name: String) throws -> String {
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
  }

  func testReadsAWellFormedFile() throws {
    let path = try write(imageHeader(count: 2, rows: 2, columns: 3) + Array(0..<12), "ok-idx3-ubyte")
    let array = try IDXArray(contentsOf: path)
    XCTAssertEqual(array.dimensions, [2, 2, 3])
    XCTAssertEqual(array.bytes, Array(0..<12))
  }

  func testRejectsATruncatedFileWithTheByteCounts() throws {
    let path = try write(
      imageHeader(count: 10, rows: 28, columns: 28) + [UInt8](repeating: 1, count: 100), "short-idx3-ubyte")
    XCTAssertThrowsError(try IDXArray(contentsOf: path)) { error in
      XCTAssertEqual(error as? IDXError, .truncated(path: path, expectedBytes: 16 + 7840, foundBytes: 116))
      XCTAssertEqual(
        "\(error)", "\(path): truncated IDX file: its header promises 7856 bytes, the file has 116")
    }
  }

  /// Dimensions whose product overflows (3 × 2³²−1 × 2³²−1) are refused before any size is
  /// computed from them, naming the file.
  func testRejectsDimensionsNoFileCanHold() throws {
    let path = try write(imageHeader(count: 3, rows: 0xFFFF_FFFF, columns: 0xFFFF_FFFF), "huge-idx3-ubyte")
    XCTAssertThrowsError(try IDXArray(contentsOf: path)) { error in
      XCTAssertEqual(
        "\(error)",
        "\(path): its header declares dimensions 3×4294967295×4294967295, more bytes than the file's 16")
    }
  }

  func testRejectsAWrongMagicNumber() throws {
    let path = try write([0x1F, 0x8C, 0x08, 0x03] + [UInt8](repeating: 0, count: 20), "bad-magic")
    XCTAssertThrowsError(try IDXArray(contentsOf: path)) { error in
      XCTAssertEqual(error as? IDXError, .badMagic(path: path, found: [0x1F, 0x8C, 0x08, 0x03]))
      XCTAssertEqual(
        "\(error)", "\(path): not an IDX file (the magic number should be 00 00 08 0N, found 1f 8c 08 03)")
    }
  }

  func testRejectsAnUnsupportedElementType() throws {
    let path = try write([0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0], "floats-idx1")
    XCTAssertThrowsError(try IDXArray(contentsOf: path)) { error in
      XCTAssertEqual(error as? IDXError, .unsupportedElementType(path: path, code: 0x0D))
    }
  }

  func testRejectsTrailingBytes() throws {
    let path = try write([0, 0, 8, 1, 0, 0, 0, 2, 5, 6, 7], "long-idx1-ubyte")
    XCTAssertThrowsError(try IDXArray(contentsOf: path)) { error in
      XCTAssertEqual(error as? IDXError, .trailingBytes(path: path, expectedBytes: 10, foundBytes: 11))
    }
  }

  func testMissingFileIsNamed() {
    let path = directory.appendingPathComponent("nope-idx3-ubyte.gz").path
    XCTAssertThrowsError(try IDXArray(contentsOf: path)) { error in
      XCTAssertEqual(error as? DataFileError, .missing(path: path))
      XCTAssertEqual("\(error)", "\(path): no such file")
    }
  }

  /// A gzip stream cut in half is reported as damaged, not silently read short.
  func testRejectsATruncatedGzipStream() throws {
    let source = "\(FashionMNIST.defaultDirectory)/train-labels-idx1-ubyte.gz"
    guard let whole = FileManager.default.contents(atPath: source) else {
      throw MissingDataset("\(source) is not installed (make deps installs dataset-fashion-mnist)")
    }
    let path = try write(Array(whole.prefix(whole.count / 2)), "half-labels-idx1-ubyte.gz")
    XCTAssertThrowsError(try IDXArray(contentsOf: path)) { error in
      guard case .corruptCompression(let reported, _) = error as? DataFileError else {
        return XCTFail("expected a compression error, got \(error)")
      }
      XCTAssertEqual(reported, path)
    }
  }

  func testLabelOutsideTheClassListIsRejected() throws {
    for (name, bytes) in [
      ("train-images-idx3-ubyte", imageHeader(count: 2, rows: 1, columns: 1) + [9, 9]),
      ("train-labels-idx1-ubyte", [0, 0, 8, 1, 0, 0, 0, 2, 1, 12]),
      ("t10k-images-idx3-ubyte", imageHeader(count: 1, rows: 1, columns: 1) + [9]),
      ("t10k-labels-idx1-ubyte", [0, 0, 8, 1, 0, 0, 0, 1, 1]),
    ] as [(String, [UInt8])] {
      _ = try write(bytes, name)
    }
    let labels = directory.appendingPathComponent("train-labels-idx1-ubyte").path
    XCTAssertThrowsError(try SourceKind.fashionMNIST.load(input: directory.path, ratios: [], seed: 0)) {
      XCTAssertEqual($0 as? DatasetError, .labelOutOfRange(path: labels, index: 1, label: 12, classes: 10))
    }
    // As a generic IDX source the classes are 0…12, so the same files are fine.
    XCTAssertEqual(try SourceKind.idx.load(input: directory.path, ratios: [], seed: 0).train.classCount, 13)
  }

  /// Images of height 0 (a valid IDX array, but nothing to train on; issue 18: pack wrote a
  /// dataset it could not read back) are refused naming the file and the size.
  func testImagesWithoutPixelsAreRefused() throws {
    for (name, bytes) in [
      ("train-images-idx3-ubyte", imageHeader(count: 2, rows: 0, columns: 28)),
      ("train-labels-idx1-ubyte", [0, 0, 8, 1, 0, 0, 0, 2, 1, 0]),
      ("t10k-images-idx3-ubyte", imageHeader(count: 1, rows: 0, columns: 28)),
      ("t10k-labels-idx1-ubyte", [0, 0, 8, 1, 0, 0, 0, 1, 1]),
    ] as [(String, [UInt8])] {
      _ = try write(bytes, name)
    }
    let images = directory.appendingPathComponent("train-images-idx3-ubyte").path
    XCTAssertThrowsError(try SourceKind.idx.load(input: directory.path, ratios: [], seed: 0)) {
      XCTAssertEqual("\($0)", "\(images): its images are 0×28 pixels; an image needs at least 1×1")
    }
  }
}
