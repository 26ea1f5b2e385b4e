import Foundation

/// Encodes labelled images as one `.imbs` shard.
public enum ShardWriter {
  /// The complete shard file for `images`, and its header.
  public static func encode(_ images: LabeledImages, zstdLevel: Int) -> (bytes: [UInt8], header: ShardHeader)
  {
    let recordSize = 2 + images.imageSize
    let recordsPerChunk = max(1, ShardFormat.targetChunkBytes / recordSize)
    var frames: [(frame: [UInt8], records: Int)] = []
    images.pixels.withUnsafeBufferPointer { pixels in
      for start in stride(from: 0, to: images.count, by: recordsPerChunk) {
        let end = min(start + recordsPerChunk, images.count)
        var records = [UInt8]()
        records.reserveCapacity((end - start) * recordSize)
        for index in start..<end {
          let label = UInt16(images.labels[index])
          records.append(UInt8(label & 0xFF))
          records.append(UInt8(label >> 8))
          let from = index * images.imageSize
          records.append(contentsOf: pixels[from..<(from + images.imageSize)])
        }
        frames.append((records.withUnsafeBytes { Zstd.compress($0, level: zstdLevel) }, end - start))
      }
    }
    func header(dataStart: Int) -> ShardHeader {
      var offset = dataStart
      let chunks = frames.map { frame -> ShardChunk in
        defer { offset += frame.frame.count }
        return ShardChunk(offset: offset, compressedSize: frame.frame.count, records: frame.records)
      }
      return ShardHeader(
        channels: images.channels, height: images.height, width: images.width, classNames: images.classNames,
        recordCount: images.count, classCounts: images.classCounts, chunks: chunks)
    }
    // The header's length does not depend on the offsets it holds: size it, then fill it in.
    let bodySize = header(dataStart: 0).encoded().count
    let final = header(dataStart: ShardFormat.prefixSize + bodySize + 4)
    var file = ByteWriter()
    file.append(ShardFormat.magic)
    file.append(littleEndian: ShardFormat.version)
    file.u32(bodySize)
    file.append(final.encoded())
    file.append(littleEndian: ShardFormat.crc32(file.bytes[...]))
    for frame in frames { file.append(frame.frame) }
    return (file.bytes, final)
  }

  /// Writes the shard to a temporary file beside `path` and renames it into place.
  @discardableResult
  public static func write(_ images: LabeledImages, to path: String, zstdLevel: Int) throws -> (
    bytes: Int, header: ShardHeader
  ) {
    let (bytes, header) = encode(images, zstdLevel: zstdLevel)
    do {
      try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw ShardError.cannotWrite(path: path, reason: error.localizedDescription)
    }
    return (bytes.count, header)
  }
}
