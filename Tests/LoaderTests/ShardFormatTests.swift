import Foundation
import Loader
import XCTest

/// The `.imbs` format: a round trip, a header read that decompresses nothing, and one clear
/// error for every kind of damage.
final class ShardFormatTests: XCTestCase {
  private var directory: URL!
  private let images = Fixtures.tinyImages(counts: [7000, 3000, 5])

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory("shard-tests") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private func writeShard(_ name: String = "s.imbs") throws -> (path: String, bytes: [UInt8]) {
    let path = directory.appendingPathComponent(name).path
    try ShardWriter.write(images, to: path, zstdLevel: 3)
    return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
  }

  private func damaged(_ bytes: [UInt8], _ change: (inout [UInt8]) -> Void) throws -> String {
    var copy = bytes
    change(&copy)
    let path = directory.appendingPathComponent("damaged.imbs").path
    try Data(copy).write(to: URL(fileURLWithPath: path))
    return path
  }

  func testRoundTripGivesBackEveryRecordInOrder() throws {
    let (path, bytes) = try writeShard()
    let read = try ShardReader.read(at: path)
    XCTAssertEqual(read.labels, images.labels)
    XCTAssertEqual(read.pixels, images.pixels)
    XCTAssertEqual(read.classNames, ["c0", "c1", "c2"])
    XCTAssertEqual(Array(bytes.prefix(8)), Array("IMBSHARD".utf8))
    let header = try ShardReader.header(at: path)
    XCTAssertEqual(header.recordCount, 10_005)
    XCTAssertEqual(header.classCounts, [7000, 3000, 5])
    // 8 bytes per record (2 label + 6 pixels): 1 MiB / 8 = 131,072 records per chunk → 1 chunk.
    XCTAssertEqual(header.chunks.count, 1)
  }

  /// The header is read without touching the chunks: damage there goes unnoticed by `header`
  /// and is caught by `read`.
  func testHeaderReadDoesNotDecompress() throws {
    let (_, bytes) = try writeShard()
    let path = try damaged(bytes) { $0[$0.count - 20] ^= 0x01 }
    XCTAssertEqual(try ShardReader.header(at: path).recordCount, 10_005)
    XCTAssertThrowsError(try ShardReader.read(at: path)) { error in
      guard case .corruptChunk(let reported, 0, _) = error as? ShardError else { return XCTFail("\(error)") }
      XCTAssertEqual(reported, path)
    }
  }

  func testEveryByteOfADataChunkIsCovered() throws {
    let (_, bytes) = try writeShard()
    let header = try ShardReader.header(at: try writeShard("again.imbs").path)
    let chunk = header.chunks[0]
    // Flip one bit at several places across the frame: each must be detected.
    for offset in stride(
      from: chunk.offset, to: chunk.offset + chunk.compressedSize, by: max(1, chunk.compressedSize / 13))
    {
      let path = try damaged(bytes) { $0[offset] ^= 0x04 }
      XCTAssertThrowsError(try ShardReader.read(at: path), "flipped byte at \(offset) went unnoticed")
    }
  }

  func testWrongMagic() throws {
    let (_, bytes) = try writeShard()
    let path = try damaged(bytes) { $0.replaceSubrange(0..<8, with: Array("PK\u{3}\u{4}ABCD".utf8)) }
    XCTAssertThrowsError(try ShardReader.header(at: path)) {
      XCTAssertEqual($0 as? ShardError, .notAShard(path: path, found: Array("PK\u{3}\u{4}ABCD".utf8)))
      XCTAssertEqual(
        "\($0)", "\(path): not an imbal-dist shard (expected magic \"IMBSHARD\", found \"PK??ABCD\")")
    }
  }

  func testWrongVersion() throws {
    let (_, bytes) = try writeShard()
    let path = try damaged(bytes) { $0[8] = 9 }
    XCTAssertThrowsError(try ShardReader.read(at: path)) {
      XCTAssertEqual($0 as? ShardError, .unsupportedVersion(path: path, version: 9))
    }
  }

  func testTruncatedShard() throws {
    let (_, bytes) = try writeShard()
    let path = try damaged(bytes) { $0.removeLast(1) }
    XCTAssertThrowsError(try ShardReader.header(at: path)) {
      XCTAssertEqual(
        $0 as? ShardError, .truncated(path: path, expectedBytes: bytes.count, foundBytes: bytes.count - 1))
    }
    let cut = try damaged(bytes) { $0.removeLast($0.count - 10) }
    XCTAssertThrowsError(try ShardReader.read(at: cut)) {
      XCTAssertEqual($0 as? ShardError, .truncated(path: cut, expectedBytes: 20, foundBytes: 10))
    }
  }

  func testTrailingBytes() throws {
    let (_, bytes) = try writeShard()
    let path = try damaged(bytes) { $0.append(0) }
    XCTAssertThrowsError(try ShardReader.read(at: path)) {
      XCTAssertEqual(
        $0 as? ShardError, .trailingBytes(path: path, expectedBytes: bytes.count, foundBytes: bytes.count + 1)
      )
    }
  }

  func testFlippedHeaderByteFailsTheCRC() throws {
    let (_, bytes) = try writeShard()
    let path = try damaged(bytes) { $0[30] ^= 0x20 }  // inside the class names
    XCTAssertThrowsError(try ShardReader.header(at: path)) {
      XCTAssertEqual($0 as? ShardError, .corruptHeader(path: path))
    }
  }

  func testMissingShard() {
    let path = directory.appendingPathComponent("absent.imbs").path
    XCTAssertThrowsError(try ShardReader.read(at: path)) {
      XCTAssertEqual($0 as? ShardError, .missing(path: path))
    }
  }
}
