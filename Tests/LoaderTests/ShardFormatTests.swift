import Foundation
import Loader
import XCTest

/// The `.imbs` format: a round trip, records read one by one exactly as the whole-shard read
/// gives them, PNG and JPEG records, a header read that decompresses nothing, and one clear
/// error for every kind of damage.
final class ShardFormatTests: XCTestCase {
  private var directory: URL!
  private let images = Fixtures.tinyImages(counts: [7000, 3000, 5])

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory("shard-tests") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private func writeShard(_ name: String = "s.imbs") throws -> (path: String, bytes: [UInt8]) {
    try write(images, encoding: .raw, name)
  }

  private func write(_ images: LabeledImages, encoding: RecordEncoding, _ name: String) throws -> (
    path: String, bytes: [UInt8]
  ) {
    let path = directory.appendingPathComponent(name).path
    let (bytes, _) = try ShardWriter.encode(images, encoding: encoding, jpegQuality: 95, zstdLevel: 3)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return (path, bytes)
  }

  /// Every record of `path` read on its own, in a shuffled order, through one `ShardFile`.
  private func recordsOneByOne(_ path: String) throws -> [UInt8] {
    let file = try ShardFile(path: path)
    let size = file.header.imageSize
    var pixels = [UInt8](repeating: 0, count: file.header.recordCount * size)
    let reader = RecordReader()
    var order = Array(0..<file.header.recordCount)
    var generator = SystemRandomNumberGenerator()
    order.shuffle(using: &generator)
    try pixels.withUnsafeMutableBufferPointer { target in
      for index in order { try file.pixels(index, into: target.baseAddress! + index * size, reader: reader) }
    }
    return pixels
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
    XCTAssertEqual(header.labels, images.labels)
    XCTAssertEqual(header.encoding, .raw)
  }

  /// The random-access reader (one `pread` and one frame per record, any order) against the
  /// sequential one (the whole file, records in order).
  func testRecordsReadOneByOneEqualTheSequentialRead() throws {
    let photos = Fixtures.photoLikeImages(count: 300, channels: 3, side: 12)
    let (path, _) = try write(photos, encoding: .raw, "photos.imbs")
    let header = try ShardReader.header(at: path)
    XCTAssertFalse(header.dictionary.isEmpty, "300 records of 432 bytes train a dictionary")
    XCTAssertEqual(try ShardReader.read(at: path).pixels, photos.pixels)
    XCTAssertEqual(try recordsOneByOne(path), photos.pixels)
  }

  /// PNG records are lossless; JPEG records (quality 95, no chroma subsampling) stay within a
  /// few levels of the originals on smooth images; both read the same one by one.
  func testPNGAndJPEGRecords() throws {
    for channels in [1, 3] {
      let photos = Fixtures.photoLikeImages(count: 40, channels: channels, side: 16)
      let (png, _) = try write(photos, encoding: .png, "png\(channels).imbs")
      XCTAssertEqual(try ShardReader.read(at: png).pixels, photos.pixels)
      XCTAssertEqual(try recordsOneByOne(png), photos.pixels)
      let (jpeg, _) = try write(photos, encoding: .jpeg, "jpeg\(channels).imbs")
      let decoded = try ShardReader.read(at: jpeg).pixels
      XCTAssertEqual(try recordsOneByOne(jpeg), decoded)
      let meanError =
        zip(decoded, photos.pixels).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) }
        / Double(decoded.count)
      XCTAssertLessThan(meanError, 2.5, "\(channels) channel(s)")
      XCTAssertNotEqual(decoded, photos.pixels, "JPEG is lossy: equal pixels would mean raw records")
    }
  }

  /// The header is read without touching the records: damage there goes unnoticed by `header`
  /// and is caught by `read`, naming the record, while the other records stay readable.
  func testHeaderReadDoesNotDecompress() throws {
    let (_, bytes) = try writeShard()
    let path = try damaged(bytes) { $0[$0.count - 3] ^= 0x01 }
    XCTAssertEqual(try ShardReader.header(at: path).recordCount, 10_005)
    XCTAssertThrowsError(try ShardReader.read(at: path)) { error in
      guard case .corruptRecord(let reported, 10_004, _) = error as? ShardError else {
        return XCTFail("\(error)")
      }
      XCTAssertEqual(reported, path)
    }
    let file = try ShardFile(path: path)
    var pixels = [UInt8](repeating: 0, count: 6)
    try file.pixels(0, into: &pixels, reader: RecordReader())
    XCTAssertEqual(pixels, Array(images.pixels[0..<6]))
  }

  func testEveryByteOfARecordIsCovered() throws {
    let photos = Fixtures.photoLikeImages(count: 50, channels: 3, side: 8)
    let (_, bytes) = try write(photos, encoding: .raw, "photos.imbs")
    let record = try ShardReader.header(at: try write(photos, encoding: .raw, "again.imbs").path).records[7]
    // Flip one bit at every byte of the frame: each must be detected.
    for offset in record.offset..<(record.offset + record.storedSize) {
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
