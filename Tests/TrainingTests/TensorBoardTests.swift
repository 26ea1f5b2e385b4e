import Foundation
import Training
import XCTest

final class TensorBoardTests: XCTestCase {
  func testCRC32CKnownVectors() {
    // The check value of CRC-32C, and RFC 3720 B.4's 32 zeros and 32 0xFF bytes (all three confirmed
    // with the `crc32c` package from PyPI).
    XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
    XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
    XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
    XCTAssertEqual(CRC32C.checksum([]), 0)
  }

  /// Masking as TensorFlow's `crc32c::Mask`: rotate right 15, add 0xa282ead8. For
  /// "123456789": ror(0xE3069283, 15) = 0x2507C60D, + 0xA282EAD8 = 0xC78AB0E5 (computed by hand
  /// and with Python: `((c >> 15) | (c << 17)) & 0xffffffff` then `+ 0xa282ead8 mod 2^32`).
  func testMaskedCRC() {
    XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), 0xC78A_B0E5)
  }

  /// An event file as TensorBoard reads it: records framed with length and masked CRCs, the
  /// first holding `file_version`, then one scalar summary per call.
  func testEventFileFraming() throws {
    let directory = NSTemporaryDirectory() + "tb-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let writer = try EventFileWriter(directory: directory, now: Date(timeIntervalSince1970: 1000))
    try writer.scalars([("valid/macro_f1", 0.5)], step: 3, wallTime: Date(timeIntervalSince1970: 1001))
    let bytes = [UInt8](FileManager.default.contents(atPath: writer.path)!)
    XCTAssertTrue(writer.path.hasSuffix(".\(ProcessInfo.processInfo.hostName)"))
    XCTAssertTrue(writer.path.contains("/events.out.tfevents.1000."))

    var records: [[UInt8]] = []
    var at = 0
    while at < bytes.count {
      let lengthBytes = Array(bytes[at..<(at + 8)])
      let length = lengthBytes.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
      XCTAssertEqual(u32(bytes, at + 8), CRC32C.masked(lengthBytes))
      let data = Array(bytes[(at + 12)..<(at + 12 + length)])
      XCTAssertEqual(u32(bytes, at + 12 + length), CRC32C.masked(data))
      records.append(data)
      at += 16 + length
    }
    XCTAssertEqual(records.count, 2)
    // Event{wall_time=1000.0 (field 1, fixed64), file_version="brain.Event:2" (field 3)}.
    XCTAssertEqual(records[0], [0x09] + le64(1000.0) + [0x1A, 13] + Array("brain.Event:2".utf8))
    // Event{wall_time=1001, step=3, summary{value{tag="valid/macro_f1", simple_value=0.5}}}:
    // Value = 0A 0E <tag> 15 <0.5f>; Summary = 0A <len Value> Value; Event field 5 = 2A <len>.
    let value = [0x0A, 14] + Array("valid/macro_f1".utf8) + [0x15, 0, 0, 0, 0x3F]
    let summary = [0x0A, UInt8(value.count)] + value
    XCTAssertEqual(records[1], [0x09] + le64(1001.0) + [0x10, 3] + [0x2A, UInt8(summary.count)] + summary)
  }

  private func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
  }

  private func le64(_ value: Double) -> [UInt8] {
    withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
  }
}
