/// The image-level class of a segmentation image: the rarest class its mask holds, rarity being
/// how few training images hold a class (the lower index on a tie): what an image sampler
/// weights by, as the seed's "sample by the inverse log frequency of the rarest class" does.
public enum MaskLabels {
  /// How many of `images`' masks hold each class.
  public static func presence(_ images: LabeledImages) -> [Int] {
    var counts = [Int](repeating: 0, count: images.classCount)
    for index in 0..<images.count {
      for entry in images.maskClasses(of: index) { counts[Int(entry.label)] += 1 }
    }
    return counts
  }

  /// The three splits, every image labelled by the rarest class of its mask by the training
  /// images' presence.
  public static func sourceData(train: LabeledImages, validation: LabeledImages, test: LabeledImages)
    -> SourceData
  {
    let presence = presence(train)
    let labelled = [train, validation, test].map { labelledByRarestClass($0, presence: presence) }
    return SourceData(train: labelled[0], validation: labelled[1], test: labelled[2])
  }

  /// `images` with each image labelled by the rarest class of its mask by `presence` (0 for a
  /// mask of ignored pixels only).
  public static func labelledByRarestClass(_ images: LabeledImages, presence: [Int]) -> LabeledImages {
    let labels = (0..<images.count).map { index in
      images.maskClasses(of: index).min {
        (presence[Int($0.label)], $0.label) < (presence[Int($1.label)], $1.label)
      }?
      .label ?? 0
    }
    return LabeledImages(
      channels: images.channels, height: images.height, width: images.width, classNames: images.classNames,
      pixels: images.pixels, labels: labels, masks: images.masks)
  }
}

/// A split's label masks counted from its shard headers, without decompressing a record: the
/// images holding each class, the pixels of each class (what pixel-frequency class weights
/// count), and the pixels ignored.
public struct MaskTotals: Sendable, Equatable {
  public var images: [Int]
  public var pixels: [Int]
  public var ignored = 0

  /// Totals over `headers` of `classes` classes and masks of `plane` pixels.
  public init(headers: [ShardHeader], classes: Int, plane: Int) {
    (images, pixels) = ([Int](repeating: 0, count: classes), [Int](repeating: 0, count: classes))
    for header in headers {
      for entries in header.maskClasses ?? [] {
        for entry in entries {
          images[Int(entry.label)] += 1
          pixels[Int(entry.label)] += entry.pixels
        }
        ignored += plane - entries.reduce(0) { $0 + $1.pixels }
      }
    }
  }
}
