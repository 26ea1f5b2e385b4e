import Foundation

/// What `imbal-dist pack` does, as options.
public struct PackOptions: Sendable {
  public var source: SourceKind = .fashionMNIST
  public var input: String = FashionMNIST.defaultDirectory
  public var output: String = "data/dataset"
  public var shards = 8
  public var profile: ImbalanceProfile = .none
  public var validationPerClass = 100
  /// Train, validation and test shares for an unsplit image folder.
  public var splitRatios: [Double] = [0.8, 0.1, 0.1]
  /// How an image folder's images are decoded, resized and converted.
  public var preparation = ImagePreparation()
  /// How records store their pixels, and the JPEG quality (1…100) for `.jpeg`.
  public var encoding = RecordEncoding.raw
  public var jpegQuality = 90
  public var zstdLevel = 3
  public var seed: UInt64 = 0
  /// Replace an existing dataset at `output`.
  public var force = false

  public init() {}
}

/// What a pack wrote and how fast.
public struct PackReport: Sendable {
  public let manifest: Manifest
  /// Pixel, mask and label bytes before encoding and compression (`2 + C·H·W`, plus `H·W` with
  /// masks, per image).
  public let rawBytes: Int
  /// Bytes of all shard files.
  public let shardBytes: Int
  /// Wall time of stratifying, compressing and writing (after the source was read).
  public let seconds: Double
}

/// Packs a raw source into a dataset directory: stratified shards per split and a manifest.
///
/// Atomic: everything is written into a sibling staging directory `OUT.partial-PID`, the
/// manifest last, and the directory is renamed to `OUT` only when complete. An interrupted
/// pack leaves at most a `.partial-*` directory, never a manifest over half-written shards.
public enum Packer {
  public static func pack(_ options: PackOptions) throws -> PackReport {
    try checkReplaceable(options)
    let generated = options.source == .fashionMNISTSegmentation
    let source = try options.source.load(
      input: options.input, ratios: options.splitRatios, seed: options.seed, preparation: options.preparation,
      profile: generated ? options.profile : .none)
    let splits = try DatasetSplits(
      source: source, validationPerClass: options.validationPerClass,
      profile: generated ? .none : options.profile)
    return try write(splits, options: options)
  }

  /// Writes already-built splits (the second half of `pack`).
  public static func write(_ splits: DatasetSplits, options: PackOptions) throws -> PackReport {
    let started = Date()
    let fileManager = FileManager.default
    let staging = "\(options.output).partial-\(ProcessInfo.processInfo.processIdentifier)"
    try? fileManager.removeItem(atPath: staging)
    do {
      try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
    } catch {
      throw ShardError.cannotWrite(path: staging, reason: error.localizedDescription)
    }
    var completed = false
    defer { if !completed { try? fileManager.removeItem(atPath: staging) } }

    var fingerprint = FNV1a()
    var rawBytes = 0
    var shardBytes = 0
    func writeSplit(_ name: SplitName, _ images: LabeledImages) throws -> Manifest.Split {
      let parts =
        images.masks == nil
        ? StratifiedPartitioning.indices(
          labels: images.labels, classes: images.classCount, partitions: options.shards)
        : IterativeStratification.parts(
          of: images, shares: [Double](repeating: 1, count: options.shards), seed: options.seed)
      let entries = try parts.enumerated().map { index, members -> Manifest.Shard in
        let file = String(format: "%@-%05d-of-%05d.imbs", name.rawValue, index, options.shards)
        let shard = images.subset(members)
        let (bytes, header) = try ShardWriter.encode(
          shard, encoding: options.encoding, jpegQuality: options.jpegQuality, zstdLevel: options.zstdLevel)
        do {
          try Data(bytes).write(to: URL(fileURLWithPath: "\(staging)/\(file)"))
        } catch {
          throw ShardError.cannotWrite(path: "\(staging)/\(file)", reason: error.localizedDescription)
        }
        fingerprint.add(bytes)
        rawBytes += shard.count * (2 + shard.imageSize + shard.maskSize)
        shardBytes += bytes.count
        return Manifest.Shard(
          file: file, count: shard.count, classCounts: shard.classCounts, bytes: bytes.count,
          headerChecksum: header.checksum)
      }
      return Manifest.Split(count: images.count, classCounts: images.classCounts, shards: entries)
    }
    let manifestSplits = Manifest.Splits(
      train: try writeSplit(.train, splits.train), val: try writeSplit(.val, splits.validation),
      test: try writeSplit(.test, splits.test))
    let train = splits.train
    let manifest = Manifest(
      id: fingerprint.hex, source: .init(kind: options.source.rawValue, input: options.input),
      image: .init(channels: train.channels, height: train.height, width: train.width),
      classNames: train.classNames,
      imbalance: options.profile.description, seed: options.seed, encoding: options.encoding,
      jpegQuality: options.encoding == .jpeg ? options.jpegQuality : nil, zstdLevel: options.zstdLevel,
      normalization: Normalization(measuredOn: train), splits: manifestSplits,
      preparation: options.source.preparesImages ? options.preparation.recorded : nil,
      masks: train.masks != nil)
    let manifestPath = "\(staging)/\(Manifest.fileName)"
    do {
      try manifest.encoded().write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
    } catch {
      throw ShardError.cannotWrite(path: manifestPath, reason: error.localizedDescription)
    }
    try publish(staging: staging, as: options.output, replacing: options.force)
    completed = true
    return PackReport(
      manifest: manifest, rawBytes: rawBytes, shardBytes: shardBytes,
      seconds: Date().timeIntervalSince(started))
  }

  /// `--out` must be free, or with `--force` a dataset holding nothing but its own files and not
  /// holding `--input`: replacing never deletes anything the user did not pack.
  static func checkReplaceable(_ options: PackOptions) throws {
    let (output, input) = (options.output, options.input)
    guard FileManager.default.fileExists(atPath: output) else { return }
    guard options.force else {
      throw DatasetError.notADataset(path: output, detail: "already exists; pass --force to replace it")
    }
    let (outputPath, inputPath) = (realPath(output), realPath(input))
    if inputPath == outputPath || inputPath.hasPrefix(outputPath + "/") {
      throw DatasetError.notADataset(
        path: output,
        detail: "holds --input \(input); --force would delete the images it packs, choose another --out")
    }
    let manifestPath = "\(output)/\(Manifest.fileName)"
    guard let manifest = FileManager.default.contents(atPath: manifestPath) else {
      throw DatasetError.notADataset(
        path: output,
        detail: "exists and is not a packed dataset (no \(Manifest.fileName)); --force replaces datasets only"
      )
    }
    let own = Set([Manifest.fileName] + shardFiles(inManifest: manifest))
    let names = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
    if let foreign = names.sorted().first(where: { !own.contains($0) }) {
      throw DatasetError.notADataset(
        path: output,
        detail:
          "holds \(foreign), which is not part of the dataset; --force replaces a dataset's own files only")
    }
  }

  /// Every `"file"` a manifest names, of any format version.
  private static func shardFiles(inManifest data: Data) -> [String] {
    func files(_ value: Any) -> [String] {
      if let object = value as? [String: Any] {
        return (object["file"] as? String).map { [$0] } ?? object.values.flatMap(files)
      }
      return (value as? [Any])?.flatMap(files) ?? []
    }
    return (try? JSONSerialization.jsonObject(with: data)).map(files) ?? []
  }

  private static func realPath(_ path: String) -> String {
    URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
  }

  /// Renames the finished staging directory to `output`, moving an old dataset aside first
  /// when replacing it.
  private static func publish(staging: String, as output: String, replacing: Bool) throws {
    let fileManager = FileManager.default
    let parent = URL(fileURLWithPath: output).deletingLastPathComponent().path
    try? fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
    var retired: String?
    if fileManager.fileExists(atPath: output) {
      guard replacing else {
        throw DatasetError.notADataset(path: output, detail: "already exists; pass --force to replace it")
      }
      retired = "\(output).old-\(ProcessInfo.processInfo.processIdentifier)"
      guard rename(output, retired!) == 0 else {
        throw ShardError.cannotWrite(path: output, reason: String(cString: strerror(errno)))
      }
    }
    guard rename(staging, output) == 0 else {
      throw ShardError.cannotWrite(path: output, reason: String(cString: strerror(errno)))
    }
    if let retired { try? fileManager.removeItem(atPath: retired) }
  }
}

/// FNV-1a, 64 bit, over a stream of bytes.
struct FNV1a {
  private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
  mutating func add(_ bytes: [UInt8]) {
    for byte in bytes {
      value ^= UInt64(byte)
      value &*= 0x100_0000_01b3
    }
  }
  var hex: String { String(value, radix: 16).leftPadded(to: 16) }
}
