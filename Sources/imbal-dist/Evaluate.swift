import ArgumentParser
import Foundation
import Training

struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Re-evaluate a finished run's checkpoint, or an exported classifier, on a split of a dataset (single process)."
  )

  @OptionGroup var trained: TrainedModelArguments

  @Option(help: "The split: train, val or test.")
  var split = "test"

  @Option(
    help:
      "The dataset: for --run, where the run's dataset moved (same manifest id); for --model, the packed dataset to evaluate on."
  )
  var data: String?

  func validate() throws {
    if trained.model != nil && data == nil {
      throw ValidationError("--model needs --data, the dataset to evaluate on")
    }
    guard SplitName(rawValue: split) != nil else {
      throw ValidationError("--split must be train, val or test")
    }
  }

  func run() throws {
    try reportingErrors {
      if let model = trained.model { return try evaluateExported(model) }
      let run = try TrainedRun(
        run: RunDirectory(path: trained.runPath!), checkpoint: trained.checkpoint, dataset: data)
      let dataset = run.dataset
      let images = try dataset.nonEmptyRecords(SplitName(rawValue: split)!, purpose: "to evaluate")
      let config = run.hyperParameters.configuration
      let pixels = config.model.task == .segmentation
      if pixels && trained.adjustment != nil {
        throw ValidationError(
          "\(trained.runPath!) is a segmentation run: --logit-adjust and --tau-norm adjust image classifiers")
      }
      if pixels && trained.tta == .flipShift {
        throw ValidationError(
          "\(trained.runPath!) is a segmentation run: --tta flip-shift averages image classifiers' scores; use none or flip"
        )
      }
      let (evaluator, adjustment) = try evaluator(
        network: run.network, dataset: dataset, normalization: dataset.manifest.normalization,
        trainCounts: dataset.manifest.splits.train.classCounts,
        scoreScale: config.loss.scoreScale,
        metric: config.selectionMetric)
      let evaluation = try evaluator.evaluate(
        network: run.network, images: images, normalization: dataset.manifest.normalization)
      let report = TestReport(
        split: split, evaluation: evaluation, classNames: dataset.manifest.classNames,
        checkpoint: "\(trained.checkpoint).safetensors",
        epoch: Int(run.checkpoint.metadata["epoch"] ?? "") ?? 0,
        tta: trained.tta, imagesPerSecond: 0,
        shotGroups: config.shotGroups(evaluation, trainCounts: dataset.manifest.splits.train.classCounts),
        adjustment: adjustment, pixels: pixels)
      for line in report.summaryLines { print(line) }
      print(report.json)
    }
  }

  /// The evaluator of `--tta` and the post-hoc adjustment (τ chosen on `dataset`'s validation
  /// split for `auto`), and what the report says of the adjustment.
  private func evaluator(
    network: Network, dataset: DatasetDirectory, normalization: Normalization, trainCounts: [Int],
    scoreScale: Double, metric: SelectionMetric
  ) throws -> (Evaluator, (method: ScoreAdjustment.Method, report: AdjustmentReport)?) {
    let plain = Evaluator(augmentation: trained.tta)
    guard let (method, choice) = trained.adjustment else { return (plain, nil) }
    let (evaluator, report) = try plain.adjusted(
      method, choice, network: network, trainCounts: trainCounts, scoreScale: scoreScale,
      validation: { try dataset.nonEmptyRecords(.val, purpose: "to choose τ on") },
      normalization: normalization,
      metric: metric)
    return (evaluator, (method, report))
  }

  private func evaluateExported(_ path: String) throws {
    let classifier = try Classifier(exported: path)
    let dataset = try DatasetDirectory(path: data!)
    try classifier.checkFits(dataset)
    let manifest = dataset.manifest
    let trainCounts = classifier.trainCounts ?? manifest.splits.train.classCounts
    let (evaluator, adjustment) = try evaluator(
      network: classifier.network, dataset: dataset, normalization: classifier.normalization,
      trainCounts: trainCounts, scoreScale: classifier.scoreScale, metric: .macroF1)
    let evaluation = try evaluator.evaluate(
      network: classifier.network,
      images: try dataset.nonEmptyRecords(SplitName(rawValue: split)!, purpose: "to evaluate"),
      normalization: classifier.normalization)
    let report = TestReport(
      split: split, evaluation: evaluation, classNames: manifest.classNames, checkpoint: path,
      epoch: classifier.epoch, tta: trained.tta, imagesPerSecond: 0,
      shotGroups: OutputOptions().shotGroups(evaluation, trainCounts: trainCounts),
      adjustment: adjustment)
    for line in report.summaryLines { print(line) }
    print(report.json)
  }
}
