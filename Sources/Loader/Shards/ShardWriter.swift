import Foundation

/// Encodes labelled images as one `.imbs` shard: each record stored by `encoding` (its mask, if
/// any, appended raw), then compressed as its own zstd frame against a dictionary trained on
/// the shard's raw records.
public enum ShardWriter {
  /// The complete shard file for `images`, and its header.
  public static func encode(
    _ images: LabeledImages, encoding: RecordEncoding = .raw, jpegQuality: Int = 90, zstdLevel: Int
  ) throws -> (bytes: [UInt8], header: ShardHeader) {
    let encoder = RecordEncoder(encoding: encoding, jpegQuality: jpegQuality)
    let (size, maskSize) = (images.imageSize, images.maskSize)
    let stored = try (0..<images.count).map { index in
      try encoder.encode(
        images.pixels[(index * size)..<((index + 1) * size)], channels: images.channels,
        height: images.height, width: images.width)
        + (images.masks?[(index * maskSize)..<((index + 1) * maskSize)] ?? [])
    }
    let maskClasses = images.masks.map { _ in (0..<images.count).map(images.maskClasses(of:)) }
    for (classes, label) in zip(maskClasses ?? [], images.labels) {
      precondition(classes.contains { $0.label == label } || (classes.isEmpty && label == 0))
    }
    let dictionary = encoding == .raw ? trainedDictionary(stored) : []
    let compressor = Zstd.Compressor(level: zstdLevel, dictionary: dictionary)
    let frames = stored.map { record in record.withUnsafeBytes { compressor.compress($0) } }
    func header(dataStart: Int) -> ShardHeader {
      var offset = dataStart
      let records = zip(frames, images.labels).map { frame, label -> ShardRecord in
        defer { offset += frame.count }
        return ShardRecord(offset: offset, storedSize: frame.count, label: label)
      }
      return ShardHeader(
        channels: images.channels, height: images.height, width: images.width, classNames: images.classNames,
        classCounts: images.classCounts, encoding: encoding, dictionary: dictionary, records: records,
        maskClasses: maskClasses)
    }
    // The header's length does not depend on the offsets it holds: size it, then fill it in.
    let bodySize = header(dataStart: 0).encoded().count
    var final = header(dataStart: ShardFormat.prefixSize + bodySize + 4)
    var file = ByteWriter()
    file.append(ShardFormat.magic)
    file.append(littleEndian: ShardFormat.version)
    file.u32(bodySize)
    file.append(final.encoded())
    final.checksum = ShardFormat.crc32(file.bytes[...])
    file.append(littleEndian: final.checksum)
    file.bytes.reserveCapacity(file.bytes.count + frames.reduce(0) { $0 + $1.count })
    for frame in frames { file.append(frame) }
    return (file.bytes, final)
  }

  /// A dictionary trained on records spread evenly over the shard, up to
  /// `ShardFormat.dictionarySampleBytes` of them.
  private static func trainedDictionary(_ records: [[UInt8]]) -> [UInt8] {
    guard let first = records.first, !first.isEmpty else { return [] }
    let wanted = max(1, ShardFormat.dictionarySampleBytes / first.count)
    let step = max(1, records.count / wanted)
    let samples = stride(from: 0, to: records.count, by: step).prefix(wanted).map { records[$0][...] }
    return Zstd.trainDictionary(samples: samples, capacity: ShardFormat.dictionaryCapacity) ?? []
  }
}
