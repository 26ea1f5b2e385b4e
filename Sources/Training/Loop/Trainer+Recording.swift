import Foundation
import Loader
import Model

/// One finished epoch for the logs: its totals summed over the ranks, its time and images.
struct EpochSummary {
  let epoch: Int
  let phase: TrainingPhase
  let step: Int
  let totals: EpochTotals
  let seconds: Double
  let images: Int
  let learningRate: Double
}

/// Rank 0's work between epochs and at the end: logs, validation, checkpoints, the test.
extension Trainer {
  /// Writes the epoch's training row, validates when due (saving `best` on improvement),
  /// saves `last`, and prints the epoch line.
  func record(
    _ summary: EpochSummary, _ session: TrainingSession, recorder: RunRecorder, validation: RecordStore
  ) throws {
    let config = configuration
    let (epoch, step, totals) = (summary.epoch, summary.step, summary.totals)
    let imagesPerSecond = Double(summary.images) / summary.seconds
    let pixels = config.model.task == .segmentation
    let drawn = Evaluation(totals.predictions)
    var trainRow = MetricsRow(
      epoch: epoch, step: step, loss: totals.loss / totals.normalizer, evaluation: drawn,
      learningRate: summary.learningRate, imagesPerSecond: imagesPerSecond,
      shotGroups: config.shotGroups(drawn, trainCounts: session.manifest.splits.train.classCounts),
      pixels: pixels)
    trainRow.reconstructionMSE = totals.reconstructionMSE
    try recorder.record(train: trainRow)
    let phase = summary.phase
    var line =
      "epoch \(epoch)/\(config.totalEpochs)\(phase.kind == .joint ? "" : " (\(phase.kind.rawValue))")  "
      + "loss \(fixed(trainRow.loss, 4))  "
      + (phase.classifies ? "train \(pixels ? "pixel " : "")acc \(fixed(trainRow.accuracy, 4))  " : "")
      + (trainRow.reconstructionMSE.map { "recon MSE \(fixed($0, 5))  " } ?? "")
      + "lr \(fixed(summary.learningRate, 5))  \(Int(imagesPerSecond.rounded())) img/s"
    // Validation (and the best checkpoint) only once the classifier trains; without validation
    // images, the latest epoch is the best.
    let due = (epoch - phase.firstEpoch + 1) % config.output.evalEvery == 0 || epoch == config.totalEpochs
    if phase.classifies && validation.count == 0 {
      session.state.bestEpoch = epoch
      try recorder.saveBest(session.network, epoch: epoch, metric: config.selectionMetric, score: .nan)
    } else if phase.classifies && due {
      let started = ContinuousClock.now
      let evaluation = try Evaluator(augmentation: config.output.testTimeAugmentation).evaluate(
        network: session.network, images: validation, normalization: session.manifest.normalization)
      var validRow = MetricsRow(
        epoch: epoch, step: step, loss: evaluation.meanCrossEntropy, evaluation: evaluation,
        learningRate: summary.learningRate,
        imagesPerSecond: Double(validation.count) / seconds(since: started),
        shotGroups: config.shotGroups(evaluation, trainCounts: session.manifest.splits.train.classCounts),
        pixels: pixels)
      validRow.reconstructionMSE = evaluation.reconstructionMSE
      try recorder.record(valid: validRow, classIoU: pixels ? evaluation.segmentation.iou : [])
      line +=
        pixels
        ? "  val pixel acc \(fixed(validRow.accuracy, 4))  val mIoU \(fixed(validRow.meanIoU!, 4))"
        : "  val acc \(fixed(validRow.accuracy, 4))  val macro-F1 \(fixed(validRow.macroF1, 4))"
      let score = evaluation.value(of: config.selectionMetric)
      if config.selectionMetric.improves(score, on: session.state.bestScore) {
        (session.state.bestEpoch, session.state.bestScore) = (epoch, score)
        try recorder.saveBest(session.network, epoch: epoch, metric: config.selectionMetric, score: score)
        line += "  (best \(config.selectionMetric.rawValue))"
      }
    }
    (session.state.epochsDone, session.state.stepsDone) = (epoch, step)
    try recorder.saveLast(session.network, optimizer: session.optimizer, state: session.state)
    console.line(line)
  }

  /// Loads `best.safetensors`, evaluates the test split once, embeds test features with
  /// t-SNE, writes test.json, the plots and the report, and prints the result.
  func testBestCheckpoint(
    _ session: TrainingSession, recorder: RunRecorder, test: RecordStore, imagesPerSecond: Double
  ) throws -> TestReport {
    let (run, network, manifest) = (recorder.run, session.network, session.manifest)
    let evaluator = Evaluator(augmentation: configuration.output.testTimeAugmentation)
    let best = try SafeTensors(contentsOf: run.bestCheckpoint)
    try ModelCheckpoint.load(best, into: network, path: run.bestCheckpoint)
    let evaluation = try evaluator.evaluate(
      network: network, images: test, normalization: manifest.normalization)
    let pixels = configuration.model.task == .segmentation
    let result = TestReport(
      split: "test", evaluation: evaluation, classNames: manifest.classNames, checkpoint: "best.safetensors",
      epoch: Int(best.metadata["epoch"] ?? "") ?? 0, tta: configuration.output.testTimeAugmentation,
      imagesPerSecond: imagesPerSecond,
      shotGroups: configuration.shotGroups(evaluation, trainCounts: manifest.splits.train.classCounts),
      pixels: pixels)
    if pixels {
      try MaskOverlays.write(
        network: network, images: test, normalization: manifest.normalization,
        trainCounts: manifest.splits.train.classCounts, evaluator: evaluator, to: run.maskOverlays)
    }
    let features = try Evaluator().features(
      network: network, images: test, normalization: manifest.normalization,
      limit: configuration.output.tsnePoints)
    var tsne = TSNE()
    tsne.seed = configuration.data.seed
    try recorder.finish(test: result, embedding: tsne.embed(features.features), labels: features.labels)
    result.summaryLines.forEach(console.line)
    console.line(
      "run directory: \(run.path) (report.html, train.csv, valid.csv, test.json, checkpoints, TensorBoard events)"
    )
    // The JSON line is the last line even with --quiet: scripts read it.
    Console(enabled: true).line(result.json)
    return result
  }
}
