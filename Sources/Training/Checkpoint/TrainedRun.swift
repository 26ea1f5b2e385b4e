import Foundation
import Loader
import Model

/// A finished run's network with one of its checkpoints loaded, and the dataset it was
/// trained on: what `evaluate --run` and `export` start from.
public struct TrainedRun {
  public let hyperParameters: HyperParameters
  public let dataset: DatasetDirectory
  public let network: Network
  /// The loaded checkpoint (its metadata names the epoch).
  public let checkpoint: SafeTensors

  /// Loads `best` or `last` of `run` into the run's network (with its decoder unless
  /// `decoder: false`). `dataset` overrides the directory recorded in hparams.json; its
  /// manifest must be the one the run trained on.
  public init(run: RunDirectory, checkpoint name: String, dataset override: String?, decoder: Bool? = nil)
    throws
  {
    hyperParameters = try HyperParameters(run: run)
    let recorded = hyperParameters.dataset
    if override == nil && !FileManager.default.fileExists(atPath: "\(recorded.path)/\(Manifest.fileName)") {
      throw CheckpointError.datasetMoved(path: recorded.path, id: recorded.id)
    }
    dataset = try DatasetDirectory(path: override ?? recorded.path)
    let manifest = dataset.manifest
    guard manifest.id == hyperParameters.dataset.id else {
      throw CheckpointError.doesNotFit(
        path: dataset.path,
        reason:
          "it holds dataset \(manifest.id), the run \(run.path) was trained on \(hyperParameters.dataset.id)")
    }
    network = try hyperParameters.configuration.makeNetwork(
      image: manifest.image, classes: manifest.classNames.count, decoder: decoder)
    let path = name == "best" ? run.bestCheckpoint : run.lastCheckpoint
    checkpoint = try SafeTensors(contentsOf: path)
    try ModelCheckpoint.load(checkpoint, into: network, path: path)
  }
}
