import Foundation

/// A folder of images and their label masks (`pack --source seg-folder`): `images/NAME.ext`
/// (anything libvips decodes) beside `masks/NAME.png`, a palette or grey PNG of class indices
/// per pixel, 255 for pixels of no class. Split (`train/`, `val/` or `valid/`, `test/`, each
/// with `images/` and `masks/`) or not (`images/`, `masks/` at the root, split by `ratios`
/// stratified by the masks' classes, ties drawn from `seed`). Classes are named by `classes.txt` (line k names class
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
    var reader = SegmentationReader(
      classNames: try namedClasses(root), classesSource: classesFile, preparation: preparation)
    if FileManager.default.fileExists(atPath: "\(root)/train") {
      let validation = ["val", "valid"].map { "\(root)/\($0)" }.first {
        FileManager.default.fileExists(atPath: $0)
      }
      guard let validation, FileManager.default.fileExists(atPath: "\(root)/test") else {
        throw DatasetError.notADataset(
          path: root,
          detail: "has train/ but not both val/ (or valid/) and test/: a split folder needs all three")
      }
      let splits = try ["\(root)/train", validation, "\(root)/test"].map {
        try reader.read(try pairs(in: $0), from: "\($0)/images")
      }
      let images = splits.map(reader.images)
      return MaskLabels.sourceData(train: images[0], validation: images[1], test: images[2])
    }
    let read = try reader.read(try pairs(in: root), from: "\(root)/images")
    let all = reader.images(read)
    let splits = SegmentationReader.stratified(all, shares: ratios, seed: seed)
    return MaskLabels.sourceData(train: splits[0], validation: splits[1], test: splits[2])
  }

  /// `folder/images/*` and their masks `folder/masks/STEM.png`; an image without a mask and a
  /// mask without an image are errors naming the file.
  private static func pairs(in folder: String) throws -> [SegmentationReader.Pair] {
    let (images, masks) = ("\(folder)/images", "\(folder)/masks")
    let imageFiles = try ImageFolder.contents(of: images)
    let maskFiles = Set(try ImageFolder.contents(of: masks))
    let stems = imageFiles.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
    if let orphan = maskFiles.sorted().first(where: {
      !stems.contains(URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent)
    }) {
      throw DatasetError.notADataset(
        path: "\(masks)/\(orphan)", detail: "a mask without an image in \(images)")
    }
    return try zip(imageFiles, stems).map { file, stem in
      guard maskFiles.contains("\(stem).png") else {
        throw DatasetError.notADataset(
          path: "\(images)/\(file)", detail: "has no mask (expected \(masks)/\(stem).png)")
      }
      return SegmentationReader.Pair(image: "\(images)/\(file)", mask: "\(masks)/\(stem).png")
    }
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
}
