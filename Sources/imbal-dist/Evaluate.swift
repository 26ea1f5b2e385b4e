import ArgumentParser
import Foundation
import Training

struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Re-evaluate a finished run's checkpoint, or an exported classifier, on a split of a dataset (single process)."
  )

  @Option(name: .customLong("run"), help: "The run directory (holding hparams.json and the checkpoints).")
  var runPath: String?

  @Option(help: "An exported classifier (from `imbal-dist export`) instead of --run; needs --data.")
  var model: String?

  @Option(help: "The split: train, val or test.")
  var split = "test"

  @Option(help: "The checkpoint: best or last.")
  var checkpoint = "best"

  @Option(help: "Test-time augmentation: none, or flip (average with the mirror image).")
  var tta: TestTimeAugmentation = .none

  @Option(
    help: "A packed dataset directory to read instead of the one recorded in hparams.json (same manifest id)."
  )
  var data: String?

  func validate() throws {
    guard (runPath == nil) != (model == nil) else { throw ValidationError("give either --run or --model") }
    if model != nil && data == nil {
      throw ValidationError("--model needs --data, the dataset to evaluate on")
    }
    guard SplitName(rawValue: split) != nil else {
      throw ValidationError("--split must be train, val or test")
    }
    guard ["best", "last"].contains(checkpoint) else {
      throw ValidationError("--checkpoint must be best or last")
    }
  }

  func run() throws {
    try reportingErrors {
      if let model { return try evaluateExported(model) }
      let trained = try TrainedRun(run: RunDirectory(path: runPath!), checkpoint: checkpoint, dataset: data)
      let dataset = trained.dataset
      let images = try splitRecords(of: dataset)
      let evaluation = try Evaluator(augmentation: tta).evaluate(
        network: trained.network, images: images, normalization: dataset.manifest.normalization)
      let report = TestReport(
        split: split, evaluation: evaluation, classNames: dataset.manifest.classNames,
        checkpoint: "\(checkpoint).safetensors", epoch: Int(trained.checkpoint.metadata["epoch"] ?? "") ?? 0,
        tta: tta, imagesPerSecond: 0,
        shotGroups: trained.hyperParameters.configuration.output.shotGroups(
          evaluation, trainCounts: dataset.manifest.splits.train.classCounts))
      for line in report.summaryLines { print(line) }
      print(report.json)
    }
  }

  /// The split's records; none is an error, not metrics of nothing printed as zeros.
  private func splitRecords(of dataset: DatasetDirectory) throws -> RecordStore {
    var budget = 0
    let images = try dataset.records(SplitName(rawValue: split)!, budget: &budget)
    guard images.count > 0 else {
      throw DatasetError.emptySplit(
        split: split, detail: "\(dataset.path) has no \(split) images to evaluate")
    }
    return images
  }

  private func evaluateExported(_ path: String) throws {
    let classifier = try ExportedClassifier(contentsOf: path)
    let dataset = try DatasetDirectory(path: data!)
    let manifest = dataset.manifest
    guard manifest.image == classifier.image, manifest.classNames == classifier.classNames else {
      throw ValidationError(
        "\(path) classifies \(classifier.image.channels)×\(classifier.image.height)×\(classifier.image.width) images into \(classifier.classNames.count) classes; \(dataset.path) holds \(manifest.image.channels)×\(manifest.image.height)×\(manifest.image.width) images of \(manifest.classNames.count) classes"
      )
    }
    let evaluation = try Evaluator(augmentation: tta).evaluate(
      network: classifier.network, images: try splitRecords(of: dataset),
      normalization: classifier.normalization)
    let report = TestReport(
      split: split, evaluation: evaluation, classNames: manifest.classNames, checkpoint: path,
      epoch: Int(classifier.metadata["epoch"] ?? "") ?? 0, tta: tta, imagesPerSecond: 0,
      shotGroups: OutputOptions().shotGroups(evaluation, trainCounts: manifest.splits.train.classCounts))
    for line in report.summaryLines { print(line) }
    print(report.json)
  }
}
