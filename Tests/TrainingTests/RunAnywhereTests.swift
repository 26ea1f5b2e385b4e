import Foundation
import Training
import XCTest

/// A run records its dataset by absolute path, so it can be evaluated, exported and resumed
/// from any working directory; a dataset that moved is named with the run's id, and `--data`
/// points the run to its new place.
final class RunAnywhereTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("anywhere-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  func testARunStartedWithRelativePathsWorksFromAnotherDirectory() throws {
    let project = directory.appendingPathComponent("project")
    let elsewhere = directory.appendingPathComponent("elsewhere")
    for folder in [project, elsewhere] {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    _ = try CommandRunner.packFashionMNIST(into: project, imbalance: "exp:10", shards: 2)
    // A mistyped --data lists the datasets beside the name it gave.
    let typo = try CommandRunner.single(["train", "--data", "dat"], in: project)
    XCTAssertEqual(typo.status, 1)
    XCTAssertEqual(
      typo.standardError,
      "imbal-dist: error: dat: not a packed dataset (no manifest.json); the datasets beside it are data; create one with `imbal-dist pack`\n"
    )
    let train = try CommandRunner.single(
      [
        "train", "--data", "data", "--out", "runs/first", "--epochs", "2", "--epoch-size", "256",
        "--batch-size", "64", "--tsne-points", "0", "--stop-after-epoch", "1",
      ], in: project)
    XCTAssertEqual(train.status, 0, train.standardError)
    let run = project.appendingPathComponent("runs/first").path

    // Counters the run's plan cannot reach (one step more than its epoch has, in both files
    // so that they still agree with each other) are refused before anything trains.
    let tampered = directory.appendingPathComponent("tampered").path
    try FileManager.default.copyItem(atPath: run, toPath: tampered)
    for file in ["last.safetensors", "last.state.safetensors"] {
      var checkpoint = try SafeTensors(contentsOf: "\(tampered)/\(file)")
      for key in ["step", "steps_done"] where checkpoint.metadata[key] != nil {
        checkpoint.metadata[key] = "5"
      }
      try checkpoint.encoded().write(to: URL(fileURLWithPath: "\(tampered)/\(file)"))
    }
    let refused = try CommandRunner.single(["train", "--resume", tampered], in: elsewhere)
    XCTAssertEqual(refused.status, 1)
    XCTAssertTrue(
      refused.standardError.contains(
        "it records 1 epochs, 5 steps and 0 steps into the next epoch, which this run (2 epochs of 4 steps) cannot reach"
      ), refused.standardError)

    let other = try CommandRunner.packFashionMNIST(into: elsewhere, imbalance: "exp:100", shards: 2)
    let wrong = try CommandRunner.single(["train", "--resume", run, "--data", other], in: elsewhere)
    XCTAssertEqual(wrong.status, 1)
    XCTAssertTrue(
      wrong.standardError.contains("\(other): does not fit this model: it holds dataset "),
      wrong.standardError)
    // The run's dataset packed again at the same place is another dataset: --resume refuses it
    // (it would train on the new data under the old id), naming both ids.
    let data = project.appendingPathComponent("data").path
    try FileManager.default.moveItem(atPath: data, toPath: data + "-kept")
    let repack = try CommandRunner.single(["pack", "--out", data, "--imbalance", "exp:20", "--shards", "2"])
    XCTAssertEqual(repack.status, 0, repack.standardError)
    let repacked = try CommandRunner.single(["train", "--resume", run], in: elsewhere)
    XCTAssertEqual(repacked.status, 1)
    XCTAssertTrue(
      repacked.standardError.contains("(it was packed again since; pass --data with the run's dataset)"),
      repacked.standardError)
    try FileManager.default.removeItem(atPath: data)
    try FileManager.default.moveItem(atPath: data + "-kept", toPath: data)

    let resumed = try CommandRunner.single(["train", "--resume", run], in: elsewhere)
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    XCTAssertTrue(resumed.standardOutput.contains("epoch 2/2"), resumed.standardOutput)
    let evaluate = try CommandRunner.single(["evaluate", "--run", run], in: elsewhere)
    XCTAssertEqual(evaluate.status, 0, evaluate.standardError)
    let export = try CommandRunner.single(
      ["export", "--run", run, "--out", elsewhere.appendingPathComponent("model.safetensors").path],
      in: elsewhere)
    XCTAssertEqual(export.status, 0, export.standardError)

    let moved = directory.appendingPathComponent("moved").path
    try FileManager.default.moveItem(atPath: project.appendingPathComponent("data").path, toPath: moved)
    let missing = try CommandRunner.single(["evaluate", "--run", run], in: elsewhere)
    XCTAssertEqual(missing.status, 1)
    XCTAssertTrue(
      missing.standardError.contains(
        "the dataset this run was trained on is not at \(project.appendingPathComponent("data").path) (id "),
      missing.standardError)
    let found = try CommandRunner.single(["evaluate", "--run", run, "--data", moved], in: elsewhere)
    XCTAssertEqual(found.status, 0, found.standardError)

    // Every JSON the program wrote or printed has snake_case keys, at every depth.
    let inspect = try CommandRunner.single(["inspect", moved, "--json", "--weights"])
    var documents = [
      "train's last line": resumed.lines.last ?? "", "evaluate": found.lines.last ?? "",
      "inspect --json": inspect.lines.last ?? "",
    ]
    for file in ["hparams.json", "test.json"] {
      documents[file] = try String(contentsOfFile: "\(run)/\(file)", encoding: .utf8)
    }
    for (name, text) in documents {
      let keys = try allKeys(JSONSerialization.jsonObject(with: Data(text.utf8)))
      XCTAssertFalse(keys.isEmpty, name)
      let offending = keys.filter {
        $0.range(of: "^[a-z0-9]+(_[a-z0-9]+)*$", options: .regularExpression) == nil
      }
      XCTAssertEqual(offending, [], name)
    }
  }

  /// The keys of every object in `value`, however deep.
  private func allKeys(_ value: Any) -> Set<String> {
    if let object = value as? [String: Any] {
      return object.reduce(into: Set(object.keys)) { $0.formUnion(allKeys($1.value)) }
    }
    if let array = value as? [Any] { return array.reduce(into: Set()) { $0.formUnion(allKeys($1)) } }
    return []
  }
}
