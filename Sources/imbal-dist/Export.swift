import ArgumentParser
import Training

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Write a run's model as a deployable classifier: encoder + classifier, no decoder or optimizer state.")

  @Option(name: .customLong("run"), help: "The run directory (holding hparams.json and the checkpoints).")
  var runPath: String

  @Option(help: "The checkpoint: best or last.")
  var checkpoint = "best"

  @Option(help: "The safetensors file to write.")
  var out: String

  @Option(
    help: "A packed dataset directory to read instead of the one recorded in hparams.json (same manifest id)."
  )
  var data: String?

  func validate() throws {
    guard ["best", "last"].contains(checkpoint) else {
      throw ValidationError("--checkpoint must be best or last")
    }
  }

  func run() throws {
    try reportingErrors {
      let tensors = try ExportedClassifier.export(
        run: RunDirectory(path: runPath), checkpoint: checkpoint, dataset: data, to: out)
      print("wrote \(out): \(tensors) tensors (\(checkpoint) checkpoint of \(runPath), without decoder)")
    }
  }
}
