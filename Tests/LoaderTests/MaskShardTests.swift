import CZlib
import Foundation
import Loader
import XCTest

/// Format version 3: records that carry a label mask after their image (segmentation), each
/// mask's classes and pixel counts in the header, every mask checked against them when read;
/// and version-2 shards (no mask field) still read.
final class MaskShardTests: XCTestCase {
  private var directory: URL!
  private let images = Fixtures.segmentationImages(count: 30, channels: 3, side: 16, classes: 3)

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory("mask-shard-tests") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private func write(_ bytes: [UInt8], _ name: String) throws -> String {
    let path = directory.appendingPathComponent(name).path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// The masks of `images`' image `index` counted here, class by class.
  private func counted(_ images: LabeledImages, _ index: Int) -> [MaskClass] {
    let plane = images.height * images.width
    let mask = images.masks![(index * plane)..<((index + 1) * plane)]
    return (0..<images.classCount).compactMap { k in
      let pixels = mask.filter { $0 == UInt8(k) }.count
      return pixels > 0 ? MaskClass(label: Int32(k), pixels: pixels) : nil
    }
  }

  func testMasksRoundTripExactlyInEveryEncoding() throws {
    for encoding in RecordEncoding.allCases {
      let (bytes, header) = try ShardWriter.encode(images, encoding: encoding, jpegQuality: 95, zstdLevel: 3)
      let path = try write(bytes, "\(encoding).imbs")
      let read = try ShardReader.read(at: path)
      XCTAssertEqual(read.masks, images.masks, "\(encoding)")
      XCTAssertEqual(read.labels, images.labels)
      if encoding != .jpeg { XCTAssertEqual(read.pixels, images.pixels, "\(encoding)") }
      let reread = try ShardReader.header(at: path)
      XCTAssertEqual(reread, header)
      XCTAssertTrue(reread.hasMasks)
      XCTAssertEqual(reread.maskClasses, (0..<images.count).map { counted(images, $0) })
      XCTAssertEqual(reread.maskClasses?[0].map(\.label), [0, 2], "image 0 has no class 1")
      // One record at a time, in reverse order, mask and image.
      let file = try ShardFile(path: path)
      let reader = RecordReader()
      for index in (0..<images.count).reversed() {
        var pixels = [UInt8](repeating: 0, count: images.imageSize)
        var mask = [UInt8](repeating: 0, count: images.maskSize)
        try file.pixels(index, into: &pixels, mask: &mask, reader: reader)
        XCTAssertEqual(mask, Array(images.masks![(index * 256)..<((index + 1) * 256)]))
        XCTAssertEqual(pixels, Array(read.pixels[(index * 768)..<((index + 1) * 768)]))
      }
    }
  }

  /// A mask value that is neither a class nor the ignore label, and a mask whose pixel counts
  /// differ from its header's list, are corrupt records named by shard and record.
  func testAMaskDisagreeingWithItsHeaderIsACorruptRecord() throws {
    var stray = images.masks!
    stray[5] = 7  // row 0 of image 0: was ignore, so the header's counts do not change
    let strayImages = LabeledImages(
      channels: 3, height: 16, width: 16, classNames: images.classNames, pixels: images.pixels,
      labels: images.labels, masks: stray)
    let strayPath = try write(try ShardWriter.encode(strayImages, zstdLevel: 3).bytes, "stray.imbs")
    XCTAssertThrowsError(try ShardReader.read(at: strayPath)) {
      XCTAssertEqual(
        "\($0)", "\(strayPath): record 0 is corrupt (its mask holds label 7, outside the 3 classes)")
    }

    let (bytes, header) = try ShardWriter.encode(images, zstdLevel: 3)
    // Record 0's list is (0, p0), (2, p2): move one pixel from class 2 to class 0.
    var moved = bytes
    let list = maskFieldOffset(header) + 4 + 16 * header.recordCount + 2
    XCTAssertEqual(readLittleEndian(moved, at: list, bytes: 2), 0)
    XCTAssertEqual(readLittleEndian(moved, at: list + 6, bytes: 2), 2)
    writeLittleEndian(&moved, at: list + 2, bytes: 4, readLittleEndian(moved, at: list + 2, bytes: 4) + 1)
    writeLittleEndian(&moved, at: list + 8, bytes: 4, readLittleEndian(moved, at: list + 8, bytes: 4) - 1)
    resealHeader(&moved)
    let movedPath = try write(moved, "moved.imbs")
    XCTAssertEqual(
      try ShardReader.header(at: movedPath).maskClasses?[0].first?.pixels,
      header.maskClasses![0][0].pixels + 1)
    XCTAssertThrowsError(try ShardReader.read(at: movedPath)) {
      XCTAssertEqual(
        "\($0)", "\(movedPath): record 0 is corrupt (its mask's class pixel counts differ from the header's)")
    }

    // A label that its own mask does not hold is refused with the header.
    var relabelled = bytes
    let table = maskFieldOffset(header) + 4
    writeLittleEndian(&relabelled, at: table + 12, bytes: 2, 1)  // image 0 holds no class 1
    resealHeader(&relabelled)
    let relabelledPath = try write(relabelled, "relabelled.imbs")
    XCTAssertThrowsError(try ShardReader.header(at: relabelledPath)) {
      XCTAssertEqual(
        "\($0)",
        "\(relabelledPath): shard header is malformed: record 0's mask classes do not fit its mask or its label 1"
      )
    }
  }

  /// A version-2 shard (written before masks: no mask field) reads as it always did.
  func testVersionTwoShardsStillRead() throws {
    let plain = Fixtures.photoLikeImages(count: 20, channels: 1, side: 8)
    let (bytes, header) = try ShardWriter.encode(plain, zstdLevel: 3)
    XCTAssertEqual(readLittleEndian(bytes, at: 8, bytes: 4), 3)
    XCTAssertFalse(header.hasMasks)
    let field = maskFieldOffset(header)
    XCTAssertEqual(readLittleEndian(bytes, at: field, bytes: 4), 0)
    var old = bytes
    old.removeSubrange(field..<(field + 4))
    writeLittleEndian(&old, at: 8, bytes: 4, 2)
    writeLittleEndian(&old, at: 12, bytes: 4, readLittleEndian(old, at: 12, bytes: 4) - 4)
    for record in 0..<header.recordCount {
      let at = field + 16 * record
      writeLittleEndian(&old, at: at, bytes: 8, readLittleEndian(old, at: at, bytes: 8) - 4)
    }
    resealHeader(&old)
    let path = try write(old, "v2.imbs")
    let read = try ShardReader.read(at: path)
    XCTAssertEqual(read.pixels, plain.pixels)
    XCTAssertEqual(read.labels, plain.labels)
    XCTAssertNil(read.masks)
    XCTAssertEqual(try ShardReader.header(at: path).records.map(\.label), header.records.map(\.label))
  }

  // MARK: - Bytes, by docs/shard-format.md

  /// Where the header's mask-plane field is: prefix (16), shape and class count (16), the names,
  /// record count (8), class counts (8 K), encoding (4), dictionary length and bytes (4 + D).
  private func maskFieldOffset(_ header: ShardHeader) -> Int {
    16 + 16 + header.classNames.reduce(0) { $0 + 2 + $1.utf8.count } + 8 + 8 * header.classNames.count + 4 + 4
      + header.dictionary.count
  }

  private func readLittleEndian(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> Int {
    (0..<count).reversed().reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
  }

  private func writeLittleEndian(_ bytes: inout [UInt8], at offset: Int, bytes count: Int, _ value: Int) {
    for i in 0..<count { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
  }

  /// Recomputes the CRC-32 (zlib's) after the header body.
  private func resealHeader(_ bytes: inout [UInt8]) {
    let end = 16 + readLittleEndian(bytes, at: 12, bytes: 4)
    let crc = bytes.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, UInt32(end))) }
    writeLittleEndian(&bytes, at: end, bytes: 4, crc)
  }
}
