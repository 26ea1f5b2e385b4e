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
  /// manifest must be the one the run trained on. With `classifierFor`, a command for image
  /// classifiers (predict, export), a segmentation run is refused first.
  public init(
    run: RunDirectory, checkpoint name: String, dataset override: String?, decoder: Bool? = nil,
    classifierFor command: String? = nil
  ) throws {
    hyperParameters = try HyperParameters(run: run)
    if let command, hyperParameters.configuration.model.task != .classification {
      throw CheckpointError.segmentationRun(path: run.path, command: command)
    }
    dataset = try hyperParameters.trainedDataset(override: override, run: run.path)
    let manifest = dataset.manifest
    network = try hyperParameters.configuration.makeNetwork(
      image: manifest.image, classes: manifest.classNames.count, decoder: decoder)
    let path = name == "best" ? run.bestCheckpoint : run.lastCheckpoint
    checkpoint = try SafeTensors(contentsOf: path)
    try hyperParameters.checkOwns(checkpoint, path: path)
    try ModelCheckpoint.load(checkpoint, into: network, path: path)
  }
}
