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
  private let files: [ShardFile]
  /// The first record index of each file.
  private let starts: [Int]
  /// The stored bytes of records `0..<residentCount`, one after another.
  private let resident: [UInt8]
  private let residentOffsets: [Int]

  public var count: Int { labels.count }
  public var classCount: Int { classNames.count }
  public var imageSize: Int { channels * height * width }
  public var residentCount: Int { residentOffsets.count - 1 }
  /// Bytes the resident records take.
  public var residentBytes: Int { resident.count }

  /// Images already in memory (raw), all resident.
  public init(images: LabeledImages) {
    (channels, height, width, classNames) = (images.channels, images.height, images.width, images.classNames)
    labels = images.labels
    encoding = .raw
    files = []
    starts = []
    resident = images.pixels
    residentOffsets = (0...images.count).map { $0 * images.imageSize }
  }

  /// The records of `shards` in order (all of one shape and classes), the first ones kept in
  /// memory while their stored bytes fit in `budget`, which is reduced by what they take.
  public init(
    shards: [ShardFile], shape: Manifest.Image, classNames: [String], encoding: RecordEncoding,
    budget: inout Int
  )
    throws
  {
    (channels, height, width, self.classNames) = (shape.channels, shape.height, shape.width, classNames)
    self.encoding = encoding
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
    labels = Array(other.labels.prefix(count))
    residentOffsets = Array(other.residentOffsets.prefix(count + 1))
  }

  /// The first `count` images (sharing this store's memory and files).
  public func prefix(_ count: Int) -> RecordStore { RecordStore(self, first: min(count, self.count)) }

  /// Image `index` as planar CHW pixels.
  public func pixels(_ index: Int, into target: UnsafeMutablePointer<UInt8>, reader: RecordReader) throws {
    if index < residentCount && encoding == .raw {
      resident.withUnsafeBufferPointer {
        target.update(from: $0.baseAddress! + index * imageSize, count: imageSize)
      }
      return
    }
    let file = fileIndex(of: index)
    let (shard, record) = (files[file], index - starts[file])
    guard index < residentCount else { return try shard.pixels(record, into: target, reader: reader) }
    try resident.withUnsafeBytes { bytes in
      let stored = UnsafeRawBufferPointer(
        rebasing: bytes[residentOffsets[index]..<residentOffsets[index + 1]])
      try reader.decodeStored(stored, record: record, header: shard.header, path: shard.path, into: target)
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
