import CZlib

/// The `.imbs` shard layout (byte by byte in docs/shard-format.md): magic, version, header
/// length, a header with shape, class names, counts, the record encoding, a zstd dictionary,
/// whether records carry a label mask, a record table (offset, size, label) and each mask's
/// classes, the header's CRC-32, then the records, each one zstd frame, so that any record is
/// read on its own.
public enum ShardFormat {
  public static let magic: [UInt8] = Array("IMBSHARD".utf8)
  /// The version written; version 2 (no mask field) is still read.
  public static let version: UInt32 = 3
  public static let readableVersions: ClosedRange<UInt32> = 2...3
  /// The mask value of a pixel that belongs to no class and counts nowhere (VOC's border).
  public static let ignoreLabel: UInt8 = 255
  /// Magic (8) + version (4) + header length (4).
  static let prefixSize = 16
  /// The largest zstd dictionary trained per shard, and the record bytes it is trained on.
  static let dictionaryCapacity = 16 << 10
  static let dictionarySampleBytes = 4 << 20
  /// The most bytes an image may have (`C·H·W`, 256 MiB: 3 × 9,400²), so that no header can
  /// make a reader allocate more for one record.
  public static let maxImageBytes = 1 << 28

  static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
  }
}

/// One record table entry: where the record's zstd frame is, its size, and its label.
public struct ShardRecord: Equatable, Sendable {
  public let offset: Int
  public let storedSize: Int
  public let label: Int32
}

/// One class in a record's label mask and how many of the mask's pixels it labels.
public struct MaskClass: Equatable, Sendable {
  public let label: Int32
  public let pixels: Int

  public init(label: Int32, pixels: Int) {
    self.label = label
    self.pixels = pixels
  }
}

/// Everything about a shard that its header says (labels included), readable without
/// decompressing any record.
public struct ShardHeader: Equatable, Sendable {
  public let channels: Int
  public let height: Int
  public let width: Int
  public let classNames: [String]
  public let classCounts: [Int]
  public let encoding: RecordEncoding
  /// The zstd dictionary every record was compressed with (empty: none).
  public let dictionary: [UInt8]
  public let records: [ShardRecord]
  /// Per record, the classes of its label mask in increasing order with their pixel counts;
  /// nil when records carry no mask (classification).
  public let maskClasses: [[MaskClass]]?
  /// The CRC-32 stored after the header, which the manifest records to tell this shard from
  /// any other (0 until the header is written or read).
  public internal(set) var checksum: UInt32 = 0

  public var recordCount: Int { records.count }
  public var imageSize: Int { channels * height * width }
  public var labels: [Int32] { records.map(\.label) }
  public var hasMasks: Bool { maskClasses != nil }
  /// Bytes of a record's label mask: one plane of `height × width` (0 without masks).
  public var maskSize: Int { hasMasks ? height * width : 0 }

  /// Serialises the header body (what the header length counts).
  func encoded() -> [UInt8] {
    var bytes = ByteWriter()
    bytes.u32(channels)
    bytes.u32(height)
    bytes.u32(width)
    bytes.u32(classNames.count)
    for name in classNames {
      let utf8 = Array(name.utf8)
      bytes.u16(utf8.count)
      bytes.append(utf8)
    }
    bytes.u64(records.count)
    for count in classCounts { bytes.u64(count) }
    bytes.u32(encoding.code)
    bytes.u32(dictionary.count)
    bytes.append(dictionary)
    bytes.u32(hasMasks ? 1 : 0)
    for record in records {
      bytes.u64(record.offset)
      bytes.u32(record.storedSize)
      bytes.u16(Int(record.label))
      bytes.u16(0)
    }
    for classes in maskClasses ?? [] {
      bytes.u16(classes.count)
      for entry in classes {
        bytes.u16(Int(entry.label))
        bytes.u32(entry.pixels)
      }
    }
    return bytes.bytes
  }

  /// Parses a header body of format `version`; `path` only names the file in errors.
  init(decoding body: ArraySlice<UInt8>, version: UInt32, path: String) throws {
    var reader = ByteReader(bytes: body, path: path)
    channels = try reader.u32()
    height = try reader.u32()
    width = try reader.u32()
    let classCount = try reader.u32()
    guard [1, 3].contains(channels), height > 0, width > 0, classCount > 0,
      height <= ShardFormat.maxImageBytes / width / channels
    else {
      throw ShardError.malformedHeader(
        path: path,
        detail:
          "image shape \(channels)×\(height)×\(width), \(classCount) classes (images have 1 or 3 channels and at most \(ShardFormat.maxImageBytes) bytes)"
      )
    }
    guard classCount <= reader.remaining / 2 else {
      throw ShardError.malformedHeader(path: path, detail: "\(classCount) classes cannot fit in the header")
    }
    classNames = try (0..<classCount).map { _ in
      String(decoding: try reader.take(try reader.u16()), as: UTF8.self)
    }
    let recordCount = try reader.u64()
    guard classCount <= reader.remaining / 8, recordCount <= reader.remaining / 16 else {
      throw ShardError.malformedHeader(path: path, detail: "\(recordCount) records cannot fit in the header")
    }
    classCounts = try (0..<classCount).map { _ in try reader.u64() }
    let code = try reader.u32()
    guard let encoding = RecordEncoding(code: code) else {
      throw ShardError.malformedHeader(path: path, detail: "unknown record encoding \(code)")
    }
    self.encoding = encoding
    dictionary = Array(try reader.take(try reader.u32()))
    let maskPlanes = version >= 3 ? try reader.u32() : 0
    guard maskPlanes <= 1, maskPlanes == 0 || classCount < Int(ShardFormat.ignoreLabel) else {
      throw ShardError.malformedHeader(
        path: path,
        detail: "\(maskPlanes) mask planes for \(classCount) classes (at most one, and at most 255 classes)")
    }
    records = try (0..<recordCount).map { index in
      let record = ShardRecord(
        offset: try reader.u64(), storedSize: try reader.u32(), label: Int32(try reader.u16()))
      _ = try reader.u16()
      guard Int(record.label) < classCount else {
        throw ShardError.labelOutOfRange(
          path: path, record: index, label: Int(record.label), classes: classCount)
      }
      return record
    }
    if maskPlanes == 0 {
      maskClasses = nil
    } else {
      var lists: [[MaskClass]] = []
      for (index, record) in records.enumerated() {
        lists.append(
          try Self.readMaskClasses(
            of: index, label: record.label, reader: &reader, classes: classCount, pixels: height * width))
      }
      maskClasses = lists
    }
    guard reader.isAtEnd else {
      throw ShardError.malformedHeader(path: path, detail: "\(reader.remaining) unexpected bytes")
    }
    var tally = [Int](repeating: 0, count: classCount)
    for record in records { tally[Int(record.label)] += 1 }
    guard tally == classCounts else {
      throw ShardError.countsDisagree(
        path: path, detail: "its records hold class counts \(tally), its header says \(classCounts)")
    }
  }

  /// Reads record `index`'s mask classes: increasing labels below `classes`, each on at least
  /// one pixel, `pixels` at most in all, the record's own label among them (or 0 when none is).
  private static func readMaskClasses(
    of index: Int, label: Int32, reader: inout ByteReader, classes: Int, pixels: Int
  ) throws -> [MaskClass] {
    let count = try reader.u16()
    guard count <= classes else {
      throw ShardError.malformedHeader(
        path: reader.path, detail: "record \(index)'s mask lists \(count) classes")
    }
    let entries = try (0..<count).map { _ in
      MaskClass(label: Int32(try reader.u16()), pixels: try reader.u32())
    }
    let increasing = zip(entries, entries.dropFirst()).allSatisfy { $0.label < $1.label }
    guard increasing, entries.allSatisfy({ Int($0.label) < classes && $0.pixels > 0 }),
      entries.reduce(0, { $0 + $1.pixels }) <= pixels,
      entries.contains(where: { $0.label == label }) || (entries.isEmpty && label == 0)
    else {
      throw ShardError.malformedHeader(
        path: reader.path, detail: "record \(index)'s mask classes do not fit its mask or its label \(label)")
    }
    return entries
  }

  init(
    channels: Int, height: Int, width: Int, classNames: [String], classCounts: [Int],
    encoding: RecordEncoding,
    dictionary: [UInt8], records: [ShardRecord], maskClasses: [[MaskClass]]?
  ) {
    self.channels = channels
    self.height = height
    self.width = width
    self.classNames = classNames
    self.classCounts = classCounts
    self.encoding = encoding
    self.dictionary = dictionary
    self.records = records
    self.maskClasses = maskClasses
  }
}

/// Little-endian serialisation.
struct ByteWriter {
  var bytes: [UInt8] = []
  mutating func u16(_ value: Int) { append(littleEndian: UInt16(value)) }
  mutating func u32(_ value: Int) { append(littleEndian: UInt32(value)) }
  mutating func u64(_ value: Int) { append(littleEndian: UInt64(value)) }
  mutating func append(_ more: [UInt8]) { bytes += more }
  mutating func append<T: FixedWidthInteger>(littleEndian value: T) {
    withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
  }
}

/// Little-endian parsing that fails with the file's name instead of reading past the end.
struct ByteReader {
  let bytes: ArraySlice<UInt8>
  let path: String
  var position: Int

  init(bytes: ArraySlice<UInt8>, path: String) {
    self.bytes = bytes
    self.path = path
    position = bytes.startIndex
  }

  var isAtEnd: Bool { position == bytes.endIndex }
  var remaining: Int { bytes.endIndex - position }

  mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
    guard count <= remaining else {
      throw ShardError.malformedHeader(path: path, detail: "the header ends in the middle of a field")
    }
    defer { position += count }
    return bytes[position..<(position + count)]
  }

  mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
    try take(MemoryLayout<T>.size).reversed().reduce(T(0)) { $0 << 8 | T($1) }
  }

  mutating func u16() throws -> Int { Int(try integer(UInt16.self)) }
  mutating func u32() throws -> Int { Int(try integer(UInt32.self)) }
  mutating func u64() throws -> Int {
    let value = try integer(UInt64.self)
    guard value <= UInt64(Int.max) else {
      throw ShardError.malformedHeader(path: path, detail: "a size is out of range")
    }
    return Int(value)
  }
}
