/// The images of a split or of one training shard, read one at a time: the labels in memory,
/// the stored records in memory while they fit the loader's budget (`--loader-memory`), the
/// rest read from their shard file whenever they are drawn. Thread-safe: each thread reads
/// through its own `RecordReader`.
public final class RecordStore: @unchecked Sendable {
  public let channels: Int
  public let height: Int
  public let width: Int
  public let classNames: [String]
  public let labels: [Int32]
  public let encoding: RecordEncoding
  /// Bytes of each record's label mask (height × width; 0: the records have none).
  public let maskSize: Int
  private let files: [ShardFile]
  /// The first record index of each file.
  private let starts: [Int]
  /// The stored bytes of records `0..<residentCount`, one after another.
  private let resident: [UInt8]
  private let residentOffsets: [Int]

  public var count: Int { labels.count }
  public var classCount: Int { classNames.count }
  public var imageSize: Int { channels * height * width }
  public var hasMasks: Bool { maskSize > 0 }
  public var residentCount: Int { residentOffsets.count - 1 }
  /// Bytes the resident records take.
  public var residentBytes: Int { resident.count }

  /// Images (and their masks) already in memory, all resident as raw records.
  public init(images: LabeledImages) {
    (channels, height, width, classNames) = (images.channels, images.height, images.width, images.classNames)
    labels = images.labels
    encoding = .raw
    maskSize = images.maskSize
    files = []
    starts = []
    let (imageSize, recordSize) = (images.imageSize, images.imageSize + images.maskSize)
    if let masks = images.masks {
      var records: [UInt8] = []
      records.reserveCapacity(images.count * recordSize)
      for i in 0..<images.count {
        records += images.pixels[(i * imageSize)..<((i + 1) * imageSize)]
        records += masks[(i * maskSize)..<((i + 1) * maskSize)]
      }
      resident = records
    } else {
      resident = images.pixels
    }
    residentOffsets = (0...images.count).map { $0 * recordSize }
  }

  /// The records of `shards` in order (all of one shape and classes, with label masks when
  /// `masks`), the first ones kept in memory while their stored bytes fit in `budget`, which is
  /// reduced by what they take.
  public init(
    shards: [ShardFile], shape: Manifest.Image, classNames: [String], encoding: RecordEncoding,
    masks: Bool = false, budget: inout Int
  )
    throws
  {
    (channels, height, width, self.classNames) = (shape.channels, shape.height, shape.width, classNames)
    self.encoding = encoding
    maskSize = masks ? shape.height * shape.width : 0
    files = shards
    starts = shards.reduce(into: [0]) { $0.append($0.last! + $1.header.recordCount) }.dropLast()
    labels = shards.flatMap(\.header.labels)
    let reader = RecordReader()
    var bytes: [UInt8] = []
    var offsets = [0]
    pinning: for file in shards {
      for index in 0..<file.header.recordCount {
        let stored = try file.payload(index, reader: reader)
        guard stored.count <= budget else { break pinning }
        budget -= stored.count
        bytes.append(contentsOf: stored)
        offsets.append(bytes.count)
      }
    }
    resident = bytes
    residentOffsets = offsets
  }

  private init(_ other: RecordStore, first count: Int) {
    (channels, height, width, classNames) = (other.channels, other.height, other.width, other.classNames)
    (encoding, files, starts, resident) = (other.encoding, other.files, other.starts, other.resident)
    maskSize = other.maskSize
    labels = Array(other.labels.prefix(count))
    residentOffsets = Array(other.residentOffsets.prefix(count + 1))
  }

  /// The first `count` images (sharing this store's memory and files).
  public func prefix(_ count: Int) -> RecordStore { RecordStore(self, first: min(count, self.count)) }

  /// Image `index` as planar CHW pixels, and its label mask into `mask` when given.
  public func pixels(
    _ index: Int, into target: UnsafeMutablePointer<UInt8>, mask: UnsafeMutablePointer<UInt8>? = nil,
    reader: RecordReader
  ) throws {
    precondition(mask == nil || hasMasks, "the records have no masks")
    // A shard's masks are checked against its header as they are decoded, so they take that path.
    if index < residentCount && encoding == .raw && (files.isEmpty || !hasMasks) {
      resident.withUnsafeBufferPointer {
        let record = $0.baseAddress! + residentOffsets[index]
        target.update(from: record, count: imageSize)
        mask?.update(from: record + imageSize, count: maskSize)
      }
      return
    }
    let file = fileIndex(of: index)
    let (shard, record) = (files[file], index - starts[file])
    guard index < residentCount else {
      return try shard.pixels(record, into: target, mask: mask, reader: reader)
    }
    try resident.withUnsafeBytes { bytes in
      let stored = UnsafeRawBufferPointer(
        rebasing: bytes[residentOffsets[index]..<residentOffsets[index + 1]])
      try reader.decodeStored(
        stored, record: record, header: shard.header, path: shard.path, into: target, mask: mask)
    }
  }

  /// The file holding record `index` (the last whose first record is at or before it).
  private func fileIndex(of index: Int) -> Int {
    var (low, high) = (0, starts.count - 1)
    while low < high {
      let middle = (low + high + 1) / 2
      if starts[middle] <= index { low = middle } else { high = middle - 1 }
    }
    return low
  }
}
