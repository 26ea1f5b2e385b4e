import Foundation
import Loader

/// `hparams.json`: every option of the run, the dataset it read (manifest id and class
/// counts), the rank count and the library versions. `--resume`, `evaluate` and `report`
/// rebuild the run from it.
public struct HyperParameters: Codable, Equatable, Sendable {
  public struct Dataset: Codable, Equatable, Sendable {
    public var path: String
    public var id: String
    public var source: String
    public var imbalance: String
    public var classNames: [String]
    public var trainCounts: [Int]
    public var valCounts: [Int]
    public var testCounts: [Int]
  }

  public var configuration: TrainingConfiguration
  public var dataset: Dataset
  public var ranks: Int
  public var versions: [String: String]

  public init(
    configuration: TrainingConfiguration, dataset: DatasetDirectory, ranks: Int, versions: [String: String]
  ) {
    let manifest = dataset.manifest
    // The dataset by its absolute path, so that the run can be resumed, evaluated and exported
    // from any working directory.
    let path = URL(fileURLWithPath: dataset.path).standardizedFileURL.path
    self.configuration = configuration
    self.configuration.data.directory = path
    self.dataset = Dataset(
      path: path, id: manifest.id, source: manifest.source.kind, imbalance: manifest.imbalance,
      classNames: manifest.classNames, trainCounts: manifest.splits.train.classCounts,
      valCounts: manifest.splits.val.classCounts, testCounts: manifest.splits.test.classCounts)
    self.ranks = ranks
    self.versions = versions
  }

  public func encoded() -> Data { try! RunJSON.encoder().encode(self) }

  /// Reads `RUN/hparams.json`.
  public init(run: RunDirectory) throws {
    self = try RunJSON.decode(
      HyperParameters.self, from: run.hyperParameters, what: "the hparams.json of this version")
  }
}
