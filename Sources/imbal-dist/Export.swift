import ArgumentParser
import Training

extension ExportedClassifier.ExportFormat: ExpressibleByArgument {}

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Write a run's model as a deployable classifier: encoder + classifier, no decoder or optimizer state.")

  @Option(name: .customLong("run"), help: "The run directory (holding hparams.json and the checkpoints).")
  var runPath: String

  @Option(help: "The checkpoint: best or last.")
  var checkpoint = "best"

  @Option(help: "The file to write.")
  var out: String

  @Option(
    help:
      "safetensors (for `evaluate --model`, `predict --model`, PyTorch or NumPy) or onnx (for onnxruntime and other ONNX runtimes); default: onnx when --out ends in .onnx, else safetensors."
  )
  var format: ExportedClassifier.ExportFormat?

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
      let format = format ?? (out.lowercased().hasSuffix(".onnx") ? .onnx : .safetensors)
      let written = try ExportedClassifier.export(
        run: RunDirectory(path: runPath), checkpoint: checkpoint, dataset: data, to: out, format: format)
      print("wrote \(out): \(written) (\(checkpoint) checkpoint of \(runPath), without decoder)")
    }
  }
}
