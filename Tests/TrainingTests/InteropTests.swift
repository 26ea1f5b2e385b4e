import Foundation
import XCTest

/// Python's `safetensors` and TensorBoard read a real run directory (through
/// `scripts/check-interop.py`), and a NumPy network and a PyTorch one, each rebuilt from an
/// export's metadata alone (`scripts/imbal_export.py`, which also reads the test split from the
/// shards with `zstandard`), predict exactly what `imbal-dist evaluate --model` does; and the
/// ONNX export of every classification architecture passes the ONNX checker and gives, in
/// onnxruntime, `imbal-dist predict`'s scores on every test image (`scripts/check_onnx.py`); in
/// the venv `make test` creates with `scripts/python-venv`.
final class InteropTests: XCTestCase {
  private var python: String!

  override func setUpWithError() throws {
    python = CommandRunner.repositoryRoot.appendingPathComponent(".build/python-venv/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: python) else {
      throw MissingRequirement.skip(
        "no .build/python-venv: PyPI was unreachable when `make test` ran scripts/python-venv")
    }
  }

  func testPythonReadsARunAndRebuildsItsExport() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "interop-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
    let run = directory.appendingPathComponent("run").path
    let train = try CommandRunner.single([
      "train", "--data", data, "--epochs", "2", "--epoch-size", "512", "--out", run, "--tsne-points", "0",
    ])
    XCTAssertEqual(train.status, 0, train.standardError)

    let check = try CommandRunner.run(
      executable: python,
      arguments: [CommandRunner.repositoryRoot.appendingPathComponent("scripts/check-interop.py").path, run])
    XCTAssertEqual(check.status, 0, check.standardOutput + check.standardError)
    XCTAssertTrue(
      check.standardOutput.contains("tensorboard: valid scalars match valid.csv (2 rows)"),
      check.standardOutput + check.standardError)

    try checkRebuiltExport(run: run, data: data, images: CommandRunner.fixtureTestImages)
    try checkONNX(run: run, data: data, in: directory, images: CommandRunner.fixtureTestImages)
  }

  /// Every architecture (and LDAM's cosine classifier) on 3×32×32 records, a few steps trained.
  func testONNXExportOfEveryArchitectureRunsInONNXRuntime() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let data = try SyntheticData.cifar10(in: directory, perBatch: 40, test: 300)
    let models: [(String, [String])] = [
      ("small-cnn", ["--loss", "ldam"]), ("small-cnn-nobn", []), ("resnet20", []), ("resnet32", []),
      ("mobilenetv2", []), ("unet", []),
    ]
    for (model, options) in models {
      let run = directory.appendingPathComponent(model).path
      let train = try CommandRunner.single(
        [
          "train", "--data", data, "--model", model, "--epochs", "1", "--epoch-size", "128", "--batch-size",
          "64", "--out", run, "--tsne-points", "0",
        ] + options)
      XCTAssertEqual(train.status, 0, train.standardError)
      try checkONNX(run: run, data: data, in: directory, images: 300)
      // ResNet's residual sums carry their block's ReLU (Add+ReLU): the rebuilt models apply it too.
      if model == "resnet20" { try checkRebuiltExport(run: run, data: data, images: 300) }
    }
  }

  /// Exports `run` as safetensors and rebuilds it with scripts/imbal_export.py, in NumPy and
  /// in PyTorch: both predict what `evaluate --model` does, confusion matrix cell for cell.
  private func checkRebuiltExport(run: String, data: String, images: Int) throws {
    let model = "\(run)/model.safetensors"
    XCTAssertEqual(try CommandRunner.single(["export", "--run", run, "--out", model]).status, 0)
    let ours = try CommandRunner.single(["evaluate", "--model", model, "--data", data])
    XCTAssertEqual(ours.status, 0, ours.standardError)
    let expected = try json(ours.lines.last ?? "")
    for framework in [[], ["--torch"]] {
      let rebuilt = try CommandRunner.run(
        executable: python,
        arguments: [
          CommandRunner.repositoryRoot.appendingPathComponent("scripts/imbal_export.py").path, "check", model,
          data,
        ] + framework)
      XCTAssertEqual(rebuilt.status, 0, rebuilt.standardError)
      let theirs = try json(rebuilt.lines.last ?? "")
      let predictions = try XCTUnwrap(theirs["predictions"] as? [Int])
      XCTAssertEqual(predictions.count, images)
      XCTAssertEqual(theirs["accuracy"] as? Double, expected["accuracy"] as? Double, "\(framework)")
      // The rebuilt model's confusion matrix is imbal-dist's, cell for cell.
      let labels = try XCTUnwrap(theirs["labels"] as? [Int])
      var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
      for (label, prediction) in zip(labels, predictions) { confusion[label][prediction] += 1 }
      XCTAssertEqual(confusion, expected["confusion_matrix"] as? [[Int]], "\(framework)")
    }
  }

  /// Exports `run` as ONNX and checks it against `predict --logits` on the test split.
  private func checkONNX(run: String, data: String, in directory: URL, images: Int) throws {
    let onnx = "\(run)/model.onnx"
    let export = try CommandRunner.single(["export", "--run", run, "--out", onnx])
    XCTAssertEqual(export.status, 0, export.standardError)
    XCTAssertTrue(export.standardOutput.contains("ONNX opset 13"), export.standardOutput)
    let scores = "\(run)/scores.jsonl"
    let predict = try CommandRunner.single(["predict", "--run", run, data, "--logits", "--out", scores])
    XCTAssertEqual(predict.status, 0, predict.standardError)
    let check = try CommandRunner.run(
      executable: python,
      arguments: [
        CommandRunner.repositoryRoot.appendingPathComponent("scripts/check_onnx.py").path, onnx, scores, data,
      ])
    XCTAssertEqual(check.status, 0, check.standardError)
    let result = try json(check.lines.last ?? "")
    XCTAssertEqual(result["images"] as? Int, images, run)
    XCTAssertEqual(result["argmax_agree"] as? Int, images, "\(run): \(result)")
    XCTAssertLessThan(try XCTUnwrap(result["max_abs_diff"] as? Double), 1e-4, "\(run): \(result)")
    XCTAssertEqual(result["opset"] as? Int, 13)
    XCTAssertTrue((result["metadata"] as? [String] ?? []).contains("preprocessing"), "\(result)")
  }

  private func json(_ line: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
  }
}
