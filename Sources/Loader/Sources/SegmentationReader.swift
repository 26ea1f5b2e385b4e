import Foundation

/// Reads image–mask pairs for the segmentation sources (`SegmentationFolder`, `VOCSegmentation`)
/// into one shape: each mask checked against the classes (`classesSource` names where they come
/// from), each image and its mask prepared together (`ImagePreparation`).
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

  /// `split` as images with masks, once every split is read (the classes are numbered by the
  /// largest index of all masks when they have no names); labels come with `MaskLabels`.
  func images(_ split: Split) -> LabeledImages {
    let shape = shape ?? (1, 1, 1)
    return LabeledImages(
      channels: shape.channels, height: shape.height, width: shape.width,
      classNames: classNames ?? (0...largestLabel).map(String.init), pixels: split.pixels,
      labels: [Int32](repeating: 0, count: split.count), masks: split.masks)
  }

  /// `all` cut into `shares.count` parts by `shares`, every class of the masks spread by its
  /// share (`IterativeStratification`, ties drawn from `seed`).
  static func stratified(_ all: LabeledImages, shares: [Double], seed: UInt64) -> [LabeledImages] {
    IterativeStratification.parts(of: all, shares: shares, seed: seed).map { all.subset($0) }
  }
}
