#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Zalando's Fashion-MNIST (Xiao et al. 2017): 28×28 grey images of 10 clothing classes,
/// 60,000 for training and 10,000 for test, in IDX files as Debian's `dataset-fashion-mnist`
/// installs them.
public enum FashionMNIST {
  public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
  public static let classNames = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
  ]
}

/// An MNIST-style directory of IDX files: a training pair and a test (`t10k`) pair.
public enum IDXDirectory {
  /// Loads both pairs from `directory` (each file `.gz` or raw). Classes are `classNames`, or
  /// `0…K−1` with K one more than the largest label when `nil`.
  public static func load(directory: String, classNames: [String]?) throws -> SourceData {
    func path(_ stem: String) -> String {
      let gz = "\(directory)/\(stem).gz"
      let raw = "\(directory)/\(stem)"
      return (access(gz, F_OK) == 0 || access(raw, F_OK) != 0) ? gz : raw
    }
    guard access(directory, F_OK) == 0 else { throw DataFileError.missing(path: directory) }
    let train = try IDXArray.pair(
      images: path("train-images-idx3-ubyte"), labels: path("train-labels-idx1-ubyte"))
    let test = try IDXArray.pair(
      images: path("t10k-images-idx3-ubyte"), labels: path("t10k-labels-idx1-ubyte"))
    let names =
      classNames
      ?? (0...Int(max(train.labels.bytes.max() ?? 0, test.labels.bytes.max() ?? 0))).map(String.init)
    return SourceData(
      train: try train.labeledImages(classNames: names), validation: nil,
      test: try test.labeledImages(classNames: names))
  }
}

/// A rank-3 image file and its rank-1 label file.
struct IDXPair {
  let images: IDXArray
  let labels: IDXArray
  let imagesPath: String
  let labelsPath: String

  func labeledImages(classNames: [String]) throws -> LabeledImages {
    for (index, label) in labels.bytes.enumerated() where Int(label) >= classNames.count {
      throw DatasetError.labelOutOfRange(
        path: labelsPath, index: index, label: Int(label), classes: classNames.count)
    }
    return LabeledImages(
      channels: 1, height: images.dimensions[1], width: images.dimensions[2], classNames: classNames,
      pixels: images.bytes, labels: labels.bytes.map { Int32($0) })
  }
}

extension IDXArray {
  /// Reads an image file and a label file and checks that they belong together.
  static func pair(images imagesPath: String, labels labelsPath: String) throws -> IDXPair {
    let images = try IDXArray(contentsOf: imagesPath)
    let labels = try IDXArray(contentsOf: labelsPath)
    guard images.dimensions.count == 3 else {
      throw IDXError.unexpectedRank(path: imagesPath, expected: 3, found: images.dimensions.count)
    }
    guard images.dimensions[1] > 0, images.dimensions[2] > 0 else {
      throw IDXError.emptyImages(path: imagesPath, height: images.dimensions[1], width: images.dimensions[2])
    }
    guard labels.dimensions.count == 1 else {
      throw IDXError.unexpectedRank(path: labelsPath, expected: 1, found: labels.dimensions.count)
    }
    guard images.dimensions[0] == labels.dimensions[0] else {
      throw DatasetError.countMismatch(
        imagesPath: imagesPath, images: images.dimensions[0], labelsPath: labelsPath,
        labels: labels.dimensions[0])
    }
    return IDXPair(images: images, labels: labels, imagesPath: imagesPath, labelsPath: labelsPath)
  }
}
