import Foundation

/// PASCAL VOC's segmentation layout (`pack --source voc`): `JPEGImages/NAME.jpg`, their palette
/// masks `SegmentationClass/NAME.png` (21 classes, 255 on object borders) and the lists
/// `ImageSets/Segmentation/train.txt` and `val.txt`, under the input or its `VOC2012/`. As the
/// seeds use it: `val.txt` is the test split, and `train.txt` is split into training and
/// validation images by the first two of `ratios`, stratified by the masks' classes
/// (`IterativeStratification`, as the seed's multilabel stratified split).
public enum VOCSegmentation {
  /// The classes of `SegmentationClass`, index by index.
  public static let classNames = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
  ]

  public static func load(root input: String, ratios: [Double], seed: UInt64, preparation: ImagePreparation)
    throws -> SourceData
  {
    let root =
      FileManager.default.fileExists(atPath: "\(input)/VOC2012/JPEGImages") ? "\(input)/VOC2012" : input
    guard FileManager.default.fileExists(atPath: "\(root)/JPEGImages") else {
      throw DatasetError.notADataset(
        path: input, detail: "is not a VOC folder (no JPEGImages/, here or under VOC2012/)")
    }
    var reader = SegmentationReader(
      classNames: classNames, classesSource: "VOC", preparation: preparation)
    let listed = "\(root)/ImageSets/Segmentation"
    let pool = try reader.read(
      try pairs(listedIn: "\(listed)/train.txt", root: root), from: "\(listed)/train.txt")
    let test = try reader.read(
      try pairs(listedIn: "\(listed)/val.txt", root: root), from: "\(listed)/val.txt")
    let parts = SegmentationReader.stratified(
      reader.images(pool), shares: Array(ratios.prefix(2)), seed: seed)
    return MaskLabels.sourceData(train: parts[0], validation: parts[1], test: reader.images(test))
  }

  /// The image and mask of every name the list at `path` holds (one per line; blank lines
  /// skipped); a name without its image or mask is an error naming the list and the file.
  private static func pairs(listedIn path: String, root: String) throws -> [SegmentationReader.Pair] {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw DataFileError.missing(path: path)
    }
    let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    return try names.filter { !$0.isEmpty }.map { name in
      let pair = SegmentationReader.Pair(
        image: "\(root)/JPEGImages/\(name).jpg", mask: "\(root)/SegmentationClass/\(name).png")
      for file in [pair.image, pair.mask] where !FileManager.default.fileExists(atPath: file) {
        throw DatasetError.notADataset(path: path, detail: "lists \(name), but \(file) does not exist")
      }
      return pair
    }
  }
}
