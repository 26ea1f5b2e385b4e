import ArgumentParser
import Foundation
import Loader
import Training

struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Re-evaluate a finished run's checkpoint on a split of its dataset (single process).")

  @Option(name: .customLong("run"), help: "The run directory (holding hparams.json and the checkpoints).")
  var runPath: String

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
    guard SplitName(rawValue: split) != nil else {
      throw ValidationError("--split must be train, val or test")
    }
    guard ["best", "last"].contains(checkpoint) else {
      throw ValidationError("--checkpoint must be best or last")
    }
  }

  func run() throws {
    try reportingErrors {
      let directory = RunDirectory(path: runPath)
      let hparams = try HyperParameters(run: directory)
      let dataset = try DatasetDirectory(path: data ?? hparams.dataset.path)
      guard dataset.manifest.id == hparams.dataset.id else {
        throw ValidationError(
          "\(dataset.path) holds dataset \(dataset.manifest.id), but \(runPath) was trained on \(hparams.dataset.id)"
        )
      }
      let network = hparams.configuration.makeNetwork(
        image: dataset.manifest.image, classes: dataset.manifest.classNames.count)
      let path = checkpoint == "best" ? directory.bestCheckpoint : directory.lastCheckpoint
      let file = try SafeTensors(contentsOf: path)
      try ModelCheckpoint.load(file, into: network, path: path)
      let images = try dataset.readSplit(SplitName(rawValue: split)!)
      let evaluation = Evaluator(augmentation: tta).evaluate(
        network: network, images: images, normalization: dataset.manifest.normalization)
      let report = TestReport(
        split: split, evaluation: evaluation, classNames: dataset.manifest.classNames,
        checkpoint: "\(checkpoint).safetensors", epoch: Int(file.metadata["epoch"] ?? "") ?? 0, tta: tta,
        imagesPerSecond: 0)
      for line in report.summaryLines { print(line) }
      print(report.json)
    }
  }
}
