import CZlib

/// The `.imbs` shard layout (byte by byte in docs/shard-format.md): magic, version, header
/// length, a header with shape, class names, counts and a chunk table, the header's CRC-32,
/// then the chunks, each one zstd frame of records `label:uint16le, pixels:uint8[C·H·W]`.
public enum ShardFormat {
  public static let magic: [UInt8] = Array("IMBSHARD".utf8)
  public static let version: UInt32 = 1
  /// Magic (8) + version (4) + header length (4).
  static let prefixSize = 16
  /// Records are grouped into chunks of about this many uncompressed bytes.
  static let targetChunkBytes = 1 << 20

  static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
  }
}

/// One chunk table entry: where the chunk's zstd frame is and how many records it holds.
public struct ShardChunk: Equatable, Sendable {
  public let offset: Int
  public let compressedSize: Int
  public let records: Int
}

/// Everything about a shard that its header says, readable without decompressing anything.
public struct ShardHeader: Equatable, Sendable {
  public let channels: Int
  public let height: Int
  public let width: Int
  public let classNames: [String]
  public let recordCount: Int
  public let classCounts: [Int]
  public let chunks: [ShardChunk]

  public var imageSize: Int { channels * height * width }
  public var recordSize: Int { 2 + imageSize }

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
    bytes.u64(recordCount)
    for count in classCounts { bytes.u64(count) }
    bytes.u32(chunks.count)
    for chunk in chunks {
      bytes.u64(chunk.offset)
      bytes.u64(chunk.compressedSize)
      bytes.u32(chunk.records)
      bytes.u32(0)
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
    guard channels > 0, height > 0, width > 0, classCount > 0 else {
      throw ShardError.malformedHeader(
        path: path, detail: "image shape \(channels)×\(height)×\(width), \(classCount) classes")
    }
    classNames = try (0..<classCount).map { _ in
      String(decoding: try reader.take(try reader.u16()), as: UTF8.self)
    }
    recordCount = try reader.u64()
    classCounts = try (0..<classCount).map { _ in try reader.u64() }
    let chunkCount = try reader.u32()
    chunks = try (0..<chunkCount).map { _ in
      let chunk = ShardChunk(
        offset: try reader.u64(), compressedSize: try reader.u64(), records: try reader.u32())
      _ = try reader.u32()
      return chunk
    }
    guard reader.isAtEnd else {
      throw ShardError.malformedHeader(path: path, detail: "\(reader.remaining) unexpected bytes")
    }
    guard classCounts.reduce(0, +) == recordCount else {
      throw ShardError.malformedHeader(
        path: path, detail: "class counts sum to \(classCounts.reduce(0, +)), not \(recordCount)")
    }
    guard chunks.reduce(0, { $0 + $1.records }) == recordCount else {
      throw ShardError.malformedHeader(
        path: path, detail: "chunks hold a different number of records than \(recordCount)")
    }
  }

  init(
    channels: Int, height: Int, width: Int, classNames: [String], recordCount: Int, classCounts: [Int],
    chunks: [ShardChunk]
  ) {
    self.channels = channels
    self.height = height
    self.width = width
    self.classNames = classNames
    self.recordCount = recordCount
    self.classCounts = classCounts
    self.chunks = chunks
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
