import Foundation
import XCTest

/// Python's `safetensors` and TensorBoard read a real run directory (through
/// `scripts/check-interop.py`), and a NumPy network and a PyTorch one, each rebuilt from an
/// export's metadata alone (`scripts/imbal_export.py`, which also reads the test split from the
/// shards with `zstandard`), predict exactly what `imbal-dist evaluate --model` does; in the
/// venv `make test` creates with `scripts/python-venv`.
final class InteropTests: XCTestCase {
  func testPythonReadsARunAndRebuildsItsExport() throws {
    let python = CommandRunner.repositoryRoot.appendingPathComponent(".build/python-venv/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: python) else {
      throw MissingRequirement.skip(
        "no .build/python-venv: PyPI was unreachable when `make test` ran scripts/python-venv")
    }
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

    let model = directory.appendingPathComponent("model.safetensors").path
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
      XCTAssertEqual(predictions.count, 10_000)
      XCTAssertEqual(theirs["accuracy"] as? Double, expected["accuracy"] as? Double, "\(framework)")
      // The rebuilt model's confusion matrix is imbal-dist's, cell for cell.
      let labels = try XCTUnwrap(theirs["labels"] as? [Int])
      var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
      for (label, prediction) in zip(labels, predictions) { confusion[label][prediction] += 1 }
      XCTAssertEqual(confusion, expected["confusion_matrix"] as? [[Int]], "\(framework)")
    }
  }

  private func json(_ line: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
  }
}
