/// A dataset whose content does not make sense (as opposed to a file that cannot be read).
public enum DatasetError: Error, CustomStringConvertible, Equatable {
  case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
  case labelOutOfRange(path: String, index: Int, label: Int, classes: Int)
  case emptyClass(className: String, detail: String)

  public var description: String {
    switch self {
    case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
      return "\(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels"
    case .labelOutOfRange(let path, let index, let label, let classes):
      return "\(path): label \(label) of record \(index) is outside the \(classes) classes (0…\(classes - 1))"
    case .emptyClass(let className, let detail):
      return "class '\(className)' has no images \(detail)"
    }
  }
}

/// Zalando's Fashion-MNIST (Xiao et al. 2017): 28×28 grey images of 10 clothing classes,
/// 60,000 for training and 10,000 for test, in IDX files as Debian's `dataset-fashion-mnist`
/// installs them.
public enum FashionMNIST {
  public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
  public static let classNames = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
  ]

  /// Loads the training and test splits from `directory` (`*-idx?-ubyte.gz` or uncompressed).
  public static func load(directory: String = defaultDirectory) throws -> (
    train: LabeledImages, test: LabeledImages
  ) {
    func path(_ stem: String) -> String {
      let gz = "\(directory)/\(stem).gz"
      let raw = "\(directory)/\(stem)"
      return (access(gz, F_OK) == 0 || access(raw, F_OK) != 0) ? gz : raw
    }
    let train = try loadIDXPair(
      images: path("train-images-idx3-ubyte"), labels: path("train-labels-idx1-ubyte"), classNames: classNames
    )
    let test = try loadIDXPair(
      images: path("t10k-images-idx3-ubyte"), labels: path("t10k-labels-idx1-ubyte"), classNames: classNames)
    return (train, test)
  }

  /// Loads one MNIST-style pair: a rank-3 image file and a rank-1 label file.
  public static func loadIDXPair(images imagesPath: String, labels labelsPath: String, classNames: [String])
    throws
    -> LabeledImages
  {
    let images = try IDXArray(contentsOf: imagesPath)
    let labels = try IDXArray(contentsOf: labelsPath)
    guard images.dimensions.count == 3 else {
      throw IDXError.unexpectedRank(path: imagesPath, expected: 3, found: images.dimensions.count)
    }
    guard labels.dimensions.count == 1 else {
      throw IDXError.unexpectedRank(path: labelsPath, expected: 1, found: labels.dimensions.count)
    }
    guard images.dimensions[0] == labels.dimensions[0] else {
      throw DatasetError.countMismatch(
        imagesPath: imagesPath, images: images.dimensions[0], labelsPath: labelsPath,
        labels: labels.dimensions[0])
    }
    for (index, label) in labels.bytes.enumerated() where Int(label) >= classNames.count {
      throw DatasetError.labelOutOfRange(
        path: labelsPath, index: index, label: Int(label), classes: classNames.count)
    }
    return LabeledImages(
      channels: 1, height: images.dimensions[1], width: images.dimensions[2], classNames: classNames,
      pixels: images.bytes, labels: labels.bytes.map { Int32($0) })
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
