import Distributed
import Foundation
import Loader

/// The dataset a run trains on: `--data DIR`, or the embedded default made from Debian's
/// `dataset-fashion-mnist` — long-tailed Fashion-MNIST in `data/fashion-mnist-lt-exp<R>`, or
/// for `--task segmentation` the garment-canvas benchmark in `data/fashion-mnist-seg-exp<R>` —
/// packed on first use (by rank 0, while the other ranks wait) and reused after; being a cache
/// of the packed source, it is packed again when an older build wrote it.
public enum DefaultDataset {
  public static let shards = 8
  public static let validationPerClass = 100

  public static func directory(imbalanceRatio: Double, task: TaskKind = .classification) -> String {
    let name = task == .segmentation ? "fashion-mnist-seg" : "fashion-mnist-lt"
    return "data/\(name)-\(ImbalanceProfile.exponential(ratio: imbalanceRatio))".replacingOccurrences(
      of: ":", with: "")
  }

  /// Opens the run's dataset, packing the default one first if it does not exist yet.
  static func resolve(
    configuration: TrainingConfiguration, communicator: Communicator, console: Console
  ) throws -> DatasetDirectory {
    let segments = configuration.model.task == .segmentation
    if let path = configuration.data.directory {
      let dataset = try DatasetDirectory(path: path)
      guard dataset.manifest.hasMasks == segments else {
        throw DatasetError.notADataset(
          path: path,
          detail: segments
            ? "has no label masks; --task segmentation needs a dataset packed with masks (pack --source seg-folder, voc or fashion-mnist-seg)"
            : "holds label masks (a segmentation dataset); train it with --task segmentation")
      }
      return dataset
    }
    let path = directory(imbalanceRatio: configuration.data.imbalanceRatio, task: configuration.model.task)
    let exists = FileManager.default.fileExists(atPath: "\(path)/\(Manifest.fileName)")
    var outdated = false
    if exists {
      do { _ = try Manifest(directory: path) } catch DatasetError.oldFormat { outdated = true } catch {}
    }
    if communicator.rank == 0 && (!exists || outdated) {
      var options = PackOptions()
      options.source = segments ? .fashionMNISTSegmentation : .fashionMNIST
      options.input = FashionMNIST.defaultDirectory
      options.output = path
      options.shards = shards
      options.profile = .exponential(ratio: configuration.data.imbalanceRatio)
      options.validationPerClass = validationPerClass
      options.force = outdated
      console.line(
        outdated
          ? "packing the default dataset into \(path) again (an older build packed it in an older format) …"
          : "packing the default dataset into \(path) (first use) …")
      do {
        _ = try Packer.pack(options)
      } catch DatasetError.notADataset
        where FileManager.default.fileExists(atPath: "\(path)/\(Manifest.fileName)")
      {
        // Another job packed it at the same moment; its copy is as good as ours.
      }
    }
    try communicator.barrier()
    return try DatasetDirectory(path: path)
  }
}
