/// A dataset whose content does not make sense (as opposed to a file that cannot be read).
public enum DatasetError: Error, CustomStringConvertible, Equatable {
  case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
  case labelOutOfRange(path: String, index: Int, label: Int, classes: Int)
  case emptyClass(className: String, detail: String)
  /// `nearby`: the datasets next to the directory named (in its parent folder).
  case missingManifest(directory: String, nearby: [String])
  case badManifest(path: String, detail: String)
  case manifestDisagrees(path: String, detail: String)
  case notADataset(path: String, detail: String)
  /// A split that must hold images holds none.
  case emptySplit(split: String, detail: String)
  /// Packed by an older imbal-dist in a shard format this build does not read.
  case oldFormat(directory: String, version: Int, source: Manifest.Source?)

  public var description: String {
    switch self {
    case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
      return "\(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels"
    case .labelOutOfRange(let path, let index, let label, let classes):
      return "\(path): label \(label) of record \(index) is outside the \(classes) classes (0…\(classes - 1))"
    case .emptyClass(let className, let detail):
      return "class '\(className)' has no images \(detail)"
    case .missingManifest(let directory, let nearby):
      let others =
        nearby.isEmpty ? "" : "; the datasets beside it are \(nearby.joined(separator: ", "))"
      return
        "\(directory): not a packed dataset (no \(Manifest.fileName))\(others); create one with `imbal-dist pack`"
    case .badManifest(let path, let detail):
      return "\(path): invalid manifest: \(detail)"
    case .manifestDisagrees(let path, let detail):
      return "\(path): does not match the manifest: \(detail)"
    case .notADataset(let path, let detail):
      return "\(path): \(detail)"
    case .emptySplit(let split, let detail):
      return "the \(split) split is empty: \(detail)"
    case .oldFormat(let directory, let version, let source):
      let command =
        source.map { "imbal-dist pack --source \($0.kind) --input \($0.input) --out \(directory) --force" }
        ?? "imbal-dist pack … --out \(directory) --force"
      return
        "\(directory): packed in dataset format \(version); this build reads format \(Manifest.formatVersion) "
        + "(records readable one by one): pack it again with `\(command)`, adding the --imbalance, --split "
        + "and image options you used"
    }
  }
}
