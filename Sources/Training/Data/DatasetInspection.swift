import Foundation
import Loader

/// `imbal-dist inspect`: per split, every class's count and share and the imbalance ratio
/// (for a segmentation dataset also the images and pixels of each class, from the shard
/// headers), as a table or JSON; with `verify`, every shard decompressed and checked.
public struct DatasetInspection {
  public let dataset: DatasetDirectory
  /// Per split of a segmentation dataset: how many images' masks hold each class, how many
  /// pixels each class labels, and how many pixels are ignored.
  public private(set) var masks: [SplitName: MaskTotals] = [:]
  /// Set by `verify()`: images decoded, bytes decompressed and the time it took.
  public private(set) var verification: (images: Int, bytes: Int, seconds: Double)?
  /// Set to include the class weights in `json`.
  public var weightsBeta: Double?

  /// Training records read one by one and decoded, images/s on one thread, over a sample of at
  /// most 512 (`nil`: no training record).
  public private(set) var decodeRate: Double?

  public init(path: String) throws {
    dataset = try DatasetDirectory(path: path)
    let headers = try dataset.checkHeaders()
    decodeRate = try measureDecodeRate()
    if dataset.manifest.hasMasks {
      for (split, headers) in headers { masks[split] = dataset.maskTotals(of: headers) }
    }
  }

  private func measureDecodeRate() throws -> Double? {
    guard let index = dataset.manifest.splits.train.shards.firstIndex(where: { $0.count > 0 }) else {
      return nil
    }
    let file = try dataset.openShard(.train, index)
    let reader = RecordReader()
    var image = [UInt8](repeating: 0, count: file.header.imageSize)
    let count = min(512, file.header.recordCount)
    let started = Date()
    try image.withUnsafeMutableBufferPointer { image in
      for record in 0..<count { try file.pixels(record, into: image.baseAddress!, reader: reader) }
    }
    return Double(count) / max(Date().timeIntervalSince(started), 1e-9)
  }

  /// Shard bytes per image over every split.
  public var bytesPerImage: Double {
    let splits = SplitName.allCases.map { dataset.manifest.split($0) }
    let images = splits.reduce(0) { $0 + $1.count }
    return Double(splits.flatMap(\.shards).reduce(0) { $0 + $1.bytes }) / Double(max(images, 1))
  }

  private var encodingText: String {
    let manifest = dataset.manifest
    return manifest.encoding == .jpeg
      ? "jpeg (quality \(manifest.jpegQuality ?? 0))" : manifest.encoding.rawValue
  }

  /// Decompresses every shard, checking checksums, labels and counts against the manifest.
  public mutating func verify() throws {
    let started = Date()
    var images = 0
    var bytes = 0
    for split in SplitName.allCases {
      for index in dataset.manifest.split(split).shards.indices {
        let shard = try dataset.readShard(split, index)
        images += shard.count
        bytes += shard.count * (2 + shard.imageSize + shard.maskSize)
      }
    }
    verification = (images, bytes, Date().timeIntervalSince(started))
  }

  public var tableLines: [String] {
    let manifest = dataset.manifest
    let image = manifest.image
    var lines = [
      "dataset \(dataset.path): \(manifest.source.kind) from \(manifest.source.input), imbalance \(manifest.imbalance), "
        + "id \(manifest.id)",
      "images \(image.channels)×\(image.height)×\(image.width), \(manifest.classNames.count) classes, "
        + "zstd level \(manifest.zstdLevel), packed by \(manifest.tool)",
      "records \(encodingText), \(String(format: "%.0f", bytesPerImage)) bytes per image on disk"
        + (decodeRate.map { ", read and decoded at \(Int($0)) images/s on one thread" } ?? ""),
    ]
    let nameWidth = max(5, manifest.classNames.map(\.count).max() ?? 0)
    for name in SplitName.allCases {
      let split = manifest.split(name)
      let mask = masks[name]
      lines.append("")
      lines.append(
        "\(name.rawValue): \(split.count) images in \(split.shards.count) shards, "
          + (mask.map { "pixel imbalance ratio \(ratioText($0.pixels))" }
            ?? "imbalance ratio \(ratioText(split.classCounts))"))
      lines.append(
        "  class  \("name".padded(nameWidth))   count   share"
          + (mask == nil ? "" : "   images holding it   pixel share"))
      let pixels = mask.map { Double(max(1, $0.pixels.reduce(0, +) + $0.ignored)) } ?? 1
      for (c, count) in split.classCounts.enumerated() {
        let share = split.count == 0 ? 0 : 100 * Double(count) / Double(split.count)
        lines.append(
          "  \(String(c).padded(5))  \(manifest.classNames[c].padded(nameWidth))  \(String(count).leftPadded(to: 6, with: " "))  "
            + "\(String(format: "%5.2f", share))%"
            + (mask.map {
              "\(String($0.images[c]).leftPadded(to: 20, with: " "))  \(String(format: "%11.2f", 100 * Double($0.pixels[c]) / pixels))%"
            } ?? ""))
      }
      if let mask {
        lines.append(
          "  count: images whose rarest class it is; ignored pixels (255): "
            + String(format: "%.2f", 100 * Double(mask.ignored) / pixels) + "%")
      }
    }
    if let verification {
      lines.append("")
      lines.append(
        "verified: every shard's checksums, labels and counts match the manifest; \(verification.images) images "
          + "decoded in \(String(format: "%.3f", verification.seconds)) s "
          + "(\(Int(Double(verification.images) / verification.seconds)) images/s, "
          + "\(String(format: "%.0f", Double(verification.bytes) / verification.seconds / 1e6)) MB/s)")
    }
    return lines
  }

  /// The weight of every training class under every `ClassWeightScheme`, with effective
  /// numbers at `beta`.
  public func weightLines(beta: Double) -> [String] {
    let manifest = dataset.manifest
    let counts = manifest.splits.train.classCounts
    let schemes = ClassWeightScheme.allCases
    let nameWidth = max(5, manifest.classNames.map(\.count).max() ?? 0)
    var lines = [
      "class weights of the training split (effective: β = \(beta), normalised to sum to K)",
      "  class  \("name".padded(nameWidth))   count"
        + schemes.map { $0.rawValue.leftPadded(to: 12, with: " ") }.joined(),
    ]
    let table = schemes.map { $0.weights(counts: counts, beta: beta) }
    for (c, count) in counts.enumerated() {
      lines.append(
        "  \(String(c).padded(5))  \(manifest.classNames[c].padded(nameWidth))  \(String(count).leftPadded(to: 6, with: " "))"
          + table.map { String(format: "%12.6g", $0[c]) }.joined())
    }
    return lines
  }

  public var json: String {
    let manifest = dataset.manifest
    var object: [String: Any] = [
      "path": dataset.path, "id": manifest.id, "class_names": manifest.classNames,
      "imbalance": manifest.imbalance, "encoding": manifest.encoding.rawValue,
      "bytes_per_image": bytesPerImage, "decode_images_per_s": decodeRate as Any,
      "image": [
        "channels": manifest.image.channels, "height": manifest.image.height, "width": manifest.image.width,
      ],
    ]
    var splits: [String: Any] = [:]
    for name in SplitName.allCases {
      let split = manifest.split(name)
      var entry: [String: Any] = [
        "count": split.count, "class_counts": split.classCounts, "shards": split.shards.count,
        "share": split.classCounts.map { split.count == 0 ? 0 : Double($0) / Double(split.count) },
        "imbalance_ratio": ratio(split.classCounts) as Any,
      ]
      if let mask = masks[name] {
        entry["masks"] = [
          "images_holding": mask.images, "pixels": mask.pixels, "ignored_pixels": mask.ignored,
        ]
      }
      splits[name.rawValue] = entry
    }
    object["splits"] = splits
    if let beta = weightsBeta {
      object["class_weights"] = Dictionary(
        uniqueKeysWithValues: ClassWeightScheme.allCases.map {
          ($0.rawValue, $0.weights(counts: manifest.splits.train.classCounts, beta: beta))
        })
      object["class_weights_beta"] = beta
    }
    if let verification {
      object["verified"] = [
        "images": verification.images, "seconds": verification.seconds,
        "images_per_s": Double(verification.images) / verification.seconds,
      ]
    }
    return try! RunJSON.text(object)
  }

  /// Largest over smallest class count; `nil` when a class is empty.
  private func ratio(_ counts: [Int]) -> Double? {
    guard let smallest = counts.min(), smallest > 0, let largest = counts.max() else { return nil }
    return Double(largest) / Double(smallest)
  }

  private func ratioText(_ counts: [Int]) -> String {
    guard let value = ratio(counts) else { return "undefined (a class is empty)" }
    return "\(String(format: "%.1f", value)) (\(counts.max()!) / \(counts.min()!))"
  }
}

extension String {
  func padded(_ width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}
