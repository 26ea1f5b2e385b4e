import Foundation
import PRNG

/// A folder of images and their label masks (`pack --source seg-folder`): `images/NAME.ext`
/// (anything libvips decodes) beside `masks/NAME.png`, a palette or grey PNG of class indices
/// per pixel, 255 for pixels of no class. Split (`train/`, `val/` or `valid/`, `test/`, each
/// with `images/` and `masks/`) or not (`images/`, `masks/` at the root, split by `ratios`
/// after a shuffle seeded by `seed`). Classes are named by `classes.txt` (line k names class
/// k), else `0`…`K−1` for the largest index any mask holds. Every mask has its image's size;
/// with `preparation.size` image and mask are resized together (`ImagePreparation`), else
/// every image has the first one's size. Images are kept as stored, not turned by EXIF.
public enum SegmentationFolder {
  public static let classesFile = "classes.txt"

  public static func load(root: String, ratios: [Double], seed: UInt64, preparation: ImagePreparation)
    throws -> SourceData
  {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue
    else { throw DataFileError.missing(path: root) }
    var reader = Reader(classNames: try namedClasses(root), preparation: preparation)
    let splits: [Split]
    if FileManager.default.fileExists(atPath: "\(root)/train") {
      let validation = ["val", "valid"].map { "\(root)/\($0)" }.first {
        FileManager.default.fileExists(atPath: $0)
      }
      guard let validation, FileManager.default.fileExists(atPath: "\(root)/test") else {
        throw DatasetError.notADataset(
          path: root,
          detail: "has train/ but not both val/ (or valid/) and test/: a split folder needs all three")
      }
      splits = try ["\(root)/train", validation, "\(root)/test"].map { try reader.read($0) }
    } else {
      splits = shuffledSplits(try reader.read(root), ratios: ratios, seed: seed)
    }
    let classNames = reader.classNames ?? (0...reader.largestLabel).map(String.init)
    let images = splits.map { $0.images(reader.shape, classNames: classNames) }
    let presence = MaskLabels.presence(images[0])
    let labelled = images.map { MaskLabels.labelledByRarestClass($0, presence: presence) }
    return SourceData(train: labelled[0], validation: labelled[1], test: labelled[2])
  }

  /// `classes.txt`'s names (blank lines at the end ignored), or nil without the file.
  private static func namedClasses(_ root: String) throws -> [String]? {
    let path = "\(root)/\(classesFile)"
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw DataFileError.unreadable(path: path, reason: error.localizedDescription)
    }
    var names = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    while names.last?.isEmpty == true { names.removeLast() }
    guard (1..<Int(ShardFormat.ignoreLabel)).contains(names.count), !names.contains(where: \.isEmpty) else {
      throw DatasetError.notADataset(
        path: path,
        detail: "needs 1 to 254 class names, one per line, none empty (it has \(names.count) lines)")
    }
    return names
  }

  /// Splits one pool into train, val and test by `ratios`, after a seeded shuffle.
  private static func shuffledSplits(_ all: Split, ratios: [Double], seed: UInt64) -> [Split] {
    var generator = Xoshiro256(seed: seed, stream: [0x5E6F])
    let order = Array(0..<all.count).shuffled(using: &generator)
    let total = ratios.reduce(0, +)
    let train = Int((Double(all.count) * ratios[0] / total).rounded())
    let validation = min(all.count - train, Int((Double(all.count) * ratios[1] / total).rounded()))
    return [order[0..<train], order[train..<(train + validation)], order[(train + validation)...]].map {
      all.subset($0.sorted())
    }
  }

  /// Images and masks of one split, before their classes are known.
  private struct Split {
    var pixels: [UInt8] = []
    var masks: [UInt8] = []
    var count = 0

    func subset(_ indices: [Int]) -> Split {
      let (size, plane) = (pixels.count / max(count, 1), masks.count / max(count, 1))
      return Split(
        pixels: indices.flatMap { pixels[($0 * size)..<(($0 + 1) * size)] },
        masks: indices.flatMap { masks[($0 * plane)..<(($0 + 1) * plane)] }, count: indices.count)
    }

    func images(_ shape: (width: Int, height: Int, channels: Int)?, classNames: [String]) -> LabeledImages {
      let shape = shape ?? (1, 1, 1)
      return LabeledImages(
        channels: shape.channels, height: shape.height, width: shape.width, classNames: classNames,
        pixels: pixels, labels: [Int32](repeating: 0, count: count), masks: masks)
    }
  }

  /// Reads `images/` and `masks/` folders into one shape, checking every mask as it goes.
  private struct Reader {
    let classNames: [String]?
    let preparation: ImagePreparation
    var shape: (width: Int, height: Int, channels: Int)?
    var largestLabel = 0

    init(classNames: [String]?, preparation: ImagePreparation) {
      (self.classNames, self.preparation) = (classNames, preparation)
    }

    mutating func read(_ folder: String) throws -> Split {
      let (images, masks) = ("\(folder)/images", "\(folder)/masks")
      let imageFiles = try files(in: images)
      let maskFiles = Set(try files(in: masks))
      let stems = imageFiles.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
      if let orphan = maskFiles.sorted().first(where: {
        !stems.contains(URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent)
      }) {
        throw DatasetError.notADataset(
          path: "\(masks)/\(orphan)", detail: "a mask without an image in \(images)")
      }
      var split = Split()
      for (file, stem) in zip(imageFiles, stems) {
        let imagePath = "\(images)/\(file)"
        guard maskFiles.contains("\(stem).png") else {
          throw DatasetError.notADataset(
            path: imagePath, detail: "has no mask (expected \(masks)/\(stem).png)")
        }
        let mask = try checkedMask("\(masks)/\(stem).png")
        let (image, labels) = try preparation.prepare(
          path: imagePath, mask: mask, maskPath: "\(masks)/\(stem).png")
        if let shape, (image.width, image.height) != (shape.width, shape.height) {
          throw DatasetError.notADataset(
            path: imagePath,
            detail:
              "image is \(image.width)×\(image.height), but the dataset's images are \(shape.width)×\(shape.height) (the first image sets the size; give pack --image-size to resize every image and its mask)"
          )
        }
        let fixed = shape ?? (image.width, image.height, preparation.channels ?? image.channels)
        shape = fixed
        split.pixels += image.planar(channels: fixed.channels)
        split.masks += labels
        split.count += 1
      }
      guard split.count > 0 else { throw DatasetError.notADataset(path: images, detail: "holds no images") }
      return split
    }

    /// The mask at `path`, whose labels must be classes or 255.
    private mutating func checkedMask(_ path: String) throws -> LabelMask {
      let mask = try LabelMask(path: path, maxPixels: preparation.maxPixels)
      let labels = mask.labels
      let limit = classNames?.count ?? Int(ShardFormat.ignoreLabel) - 1
      if let stray = labels.first(where: { Int($0) >= limit && $0 != ShardFormat.ignoreLabel }) {
        throw DatasetError.notADataset(
          path: path,
          detail: classNames == nil
            ? "holds label \(stray): at most 254 classes (0…253), and 255 for pixels of no class"
            : "holds label \(stray), outside the \(limit) classes of \(SegmentationFolder.classesFile) and not the ignore label 255"
        )
      }
      largestLabel = max(largestLabel, Int(labels.filter { $0 != ShardFormat.ignoreLabel }.max() ?? 0))
      return mask
    }

    private func files(in folder: String) throws -> [String] {
      do {
        return try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }
          .sorted()
      } catch {
        throw DataFileError.unreadable(path: folder, reason: error.localizedDescription)
      }
    }
  }
}
