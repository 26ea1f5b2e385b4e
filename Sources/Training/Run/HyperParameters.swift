import Foundation
import Loader

/// `hparams.json`: every option of the run, the dataset it read (manifest id and class
/// counts), the rank count (and its history over resumes), the run's identity that its
/// checkpoints carry, and the library versions. `--resume`, `evaluate` and `report` rebuild
/// the run from it.
public struct HyperParameters: Codable, Equatable, Sendable {
  /// The ranks that trained from a point of the run on (its start, then every resume).
  public struct RankCount: Codable, Equatable, Sendable {
    public var ranks: Int
    public var fromEpoch: Int
    public var fromStep: Int
  }

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
  /// The rank count of the latest start or resume.
  public var ranks: Int
  /// Every start and resume with its rank count (absent in runs of older builds).
  public var rankHistory: [RankCount]?
  /// Random, drawn when the run starts; every checkpoint of the run records it as
  /// `run_identity` (absent in runs of older builds).
  public var runIdentity: String?
  public var versions: [String: String]

  /// The metadata key of checkpoints naming their run.
  public static let identityKey = "run_identity"

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
    rankHistory = [RankCount(ranks: ranks, fromEpoch: 0, fromStep: 0)]
    runIdentity = String(UInt64.random(in: .min ... .max), radix: 16)
    self.versions = versions
  }

  /// Records a resume on `ranks` ranks after `epochs` epochs and `steps` steps, with the
  /// schedule's restarts as the resume extended them.
  public mutating func resumed(ranks: Int, afterEpoch epochs: Int, step steps: Int, restartEpochs: [Int]) {
    self.ranks = ranks
    configuration.optimization.restartEpochs = restartEpochs
    rankHistory = (rankHistory ?? []) + [RankCount(ranks: ranks, fromEpoch: epochs, fromStep: steps)]
  }

  /// A checkpoint of another run (its `run_identity` is not this run's) is refused; files of
  /// runs that predate identities are taken as they are.
  public func checkOwns(_ checkpoint: SafeTensors, path: String) throws {
    guard let runIdentity, let found = checkpoint.metadata[Self.identityKey], found != runIdentity else {
      return
    }
    throw CheckpointError.doesNotFit(
      path: path,
      reason:
        "it was written by run \(found), not by this run (\(runIdentity) in hparams.json); was it copied from another run?"
    )
  }

  public func encoded() -> Data { try! RunJSON.encoder().encode(self) }

  /// The dataset this run was trained on: at `override` (a dataset that moved) or where the
  /// run recorded it, and refused unless its manifest id is the recorded one (a dataset packed
  /// again at the same place is another dataset).
  public func trainedDataset(override: String?, run: String) throws -> DatasetDirectory {
    if override == nil && !FileManager.default.fileExists(atPath: "\(dataset.path)/\(Manifest.fileName)") {
      throw CheckpointError.datasetMoved(path: dataset.path, id: dataset.id)
    }
    let found = try DatasetDirectory(path: override ?? dataset.path)
    guard found.manifest.id == dataset.id else {
      throw CheckpointError.doesNotFit(
        path: found.path,
        reason: "it holds dataset \(found.manifest.id), the run \(run) was trained on \(dataset.id)"
          + (override == nil ? " (it was packed again since; pass --data with the run's dataset)" : ""))
    }
    return found
  }

  /// Reads `RUN/hparams.json`.
  public init(run: RunDirectory) throws {
    self = try RunJSON.decode(
      HyperParameters.self, from: run.hyperParameters, what: "the hparams.json of this version")
  }
}
