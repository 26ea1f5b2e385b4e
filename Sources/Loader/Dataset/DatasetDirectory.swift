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

  /// Shard `index` of `split`, fully verified, and checked against the manifest's entry.
  public func readShard(_ split: SplitName, _ index: Int) throws -> LabeledImages {
    let entry = manifest.split(split).shards[index]
    let shardPath = shardPath(split, index)
    let images = try ShardReader.read(at: shardPath)
    try check(
      classNames: images.classNames, shape: (images.channels, images.height, images.width),
      classCounts: images.classCounts, against: entry, path: shardPath)
    return images
  }

  /// Every shard of `split`, concatenated in shard order.
  public func readSplit(_ split: SplitName) throws -> LabeledImages {
    let parts = try manifest.split(split).shards.indices.map { try readShard(split, $0) }
    return parts.isEmpty ? emptyImages() : LabeledImages.concatenating(parts)
  }

  /// Checks every shard's header (no decompression) against the manifest.
  public func checkHeaders() throws {
    for split in SplitName.allCases {
      for (index, entry) in manifest.split(split).shards.enumerated() {
        let header = try ShardReader.header(at: shardPath(split, index))
        try check(
          classNames: header.classNames, shape: (header.channels, header.height, header.width),
          classCounts: header.classCounts, against: entry, path: shardPath(split, index))
      }
    }
  }

  private func check(
    classNames: [String], shape: (Int, Int, Int), classCounts: [Int], against entry: Manifest.Shard,
    path: String
  ) throws {
    let image = manifest.image
    guard classNames == manifest.classNames else {
      throw DatasetError.manifestDisagrees(path: path, detail: "its class names are \(classNames)")
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

  private func emptyImages() -> LabeledImages {
    LabeledImages(
      channels: manifest.image.channels, height: manifest.image.height, width: manifest.image.width,
      classNames: manifest.classNames, pixels: [], labels: [])
  }
}

/// Which training shards a rank opens: rank `r` of `R` owns shards `r, r+R, r+2R, …`, so every
/// shard has exactly one owner and ranks differ by at most one shard.
public enum ShardAssignment {
  public static func owned(byRank rank: Int, of ranks: Int, shards: Int) -> [Int] {
    Array(stride(from: rank, to: shards, by: ranks))
  }
}
