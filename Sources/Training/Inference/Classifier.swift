import Loader
import Model

/// A trained classifier ready for new images: its network without decoder, classes, input
/// shape, and the preparation and normalisation its training records went through — from a
/// run's checkpoint or an exported file, never re-specified by hand.
public struct Classifier {
  public let network: Network
  public let classNames: [String]
  public let image: Manifest.Image
  public let normalization: Normalization
  public let preparation: ImagePreparation
  /// The training split's images per class, the prior of logit adjustment (absent in exports
  /// of earlier builds).
  public let trainCounts: [Int]?
  /// What turns the network's outputs into softmax scores: 1 for logits, LDAM's s for a
  /// cosine classifier's cosines.
  public let scoreScale: Double
  /// The run's selection metric (macro-F1 for an export): what `--logit-adjust auto` maximises.
  public let selectBy: SelectionMetric
  /// The packed dataset it was trained on, when known (a run's).
  public let dataset: DatasetDirectory?
  /// The epoch its parameters come from (0 when not recorded).
  public let epoch: Int

  /// `best` or `last` of `run`; `dataset` overrides the directory recorded in hparams.json.
  public init(run: RunDirectory, checkpoint: String, dataset override: String?) throws {
    let trained = try TrainedRun(
      run: run, checkpoint: checkpoint, dataset: override, decoder: false, classifierFor: "predict")
    let manifest = trained.dataset.manifest
    let config = trained.hyperParameters.configuration
    network = trained.network
    classNames = manifest.classNames
    image = manifest.image
    normalization = manifest.normalization
    preparation = ImagePreparation(recorded: manifest.preparation, image: manifest.image)
    trainCounts = manifest.splits.train.classCounts
    scoreScale = config.loss.scoreScale
    selectBy = config.selectionMetric
    dataset = trained.dataset
    epoch = Int(trained.checkpoint.metadata["epoch"] ?? "") ?? 0
  }

  /// A file written by `imbal-dist export` (safetensors).
  public init(exported path: String) throws {
    let exported = try ExportedClassifier(contentsOf: path)
    network = exported.network
    classNames = exported.classNames
    image = exported.image
    normalization = exported.normalization
    preparation = exported.preparation
    trainCounts = exported.trainClassCounts
    scoreScale = exported.scoreScale
    selectBy = .macroF1
    dataset = nil
    epoch = Int(exported.metadata["epoch"] ?? "") ?? 0
  }

  /// Refuses a packed dataset whose image shape or classes are not this classifier's; `advice`
  /// ends the message.
  public func checkFits(_ directory: DatasetDirectory, advice: String = "") throws {
    let manifest = directory.manifest
    guard manifest.image != image || manifest.classNames != classNames else { return }
    let (a, b) = (manifest.image, image)
    throw PredictionError.shapeMismatch(
      dataset: directory.path,
      detail:
        "holds \(a.channels)×\(a.height)×\(a.width) images of \(manifest.classNames.count) classes; the model takes \(b.channels)×\(b.height)×\(b.width) images of \(classNames.count) classes\(advice)"
    )
  }
}
