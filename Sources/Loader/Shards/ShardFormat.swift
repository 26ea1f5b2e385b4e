import CZlib

/// The `.imbs` shard layout (byte by byte in docs/shard-format.md): magic, version, header
/// length, a header with shape, class names, counts, the record encoding, a zstd dictionary
/// and a record table (offset, size, label), the header's CRC-32, then the records, each one
/// zstd frame, so that any record is read on its own.
public enum ShardFormat {
  public static let magic: [UInt8] = Array("IMBSHARD".utf8)
  public static let version: UInt32 = 2
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
  /// The CRC-32 stored after the header, which the manifest records to tell this shard from
  /// any other (0 until the header is written or read).
  public internal(set) var checksum: UInt32 = 0

  public var recordCount: Int { records.count }
  public var imageSize: Int { channels * height * width }
  public var labels: [Int32] { records.map(\.label) }

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
    for record in records {
      bytes.u64(record.offset)
      bytes.u32(record.storedSize)
      bytes.u16(Int(record.label))
      bytes.u16(0)
    }
    return bytes.bytes
  }

  /// Parses a header body; `path` only names the file in errors.
  init(decoding body: ArraySlice<UInt8>, path: String) throws {
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

  init(
    channels: Int, height: Int, width: Int, classNames: [String], classCounts: [Int],
    encoding: RecordEncoding,
    dictionary: [UInt8], records: [ShardRecord]
  ) {
    self.channels = channels
    self.height = height
    self.width = width
    self.classNames = classNames
    self.classCounts = classCounts
    self.encoding = encoding
    self.dictionary = dictionary
    self.records = records
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
