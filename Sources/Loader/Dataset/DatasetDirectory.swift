import Foundation

/// A packed dataset on disk: its manifest, and verified access to its shards. Rank `r` of `R`
/// opens only the training shards `r, r+R, r+2R, …` (see `ShardAssignment`).
public struct DatasetDirectory: Sendable {
  public let path: String
  public let manifest: Manifest

  public init(path: String) throws {
    self.path = path
    manifest = try Manifest(directory: path)
  }

  public func shardPath(_ split: SplitName, _ index: Int) -> String {
    "\(path)/\(manifest.split(split).shards[index].file)"
  }

  /// Shard `index` of `split`, read whole in one pass and fully verified, and checked against
  /// the manifest's entry.
  public func readShard(_ split: SplitName, _ index: Int) throws -> LabeledImages {
    let shardPath = shardPath(split, index)
    return try ShardReader.read(at: shardPath) {
      try check($0, of: split, index, path: shardPath)
    }
  }

  /// Every shard of `split` read whole, concatenated in shard order.
  public func readSplit(_ split: SplitName) throws -> LabeledImages {
    let parts = try manifest.split(split).shards.indices.map { try readShard(split, $0) }
    let image = manifest.image
    return parts.isEmpty
      ? LabeledImages(
        channels: image.channels, height: image.height, width: image.width, classNames: manifest.classNames,
        pixels: [], labels: [])
      : LabeledImages.concatenating(parts)
  }

  /// Shard `index` of `split` opened for reading records one by one, its header checked
  /// against the manifest's entry.
  public func openShard(_ split: SplitName, _ index: Int) throws -> ShardFile {
    let file = try ShardFile(path: shardPath(split, index))
    try check(file.header, of: split, index, path: file.path)
    return file
  }

  /// The label masks of `split` counted from its shard headers.
  public func maskTotals(_ split: SplitName) throws -> MaskTotals {
    maskTotals(of: try manifest.split(split).shards.indices.map { try openShard(split, $0).header })
  }

  /// The label masks of `headers` (of this dataset's shards), counted.
  public func maskTotals(of headers: [ShardHeader]) -> MaskTotals {
    MaskTotals(
      headers: headers, classes: manifest.classNames.count,
      plane: manifest.image.height * manifest.image.width)
  }

  /// The records of shards `indices` of `split` (every shard by default), in shard order, as
  /// many kept in memory as `budget` bytes allow (the budget is reduced by what they take).
  public func records(_ split: SplitName, shards indices: [Int]? = nil, budget: inout Int) throws
    -> RecordStore
  {
    let files = try (indices ?? Array(manifest.split(split).shards.indices)).map { try openShard(split, $0) }
    return try RecordStore(
      shards: files, shape: manifest.image, classNames: manifest.classNames, encoding: manifest.encoding,
      masks: manifest.hasMasks, budget: &budget)
  }

  /// Every record of `split` (read from its shards as needed); a split without images is an
  /// error saying what they were wanted for (`purpose`, e.g. "to evaluate").
  public func nonEmptyRecords(_ split: SplitName, purpose: String) throws -> RecordStore {
    var budget = 0
    let images = try records(split, budget: &budget)
    guard images.count > 0 else {
      throw DatasetError.emptySplit(
        split: split.rawValue, detail: "\(path) has no \(split) images \(purpose)")
    }
    return images
  }

  /// Checks every shard's header (no decompression) against the manifest; returns them, per
  /// split in shard order.
  @discardableResult
  public func checkHeaders() throws -> [SplitName: [ShardHeader]] {
    var headers: [SplitName: [ShardHeader]] = [:]
    for split in SplitName.allCases {
      headers[split] = try manifest.split(split).shards.indices.map { index in
        let header = try ShardReader.header(at: shardPath(split, index))
        try check(header, of: split, index, path: shardPath(split, index))
        return header
      }
    }
    return headers
  }

  private func check(_ header: ShardHeader, of split: SplitName, _ index: Int, path: String) throws {
    let entry = manifest.split(split).shards[index]
    let (image, shape, classCounts) = (
      manifest.image, (header.channels, header.height, header.width), header.classCounts
    )
    if let expected = entry.headerChecksum, expected != header.checksum {
      throw DatasetError.manifestDisagrees(
        path: path,
        detail:
          "it is not the manifest's \(split.rawValue) shard \(index) (header checksum \(hex(header.checksum)), the manifest says \(hex(expected))): shards swapped, or copied from another dataset"
      )
    }
    guard header.classNames == manifest.classNames else {
      throw DatasetError.manifestDisagrees(path: path, detail: "its class names are \(header.classNames)")
    }
    guard header.hasMasks == manifest.hasMasks else {
      throw DatasetError.manifestDisagrees(
        path: path,
        detail: header.hasMasks
          ? "its records carry masks, the manifest's do not" : "its records carry no masks")
    }
    guard header.encoding == manifest.encoding else {
      throw DatasetError.manifestDisagrees(
        path: path,
        detail: "its records are \(header.encoding.rawValue), the manifest says \(manifest.encoding.rawValue)"
      )
    }
    guard shape == (image.channels, image.height, image.width) else {
      throw DatasetError.manifestDisagrees(
        path: path,
        detail: "its images are \(shape.0)×\(shape.1)×\(shape.2), the manifest says "
          + "\(image.channels)×\(image.height)×\(image.width)")
    }
    guard classCounts == entry.classCounts else {
      throw DatasetError.manifestDisagrees(
        path: path, detail: "it holds class counts \(classCounts), the manifest says \(entry.classCounts)")
    }
  }
}

private func hex(_ value: UInt32) -> String { String(format: "%08x", value) }

/// Which training shards a rank opens: rank `r` of `R` owns shards `r, r+R, r+2R, …`, so every
/// shard has exactly one owner and ranks differ by at most one shard.
public enum ShardAssignment {
  public static func owned(byRank rank: Int, of ranks: Int, shards: Int) -> [Int] {
    Array(stride(from: rank, to: shards, by: ranks))
  }
}
