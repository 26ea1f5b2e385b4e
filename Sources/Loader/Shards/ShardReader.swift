import Foundation

/// Reads `.imbs` shards, trusting nothing: the header's CRC-32, the record table's layout
/// against the file size, the labels against the header's class counts, and every record's
/// zstd checksum and size when it is read.
public enum ShardReader {
  /// The header alone, without decompressing any record (and checking that the file is as
  /// long as the record table says).
  public static func header(at path: String) throws -> ShardHeader {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw ShardError.missing(path: path) }
    defer { try? handle.close() }
    let fileSize = Int(try handle.seekToEnd())
    try handle.seek(toOffset: 0)
    let prefix = [UInt8](try handle.read(upToCount: ShardFormat.prefixSize) ?? Data())
    let bodySize = try checkPrefix(prefix[...], fileSize: fileSize, path: path).bodySize
    let rest = [UInt8](try handle.read(upToCount: bodySize + 4) ?? Data())
    return try parseHeader(prefix + rest, fileSize: fileSize, path: path)
  }

  /// Every record of the shard, read in one pass over the file and verified; `check` sees the
  /// header before any record is decompressed. Pixels are kept as records decode, so a header
  /// promising more than the file holds costs at most one image's buffer.
  public static func read(at path: String, checkingHeader check: (ShardHeader) throws -> Void = { _ in })
    throws -> LabeledImages
  {
    guard let data = FileManager.default.contents(atPath: path) else { throw ShardError.missing(path: path) }
    let bytes = [UInt8](data)
    let header = try parseHeader(bytes, fileSize: bytes.count, path: path)
    try check(header)
    let dictionary = Zstd.Dictionary(header.dictionary)
    let reader = RecordReader()
    var (pixels, masks): ([UInt8], [UInt8]) = ([], [])
    let some = header.recordCount > 0
    var image = [UInt8](repeating: 0, count: some ? header.imageSize : 0)
    var mask = [UInt8](repeating: 0, count: some ? header.maskSize : 0)
    try bytes.withUnsafeBytes { file in
      for (index, record) in header.records.enumerated() {
        let frame = UnsafeRawBufferPointer(
          rebasing: file[record.offset..<(record.offset + record.storedSize)])
        try image.withUnsafeMutableBufferPointer { image in
          try mask.withUnsafeMutableBufferPointer { mask in
            try reader.decode(
              frame: frame, record: index, header: header, dictionary: dictionary, path: path,
              into: image.baseAddress!, mask: mask.baseAddress)
          }
        }
        pixels += image
        masks += mask
      }
    }
    return LabeledImages(
      channels: header.channels, height: header.height, width: header.width, classNames: header.classNames,
      pixels: pixels, labels: header.labels, masks: header.hasMasks ? masks : nil)
  }

  /// Checks magic, version and header length; returns the version and the header body's size.
  private static func checkPrefix(_ prefix: ArraySlice<UInt8>, fileSize: Int, path: String) throws -> (
    version: UInt32, bodySize: Int
  ) {
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
    guard ShardFormat.readableVersions.contains(version) else {
      throw ShardError.unsupportedVersion(path: path, version: version)
    }
    let bodySize = try reader.u32()
    let headerEnd = ShardFormat.prefixSize + bodySize + 4
    guard headerEnd <= fileSize else {
      throw ShardError.truncated(path: path, expectedBytes: headerEnd, foundBytes: fileSize)
    }
    return (version, bodySize)
  }

  /// Parses and checks everything up to the first record; `bytes` starts at the file's start.
  private static func parseHeader(_ bytes: [UInt8], fileSize: Int, path: String) throws -> ShardHeader {
    let (version, bodySize) = try checkPrefix(
      bytes.prefix(ShardFormat.prefixSize), fileSize: fileSize, path: path)
    let bodyEnd = ShardFormat.prefixSize + bodySize
    var crcReader = ByteReader(bytes: bytes[bodyEnd..<(bodyEnd + 4)], path: path)
    let checksum = UInt32(try crcReader.u32())
    guard checksum == ShardFormat.crc32(bytes[0..<bodyEnd]) else {
      throw ShardError.corruptHeader(path: path)
    }
    var header = try ShardHeader(
      decoding: bytes[ShardFormat.prefixSize..<bodyEnd], version: version, path: path)
    header.checksum = checksum
    var expectedOffset = bodyEnd + 4
    for (index, record) in header.records.enumerated() {
      guard record.offset == expectedOffset, record.storedSize > 0 else {
        throw ShardError.malformedHeader(path: path, detail: "record \(index) is not where the table says")
      }
      expectedOffset += record.storedSize
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

/// One shard opened for random access: its verified header in memory, any record read on
/// its own with one `pread` of its frame. Shared by every loader thread.
public final class ShardFile: @unchecked Sendable {
  public let path: String
  public let header: ShardHeader
  let dictionary: Zstd.Dictionary?
  private let descriptor: Int32

  public init(path: String) throws {
    self.path = path
    header = try ShardReader.header(at: path)
    dictionary = Zstd.Dictionary(header.dictionary)
    descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw ShardError.missing(path: path) }
  }

  deinit { close(descriptor) }

  /// The stored bytes of record `index` (zstd-decompressed, still PNG or JPEG if encoded), valid
  /// until `reader`'s next use.
  func payload(_ index: Int, reader: RecordReader) throws -> UnsafeRawBufferPointer {
    let record = header.records[index]
    let frame = try reader.frameBuffer(record.storedSize) { buffer in
      let read = pread(descriptor, buffer.baseAddress, buffer.count, off_t(record.offset))
      guard read == buffer.count else {
        throw ShardError.corruptRecord(
          path: path, record: index,
          reason: read < 0 ? String(cString: strerror(errno)) : "the file ends early")
      }
    }
    return try reader.payload(frame: frame, record: index, header: header, dictionary: dictionary, path: path)
  }

  /// Record `index` as planar CHW pixels, and its label mask into `mask` when given (a shard
  /// with masks checks each record's mask against its header whether or not it is wanted).
  public func pixels(
    _ index: Int, into target: UnsafeMutablePointer<UInt8>, mask: UnsafeMutablePointer<UInt8>? = nil,
    reader: RecordReader
  ) throws {
    let stored = try payload(index, reader: reader)
    try reader.decodeStored(stored, record: index, header: header, path: path, into: target, mask: mask)
  }
}

/// What one thread needs to read records: a zstd context, a PNG/JPEG decoder and its buffers.
public final class RecordReader {
  private let decompressor = Zstd.Decompressor()
  private let decoder = RecordDecoder()
  private var frame = UnsafeMutableRawBufferPointer(start: nil, count: 0)
  private var stored = UnsafeMutableRawBufferPointer(start: nil, count: 0)

  public init() {}

  deinit {
    frame.deallocate()
    stored.deallocate()
  }

  /// `buffer` grown to at least `count` bytes.
  private static func grown(_ buffer: inout UnsafeMutableRawBufferPointer, _ count: Int) {
    guard buffer.count < count else { return }
    buffer.deallocate()
    buffer = .allocate(byteCount: count, alignment: 16)
  }

  /// Fills the reader's frame buffer with `count` bytes by `fill` and returns them.
  func frameBuffer(_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws
    -> UnsafeRawBufferPointer
  {
    Self.grown(&frame, count)
    let slice = UnsafeMutableRawBufferPointer(rebasing: frame[0..<count])
    try fill(slice)
    return UnsafeRawBufferPointer(slice)
  }

  /// Decompresses a record's frame into the reader's buffer (valid until its next use).
  func payload(
    frame: UnsafeRawBufferPointer, record: Int, header: ShardHeader, dictionary: Zstd.Dictionary?,
    path: String
  ) throws -> UnsafeRawBufferPointer {
    let declared = Zstd.declaredSize(frame)
    let limit =
      header.maskSize + (header.encoding == .raw ? header.imageSize : 4 * header.imageSize + (64 << 10))
    guard let size = declared, size > header.maskSize, size <= limit, header.encoding != .raw || size == limit
    else {
      throw ShardError.corruptRecord(
        path: path, record: record, reason: "its frame declares \(declared.map(String.init) ?? "no") size")
    }
    Self.grown(&stored, size)
    let output = UnsafeMutableRawBufferPointer(rebasing: stored[0..<size])
    do {
      try decompressor.decompress(frame, into: output, dictionary: dictionary)
    } catch let failure as Zstd.Failure {
      throw ShardError.corruptRecord(path: path, record: record, reason: failure.reason)
    }
    return UnsafeRawBufferPointer(output)
  }

  /// A record's stored bytes as planar pixels, and its mask (checked against the header).
  func decodeStored(
    _ stored: UnsafeRawBufferPointer, record: Int, header: ShardHeader, path: String,
    into target: UnsafeMutablePointer<UInt8>, mask: UnsafeMutablePointer<UInt8>? = nil
  ) throws {
    let imageBytes = stored.count - header.maskSize
    do {
      try decoder.decode(
        UnsafeRawBufferPointer(rebasing: stored[0..<imageBytes]), encoding: header.encoding,
        channels: header.channels, height: header.height, width: header.width, into: target)
      if let classes = header.maskClasses?[record] {
        let plane = UnsafeRawBufferPointer(rebasing: stored[imageBytes...])
        try Self.check(mask: plane, against: classes, classCount: header.classNames.count)
        if let mask { mask.update(from: plane.bindMemory(to: UInt8.self).baseAddress!, count: plane.count) }
      }
    } catch let failure as RecordEncoder.Failure {
      throw ShardError.corruptRecord(path: path, record: record, reason: failure.description)
    }
  }

  /// A mask holds class indices below `classCount` or the ignore label, exactly as many of
  /// each class as the header lists.
  private static func check(mask: UnsafeRawBufferPointer, against classes: [MaskClass], classCount: Int)
    throws
  {
    var pixels = [Int](repeating: 0, count: Int(ShardFormat.ignoreLabel) + 1)
    for value in mask { pixels[Int(value)] += 1 }
    if let stray = pixels.indices.first(where: {
      $0 >= classCount && $0 != Int(ShardFormat.ignoreLabel) && pixels[$0] > 0
    }) {
      throw RecordEncoder.Failure("its mask holds label \(stray), outside the \(classCount) classes")
    }
    let listed = classes.map { ($0.label, $0.pixels) }
    let found = (0..<classCount).filter { pixels[$0] > 0 }.map { (Int32($0), pixels[$0]) }
    guard listed.elementsEqual(found, by: ==) else {
      throw RecordEncoder.Failure("its mask's class pixel counts differ from the header's")
    }
  }

  /// Decompresses and decodes one frame.
  func decode(
    frame: UnsafeRawBufferPointer, record: Int, header: ShardHeader, dictionary: Zstd.Dictionary?,
    path: String,
    into target: UnsafeMutablePointer<UInt8>, mask: UnsafeMutablePointer<UInt8>? = nil
  ) throws {
    let stored = try payload(frame: frame, record: record, header: header, dictionary: dictionary, path: path)
    try decodeStored(stored, record: record, header: header, path: path, into: target, mask: mask)
  }
}
