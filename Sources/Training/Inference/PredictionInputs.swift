import Foundation
import Loader

/// What `predict` classifies: image files (named, or every file under a folder, recursively,
/// hidden ones aside, in path order), or the records of one split of a packed dataset.
public enum PredictionInputs {
  case files([String])
  case records(RecordStore, split: String)

  /// The inputs `arguments` name: one packed dataset directory (its `split`, whose images and
  /// classes must be `classifier`'s), or files and folders of image files.
  public static func resolve(_ arguments: [String], split: SplitName, for classifier: Classifier) throws
    -> PredictionInputs
  {
    let datasets = arguments.filter { FileManager.default.fileExists(atPath: "\($0)/\(Manifest.fileName)") }
    if let dataset = datasets.first {
      guard arguments.count == 1 else {
        throw PredictionError.mixedInputs(dataset: dataset)
      }
      let directory = try DatasetDirectory(path: dataset)
      try classifier.checkFits(directory, advice: " (predict on its image files instead)")
      return .records(try directory.nonEmptyRecords(split, purpose: "to predict"), split: split.rawValue)
    }
    var files: [String] = []
    for argument in arguments {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
        throw DataFileError.missing(path: argument)
      }
      files += isDirectory.boolValue ? try imageFiles(under: argument) : [argument]
    }
    guard !files.isEmpty else { throw PredictionError.noImages(arguments) }
    return .files(files)
  }

  /// Every regular, non-hidden file under `folder`, in sorted path order.
  private static func imageFiles(under folder: String) throws -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: folder) else {
      throw DataFileError.unreadable(path: folder, reason: "cannot list it")
    }
    var found: [String] = []
    while let relative = walker.nextObject() as? String {
      let path = folder.hasSuffix("/") ? folder + relative : "\(folder)/\(relative)"
      if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
        found.append(path)
      }
    }
    return found.sorted()
  }

  public var count: Int {
    switch self {
    case .files(let paths): paths.count
    case .records(let store, _): store.count
    }
  }

  /// How the output names image `index`: its path, or `split/index` for a record.
  public func name(_ index: Int) -> String {
    switch self {
    case .files(let paths): paths[index]
    case .records(_, let split): "\(split)/\(index)"
    }
  }

  /// The true class of image `index`, where known (a record's label).
  public func label(_ index: Int) -> Int? {
    switch self {
    case .files: nil
    case .records(let store, _): Int(store.labels[index])
    }
  }
}

/// Inputs `predict` cannot work with.
public enum PredictionError: Error, CustomStringConvertible, Equatable {
  case mixedInputs(dataset: String)
  case noImages([String])
  case shapeMismatch(dataset: String, detail: String)
  case outputExists(path: String)

  public var description: String {
    switch self {
    case .mixedInputs(let dataset):
      "\(dataset) is a packed dataset: give it alone (with --split), or image files and folders without it"
    case .noImages(let paths):
      "\(paths.joined(separator: ", ")): no image files found"
    case .shapeMismatch(let dataset, let detail):
      "\(dataset): \(detail)"
    case .outputExists(let path):
      "\(path) already exists; choose another --out or add --force to replace it"
    }
  }
}
