import Foundation
import PRNG

/// A torchvision `ImageFolder` tree of images, one folder per class (sorted by name; files
/// sorted by name; hidden files ignored). Either already split:
/// `ROOT/train/CLASS/*`, `ROOT/valid/CLASS/*` (or `val/`, optional), `ROOT/test/CLASS/*`;
/// or not: `ROOT/CLASS/*`, split per class by `ratios` (train, val, test) after a seeded shuffle.
/// Each image goes through `preparation`; without its `size` every image must have the size of
/// the first one read, and without its `channels` the first image's channels are kept.
public enum ImageFolder {
  public static func load(
    root: String, ratios: [Double], seed: UInt64, preparation: ImagePreparation = ImagePreparation()
  ) throws -> SourceData {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw DataFileError.missing(path: root)
    }
    if FileManager.default.fileExists(atPath: "\(root)/train") {
      return try loadSplit(root: root, preparation)
    }
    return try loadUnsplit(root: root, ratios: ratios, seed: seed, preparation)
  }

  private static func loadSplit(root: String, _ preparation: ImagePreparation) throws -> SourceData {
    let classNames = try classFolders(in: "\(root)/train")
    var reader = Reader(classNames: classNames, preparation: preparation)
    let train = try reader.read(folder: "\(root)/train")
    let validationFolder = ["valid", "val"].map { "\(root)/\($0)" }.first {
      FileManager.default.fileExists(atPath: $0)
    }
    let validation = try validationFolder.map { try reader.read(folder: $0) }
    guard FileManager.default.fileExists(atPath: "\(root)/test") else {
      throw DatasetError.notADataset(path: root, detail: "has train/ but no test/ folder")
    }
    let test = try reader.read(folder: "\(root)/test")
    return SourceData(train: train, validation: validation, test: test)
  }

  private static func loadUnsplit(
    root: String, ratios: [Double], seed: UInt64, _ preparation: ImagePreparation
  ) throws -> SourceData {
    precondition(ratios.count == 3 && ratios.allSatisfy { $0 >= 0 })
    var reader = Reader(classNames: try classFolders(in: root), preparation: preparation)
    let all = try reader.read(folder: root)
    var parts: [[Int]] = [[], [], []]
    let total = ratios.reduce(0, +)
    for (c, indices) in all.indicesByClass.enumerated() {
      var rng = Xoshiro256(seed: seed, stream: [0xF01D, UInt64(c)])
      let shuffled = indices.shuffled(using: &rng)
      let trainCount = Int((Double(shuffled.count) * ratios[0] / total).rounded())
      let validationCount = Int((Double(shuffled.count) * ratios[1] / total).rounded())
      parts[0] += shuffled[0..<trainCount]
      parts[1] += shuffled[trainCount..<min(shuffled.count, trainCount + validationCount)]
      parts[2] += shuffled[min(shuffled.count, trainCount + validationCount)...]
    }
    return SourceData(
      train: all.subset(parts[0].sorted()), validation: all.subset(parts[1].sorted()),
      test: all.subset(parts[2].sorted()))
  }

  /// The class folders directly under `folder`, sorted; an error if there are none.
  private static func classFolders(in folder: String) throws -> [String] {
    let names = try contents(of: folder).filter { isDirectory("\(folder)/\($0)") }
    guard !names.isEmpty else {
      throw DatasetError.notADataset(path: folder, detail: "holds no class folders")
    }
    return names
  }

  /// The names in `folder`, sorted, hidden ones (starting with `.`) left out.
  static func contents(of folder: String) throws -> [String] {
    do {
      return try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }
        .sorted()
    } catch {
      throw DataFileError.unreadable(path: folder, reason: error.localizedDescription)
    }
  }

  private static func isDirectory(_ path: String) -> Bool {
    var flag: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
  }

  /// Decodes class folders into one shape: the preparation's, else the first image's.
  private struct Reader {
    let classNames: [String]
    let preparation: ImagePreparation
    var shape: (width: Int, height: Int, channels: Int)?

    init(classNames: [String], preparation: ImagePreparation) {
      (self.classNames, self.preparation) = (classNames, preparation)
    }

    mutating func read(folder: String) throws -> LabeledImages {
      let present = try classFolders(in: folder)
      let strangers = present.filter { !classNames.contains($0) }
      let missing = classNames.filter { !present.contains($0) }
      guard strangers.isEmpty && missing.isEmpty else {
        let parts =
          (strangers.isEmpty
            ? [] : ["has class folders the training split does not: \(strangers.joined(separator: ", "))"])
          + (missing.isEmpty
            ? [] : ["lacks class folders the training split has: \(missing.joined(separator: ", "))"])
        throw DatasetError.notADataset(
          path: folder, detail: parts.joined(separator: "; ") + " (every split needs the same class folders)")
      }
      var pixels: [UInt8] = []
      var labels: [Int32] = []
      for (label, name) in classNames.enumerated() {
        let classFolder = "\(folder)/\(name)"
        let files = try contents(of: classFolder).filter { !isDirectory("\(classFolder)/\($0)") }
        guard !files.isEmpty else {
          throw DatasetError.emptyClass(className: name, detail: "in \(classFolder)")
        }
        for file in files {
          let path = "\(classFolder)/\(file)"
          let image = try preparation.prepare(path: path)
          if let shape, (image.width, image.height) != (shape.width, shape.height) {
            throw ImageError.sizeMismatch(
              path: path, width: image.width, height: image.height, expectedWidth: shape.width,
              expectedHeight: shape.height)
          }
          let fixed = shape ?? (image.width, image.height, preparation.channels ?? image.channels)
          shape = fixed
          pixels += image.planar(channels: fixed.channels)
          labels.append(Int32(label))
        }
      }
      let fixed = shape ?? (1, 1, 1)
      return LabeledImages(
        channels: fixed.channels, height: fixed.height, width: fixed.width, classNames: classNames,
        pixels: pixels, labels: labels)
    }
  }
}
