import Foundation

/// The binary versions of CIFAR-10 and CIFAR-100 (Krizhevsky 2009): 32×32 RGB images, each
/// record a label byte (CIFAR-100: coarse then fine) and 3,072 pixel bytes, the red plane,
/// then green, then blue, each row-major — already our planar CHW layout.
public enum CIFAR {
  public enum Variant: Sendable {
    case cifar10, cifar100

    var labelBytes: Int { self == .cifar10 ? 1 : 2 }
    var trainFiles: [String] { self == .cifar10 ? (1...5).map { "data_batch_\($0).bin" } : ["train.bin"] }
    var testFile: String { self == .cifar10 ? "test_batch.bin" : "test.bin" }
    var namesFile: String { self == .cifar10 ? "batches.meta.txt" : "fine_label_names.txt" }
    var classes: Int { self == .cifar10 ? 10 : 100 }
    /// The folder the official archive unpacks to, looked for inside the input directory.
    var archiveFolder: String { self == .cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary" }
  }

  static let imageBytes = 3 * 32 * 32

  public static func load(directory: String, variant: Variant) throws -> SourceData {
    let nested = "\(directory)/\(variant.archiveFolder)"
    let root = FileManager.default.fileExists(atPath: "\(nested)/\(variant.testFile)") ? nested : directory
    let namesPath = "\(root)/\(variant.namesFile)"
    guard let namesData = FileManager.default.contents(atPath: namesPath) else {
      throw DataFileError.missing(path: namesPath)
    }
    let names = String(decoding: namesData, as: UTF8.self).split(whereSeparator: \.isNewline)
      .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard names.count == variant.classes else {
      throw DatasetError.notADataset(
        path: namesPath, detail: "lists \(names.count) class names, CIFAR needs \(variant.classes)")
    }
    let train = try variant.trainFiles.map { try records("\(root)/\($0)", variant: variant, names: names) }
    let test = try records("\(root)/\(variant.testFile)", variant: variant, names: names)
    return SourceData(train: LabeledImages.concatenating(train), validation: nil, test: test)
  }

  private static func records(_ path: String, variant: Variant, names: [String]) throws -> LabeledImages {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw DataFileError.missing(path: path)
    }
    let recordSize = variant.labelBytes + imageBytes
    guard data.count % recordSize == 0, !data.isEmpty else {
      throw DatasetError.notADataset(
        path: path,
        detail: "\(data.count) bytes is not a whole number of \(recordSize)-byte CIFAR records (truncated?)")
    }
    let count = data.count / recordSize
    var pixels = [UInt8]()
    pixels.reserveCapacity(count * imageBytes)
    var labels = [Int32]()
    labels.reserveCapacity(count)
    let bytes = [UInt8](data)
    for index in 0..<count {
      let start = index * recordSize
      let label = Int(bytes[start + variant.labelBytes - 1])  // CIFAR-100: the fine label
      guard label < variant.classes else {
        throw DatasetError.labelOutOfRange(path: path, index: index, label: label, classes: variant.classes)
      }
      labels.append(Int32(label))
      pixels.append(contentsOf: bytes[(start + variant.labelBytes)..<(start + recordSize)])
    }
    return LabeledImages(
      channels: 3, height: 32, width: 32, classNames: names, pixels: pixels, labels: labels)
  }
}
