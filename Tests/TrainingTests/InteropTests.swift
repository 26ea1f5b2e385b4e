import Foundation
import XCTest

/// Python's `safetensors` and TensorBoard read a real run directory (through
/// `scripts/check-interop.py`, in the venv `make test` creates with `scripts/interop-venv`).
final class InteropTests: XCTestCase {
  func testPythonSafetensorsAndTensorBoardReadARun() throws {
    let python = CommandRunner.repositoryRoot.appendingPathComponent(".build/interop-venv/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: python) else {
      throw MissingRequirement.skip(
        "no .build/interop-venv: PyPI was unreachable when `make test` ran scripts/interop-venv")
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
  }
}
