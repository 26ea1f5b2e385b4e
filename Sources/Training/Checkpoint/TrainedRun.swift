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
    dataset = try hyperParameters.trainedDataset(override: override, run: run.path)
    let manifest = dataset.manifest
    network = try hyperParameters.configuration.makeNetwork(
      image: manifest.image, classes: manifest.classNames.count, decoder: decoder)
    let path = name == "best" ? run.bestCheckpoint : run.lastCheckpoint
    checkpoint = try SafeTensors(contentsOf: path)
    try hyperParameters.checkOwns(checkpoint, path: path)
    try ModelCheckpoint.load(checkpoint, into: network, path: path)
  }

  /// Throws for a segmentation run: `command` (predict, export) takes image classifiers.
  public static func requireClassifier(
    _ hyperParameters: HyperParameters, run: RunDirectory, for command: String
  )
    throws
  {
    guard hyperParameters.configuration.model.task == .classification else {
      throw CheckpointError.segmentationRun(path: run.path, command: command)
    }
  }
}
