import Foundation

/// Reads `.imbs` shards, trusting nothing: the header's CRC-32, the chunk table's layout
/// against the file size, every zstd frame's checksum and size, and the labels against the
/// header's class counts.
public enum ShardReader {
  /// The header alone, without decompressing any chunk (and checking that the file is as long
  /// as the chunk table says).
  public static func header(at path: String) throws -> ShardHeader {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw ShardError.missing(path: path) }
    defer { try? handle.close() }
    let fileSize = Int(try handle.seekToEnd())
    try handle.seek(toOffset: 0)
    let prefix = [UInt8](try handle.read(upToCount: ShardFormat.prefixSize) ?? Data())
    let bodySize = try checkPrefix(prefix[...], fileSize: fileSize, path: path)
    let rest = [UInt8](try handle.read(upToCount: bodySize + 4) ?? Data())
    return try parseHeader(prefix + rest, fileSize: fileSize, path: path)
  }

  /// Every record of the shard, verified.
  public static func read(at path: String) throws -> LabeledImages {
    guard let data = FileManager.default.contents(atPath: path) else { throw ShardError.missing(path: path) }
    let bytes = [UInt8](data)
    let header = try parseHeader(bytes, fileSize: bytes.count, path: path)
    let classes = header.classNames.count
    var pixels = [UInt8]()
    pixels.reserveCapacity(header.recordCount * header.imageSize)
    var labels = [Int32]()
    labels.reserveCapacity(header.recordCount)
    var tally = [Int](repeating: 0, count: classes)
    try bytes.withUnsafeBytes { file in
      for (index, chunk) in header.chunks.enumerated() {
        let frame = UnsafeRawBufferPointer(
          rebasing: file[chunk.offset..<(chunk.offset + chunk.compressedSize)])
        let records: [UInt8]
        do {
          records = try Zstd.decompress(frame, expectedSize: chunk.records * header.recordSize)
        } catch let failure as Zstd.Failure {
          throw ShardError.corruptChunk(path: path, chunk: index, reason: failure.reason)
        }
        for r in 0..<chunk.records {
          let start = r * header.recordSize
          let label = Int(records[start]) | Int(records[start + 1]) << 8
          guard label < classes else {
            throw ShardError.labelOutOfRange(path: path, record: labels.count, label: label, classes: classes)
          }
          tally[label] += 1
          labels.append(Int32(label))
          pixels.append(contentsOf: records[(start + 2)..<(start + header.recordSize)])
        }
      }
    }
    guard tally == header.classCounts else {
      throw ShardError.countsDisagree(
        path: path, detail: "its records hold class counts \(tally), its header says \(header.classCounts)")
    }
    return LabeledImages(
      channels: header.channels, height: header.height, width: header.width, classNames: header.classNames,
      pixels: pixels, labels: labels)
  }

  /// Checks magic, version and header length; returns the header body's size.
  private static func checkPrefix(_ prefix: ArraySlice<UInt8>, fileSize: Int, path: String) throws -> Int {
    guard prefix.count == ShardFormat.prefixSize else {
      if fileSize >= 8 && Array(prefix.prefix(8)) != ShardFormat.magic {
        throw ShardError.notAShard(path: path, found: Array(prefix.prefix(8)))
      }
      throw ShardError.truncated(path: path, expectedBytes: ShardFormat.prefixSize + 4, foundBytes: fileSize)
    }
    guard Array(prefix.prefix(8)) == ShardFormat.magic else {
      throw ShardError.notAShard(path: path, found: Array(prefix.prefix(8)))
    }
    var reader = ByteReader(bytes: prefix.dropFirst(8), path: path)
    let version = UInt32(try reader.u32())
    guard version == ShardFormat.version else {
      throw ShardError.unsupportedVersion(path: path, version: version)
    }
    let bodySize = try reader.u32()
    let headerEnd = ShardFormat.prefixSize + bodySize + 4
    guard headerEnd <= fileSize else {
      throw ShardError.truncated(path: path, expectedBytes: headerEnd, foundBytes: fileSize)
    }
    return bodySize
  }

  /// Parses and checks everything up to the first chunk; `bytes` starts at the file's start.
  private static func parseHeader(_ bytes: [UInt8], fileSize: Int, path: String) throws -> ShardHeader {
    let bodySize = try checkPrefix(bytes.prefix(ShardFormat.prefixSize), fileSize: fileSize, path: path)
    let bodyEnd = ShardFormat.prefixSize + bodySize
    var crcReader = ByteReader(bytes: bytes[bodyEnd..<(bodyEnd + 4)], path: path)
    guard UInt32(try crcReader.u32()) == ShardFormat.crc32(bytes[0..<bodyEnd]) else {
      throw ShardError.corruptHeader(path: path)
    }
    let header = try ShardHeader(decoding: bytes[ShardFormat.prefixSize..<bodyEnd], path: path)
    var expectedOffset = bodyEnd + 4
    for (index, chunk) in header.chunks.enumerated() {
      guard chunk.offset == expectedOffset, chunk.compressedSize > 0 else {
        throw ShardError.malformedHeader(path: path, detail: "chunk \(index) is not where the table says")
      }
      expectedOffset += chunk.compressedSize
    }
    if fileSize < expectedOffset {
      throw ShardError.truncated(path: path, expectedBytes: expectedOffset, foundBytes: fileSize)
    }
    if fileSize > expectedOffset {
      throw ShardError.trailingBytes(path: path, expectedBytes: expectedOffset, foundBytes: fileSize)
    }
    return header
  }
}
