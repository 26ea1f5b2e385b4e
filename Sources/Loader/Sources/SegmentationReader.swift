import Foundation

/// Reads image–mask pairs for the segmentation sources (`SegmentationFolder`, `VOCSegmentation`)
/// into one shape: each mask checked against the classes (`classesSource` names where they come
/// from), each image and its mask prepared together (`ImagePreparation`), then every split's
/// images labelled by the rarest class of their mask (`MaskLabels`).
struct SegmentationReader {
  /// One image and its mask, by path.
  struct Pair {
    let image: String
    let mask: String
  }

  /// Images and masks of one split, before their classes are known.
  struct Split {
    var pixels: [UInt8] = []
    var masks: [UInt8] = []
    var count = 0

    func subset(_ indices: [Int]) -> Split {
      let (size, plane) = (pixels.count / max(count, 1), masks.count / max(count, 1))
      return Split(
        pixels: indices.flatMap { pixels[($0 * size)..<(($0 + 1) * size)] },
        masks: indices.flatMap { masks[($0 * plane)..<(($0 + 1) * plane)] }, count: indices.count)
    }
  }

  /// The classes masks may hold (nil: numbered by the largest index met), and where their names
  /// come from, for errors.
  let classNames: [String]?
  let classesSource: String
  let preparation: ImagePreparation
  private var shape: (width: Int, height: Int, channels: Int)?
  private var largestLabel = 0

  init(classNames: [String]?, classesSource: String, preparation: ImagePreparation) {
    (self.classNames, self.classesSource, self.preparation) = (classNames, classesSource, preparation)
  }

  /// Reads `pairs`; `folder` names where they are when there are none.
  mutating func read(_ pairs: [Pair], from folder: String) throws -> Split {
    var split = Split()
    for pair in pairs {
      let (image, labels) = try preparation.prepare(
        path: pair.image, mask: try checkedMask(pair.mask), maskPath: pair.mask)
      if let shape, (image.width, image.height) != (shape.width, shape.height) {
        throw DatasetError.notADataset(
          path: pair.image,
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
    guard split.count > 0 else { throw DatasetError.notADataset(path: folder, detail: "holds no images") }
    return split
  }

  /// The mask at `path`, whose labels must be classes or 255.
  private mutating func checkedMask(_ path: String) throws -> LabelMask {
    let mask = try LabelMask(path: path, maxPixels: preparation.maxPixels)
    let limit = classNames?.count ?? Int(ShardFormat.ignoreLabel) - 1
    if let stray = mask.labels.first(where: { Int($0) >= limit && $0 != ShardFormat.ignoreLabel }) {
      throw DatasetError.notADataset(
        path: path,
        detail: classNames == nil
          ? "holds label \(stray): at most 254 classes (0…253), and 255 for pixels of no class"
          : "holds label \(stray), outside the \(limit) classes of \(classesSource) and not the ignore label 255"
      )
    }
    largestLabel = max(largestLabel, Int(mask.labels.filter { $0 != ShardFormat.ignoreLabel }.max() ?? 0))
    return mask
  }

  /// `all` cut into `shares.count` parts by `shares` with every class of the masks spread by its
  /// share (`IterativeStratification`, ties drawn from `seed`).
  static func stratified(_ all: Split, shares: [Double], seed: UInt64) -> [Split] {
    let plane = all.masks.count / max(all.count, 1)
    let classSets = (0..<all.count).map { index in
      Set(all.masks[(index * plane)..<((index + 1) * plane)]).filter { $0 != ShardFormat.ignoreLabel }.map(
        Int.init)
    }
    return IterativeStratification.parts(
      classSets: classSets, classes: Int(ShardFormat.ignoreLabel), shares: shares, seed: seed
    ).map { all.subset($0) }
  }

  /// Train, validation and test as labelled images with masks, each image labelled by the
  /// rarest class of its mask among the training images.
  func sourceData(train: Split, validation: Split, test: Split) -> SourceData {
    let classNames = classNames ?? (0...largestLabel).map(String.init)
    let shape = shape ?? (1, 1, 1)
    let images = [train, validation, test].map { split in
      LabeledImages(
        channels: shape.channels, height: shape.height, width: shape.width, classNames: classNames,
        pixels: split.pixels, labels: [Int32](repeating: 0, count: split.count), masks: split.masks)
    }
    let presence = MaskLabels.presence(images[0])
    let labelled = images.map { MaskLabels.labelledByRarestClass($0, presence: presence) }
    return SourceData(train: labelled[0], validation: labelled[1], test: labelled[2])
  }
}
