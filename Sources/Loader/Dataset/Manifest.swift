import Foundation

/// `manifest.json` of a packed dataset directory: what the shards hold, so that every rank can
/// plan its work (global class counts, shard list, image shape) without reading any data.
public struct Manifest: Codable, Equatable, Sendable {
  public static let fileName = "manifest.json"
  public static let formatVersion = 2

  /// One shard file of a split and what its header must say: its header's CRC-32 tells it
  /// from every other shard, so a shard swapped with another or copied in from another dataset
  /// is caught when opened (absent in manifests of earlier builds).
  public struct Shard: Codable, Equatable, Sendable {
    public var file: String
    public var count: Int
    public var classCounts: [Int]
    public var bytes: Int
    public var headerChecksum: UInt32?
  }

  /// One split (train, val or test): global counts and its shards, in index order.
  public struct Split: Codable, Equatable, Sendable {
    public var count: Int
    public var classCounts: [Int]
    public var shards: [Shard]
  }

  public struct Splits: Codable, Equatable, Sendable {
    public var train: Split
    public var val: Split
    public var test: Split
  }

  public struct Source: Codable, Equatable, Sendable {
    public var kind: String
    public var input: String
  }

  public struct Image: Codable, Equatable, Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
      self.channels = channels
      self.height = height
      self.width = width
    }
  }

  /// How `pack` turned a folder's image files into records (absent for other sources and in
  /// manifests of earlier builds): what `predict` repeats on new image files.
  public struct Preparation: Codable, Equatable, Sendable {
    /// `pack --image-size` as `HxW`; absent: the images kept their own (common) size.
    public var imageSize: String?
    public var resize: ResizePolicy
    public var background: [UInt8]

    public init(imageSize: String?, resize: ResizePolicy, background: [UInt8]) {
      (self.imageSize, self.resize, self.background) = (imageSize, resize, background)
    }
  }

  public var formatVersion: Int
  /// A fingerprint of every shard's bytes (FNV-1a, 64 bit, hex): two datasets with the same id
  /// hold the same data.
  public var id: String
  public var tool: String
  public var source: Source
  public var image: Image
  public var classNames: [String]
  /// The imbalance profile applied to the training split (`exp:100`, `step:0.5:2,4,6`, `none`).
  public var imbalance: String
  public var seed: UInt64
  /// How the records store their pixels, and the JPEG quality when they are JPEGs.
  public var encoding: RecordEncoding
  public var jpegQuality: Int?
  public var zstdLevel: Int
  /// Per-channel mean and standard deviation of the training pixels (on the 0…1 scale).
  public var normalization: Normalization
  public var preparation: Preparation?
  /// True when every record carries a label mask (a segmentation dataset); absent otherwise.
  public var masks: Bool?
  public var splits: Splits

  public var hasMasks: Bool { masks == true }

  /// The split named `name` (`train`, `val`, `test`).
  public func split(_ name: SplitName) -> Split {
    switch name {
    case .train: return splits.train
    case .val: return splits.val
    case .test: return splits.test
    }
  }

  public func encoded() -> Data {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try! encoder.encode(self)
  }

  /// The packed datasets in the folder that holds `directory` (a typo's likely targets), as
  /// paths spelled like `directory`.
  static func datasets(besides directory: String) -> [String] {
    var named = directory
    while named.count > 1 && named.hasSuffix("/") { named.removeLast() }
    let parent = URL(fileURLWithPath: named).deletingLastPathComponent().path
    let prefix = named.lastIndex(of: "/").map { String(named[...$0]) } ?? ""
    let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
    return names.sorted().filter { name in
      !name.hasPrefix(".") && FileManager.default.fileExists(atPath: "\(parent)/\(name)/\(Manifest.fileName)")
    }.map { prefix + $0 }
  }

  /// Reads `DIR/manifest.json`.
  public init(directory: String) throws {
    let path = "\(directory)/\(Manifest.fileName)"
    guard let data = FileManager.default.contents(atPath: path) else {
      throw DatasetError.missingManifest(directory: directory, nearby: Self.datasets(besides: directory))
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    struct Versioned: Decodable {
      let formatVersion: Int
      let source: Source?
    }
    do {
      let versioned = try decoder.decode(Versioned.self, from: data)
      guard versioned.formatVersion == Manifest.formatVersion else {
        throw DatasetError.oldFormat(
          directory: directory, version: versioned.formatVersion, source: versioned.source)
      }
      self = try decoder.decode(Manifest.self, from: data)
    } catch let error as DecodingError {
      throw DatasetError.badManifest(path: path, detail: error.readableDescription)
    }
    if let problem = problem() { throw DatasetError.badManifest(path: path, detail: problem) }
  }

  public init(
    id: String, source: Source, image: Image, classNames: [String], imbalance: String, seed: UInt64,
    encoding: RecordEncoding, jpegQuality: Int?, zstdLevel: Int, normalization: Normalization, splits: Splits,
    preparation: Preparation? = nil, masks: Bool = false
  ) {
    formatVersion = Manifest.formatVersion
    tool = "imbal-dist \(imbalDistVersion)"
    self.id = id
    self.source = source
    self.image = image
    self.classNames = classNames
    self.imbalance = imbalance
    self.seed = seed
    self.encoding = encoding
    self.jpegQuality = jpegQuality
    self.zstdLevel = zstdLevel
    self.normalization = normalization
    self.splits = splits
    self.preparation = preparation
    self.masks = masks ? true : nil
  }
}

/// The three splits of a dataset.
public enum SplitName: String, CaseIterable, Sendable {
  case train, val, test
}

/// The version written into manifests (and later run directories).
public let imbalDistVersion = "0.1.0"

extension DecodingError {
  /// The error with field paths spelled as in the JSON file (`splits.train.class_counts`).
  var readableDescription: String {
    func jsonPath(_ keys: [CodingKey]) -> String {
      keys.map { key in
        key.intValue.map(String.init)
          ?? key.stringValue.reduce(into: "") { name, character in
            name += character.isUppercase ? "_" + character.lowercased() : String(character)
          }
      }.joined(separator: ".")
    }
    switch self {
    case .keyNotFound(let key, let context):
      return "missing field '\(jsonPath(context.codingPath + [key]))'"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
      let path = jsonPath(context.codingPath)
      return path.isEmpty ? context.debugDescription : "field '\(path)': \(context.debugDescription)"
    @unknown default:
      return "\(self)"
    }
  }
}
