/// A set of labelled uint8 images of one shape, planar per image (CHW), as every source
/// decodes into and every sampler draws from; for segmentation, with a label mask per image.
public struct LabeledImages: Sendable {
  public let channels: Int
  public let height: Int
  public let width: Int
  public let classNames: [String]
  /// `count × channels × height × width` bytes.
  public private(set) var pixels: [UInt8]
  /// Class index of each image, in `0..<classNames.count`; with masks, the rarest class its
  /// mask holds (how samplers see a segmentation image).
  public private(set) var labels: [Int32]
  /// `count × height × width` class indices (`ShardFormat.ignoreLabel`: no class), or nil.
  public private(set) var masks: [UInt8]?

  public init(
    channels: Int, height: Int, width: Int, classNames: [String], pixels: [UInt8], labels: [Int32],
    masks: [UInt8]? = nil
  ) {
    precondition(
      pixels.count == labels.count * channels * height * width, "pixel count does not match labels")
    precondition(masks.map { $0.count == labels.count * height * width } ?? true, "mask size does not match")
    self.channels = channels
    self.height = height
    self.width = width
    self.classNames = classNames
    self.pixels = pixels
    self.labels = labels
    self.masks = masks
  }

  public var count: Int { labels.count }
  public var classCount: Int { classNames.count }
  public var imageSize: Int { channels * height * width }
  /// Bytes of one image's mask (0 without masks).
  public var maskSize: Int { masks == nil ? 0 : height * width }

  /// The classes of image `index`'s mask, increasing, with their pixel counts.
  public func maskClasses(of index: Int) -> [MaskClass] {
    guard let masks else { return [] }
    var pixels = [Int](repeating: 0, count: classCount)
    for value in masks[(index * maskSize)..<((index + 1) * maskSize)] where Int(value) < classCount {
      pixels[Int(value)] += 1
    }
    return pixels.indices.filter { pixels[$0] > 0 }.map { MaskClass(label: Int32($0), pixels: pixels[$0]) }
  }

  /// Number of images of each class.
  public var classCounts: [Int] {
    var counts = [Int](repeating: 0, count: classCount)
    for label in labels { counts[Int(label)] += 1 }
    return counts
  }

  /// Indices of the images of each class, in order.
  public var indicesByClass: [[Int]] {
    var byClass = [[Int]](repeating: [], count: classCount)
    for (index, label) in labels.enumerated() { byClass[Int(label)].append(index) }
    return byClass
  }

  /// The images at `indices`, in that order.
  public func subset(_ indices: [Int]) -> LabeledImages {
    var subsetPixels = [UInt8]()
    subsetPixels.reserveCapacity(indices.count * imageSize)
    for index in indices {
      subsetPixels.append(contentsOf: pixels[(index * imageSize)..<((index + 1) * imageSize)])
    }
    let subsetMasks = masks.map { masks in
      indices.flatMap { masks[($0 * maskSize)..<(($0 + 1) * maskSize)] }
    }
    return LabeledImages(
      channels: channels, height: height, width: width, classNames: classNames,
      pixels: subsetPixels, labels: indices.map { labels[$0] }, masks: subsetMasks)
  }

  /// The images of `parts` one after another (all of the same shape and classes).
  public static func concatenating(_ parts: [LabeledImages]) -> LabeledImages {
    precondition(!parts.isEmpty)
    let first = parts[0]
    precondition(
      parts.allSatisfy {
        $0.imageSize == first.imageSize && $0.classNames == first.classNames && $0.maskSize == first.maskSize
      })
    return LabeledImages(
      channels: first.channels, height: first.height, width: first.width, classNames: first.classNames,
      pixels: parts.flatMap(\.pixels), labels: parts.flatMap(\.labels),
      masks: first.masks == nil ? nil : parts.flatMap { $0.masks! })
  }
}
