import Foundation
import XCTest

/// A run directory belongs to one run (issue 18): a finished run is not overwritten without
/// `--force`, `--force` removes only the files a run writes, and a second process is refused
/// while the first holds the directory's lock (released however that process ends).
final class RunOwnershipTests: XCTestCase {
  private var directory: URL!
  private var data: String!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "ownership-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// Debug mode: epochs, validation and test of 128 images each.
  private func job(_ out: String, epochs: Int = 1, _ extra: [String] = []) -> [String] {
    [
      "train", "--data", data!, "--out", out, "--epochs", "\(epochs)", "--debug", "--debug-samples", "128",
      "--batch-size", "32", "--tsne-points", "0", "--quiet",
    ] + extra
  }

  private func contents(_ path: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: path) where name != "run.lock" {
      files[name] = try Data(contentsOf: URL(fileURLWithPath: "\(path)/\(name)"))
    }
    return files
  }

  func testAFinishedRunIsKeptUnlessForceReplacesItsOwnFilesOnly() throws {
    let out = directory.appendingPathComponent("run").path
    XCTAssertEqual(try CommandRunner.single(job(out)).status, 0)
    let before = try contents(out)
    XCTAssertNotNil(before["test.json"])

    let again = try CommandRunner.single(job(out, ["--seed", "1"]))
    XCTAssertEqual(again.status, 1)
    XCTAssertEqual(
      again.standardError,
      "imbal-dist: error: \(out): already holds a run (best.safetensors); continue it with --resume \(out), replace it with --force, or choose another --out\n"
    )
    XCTAssertEqual(try contents(out), before, "a refused run changed the finished one")

    let notes = Data("the user's own notes\n".utf8)
    try notes.write(to: URL(fileURLWithPath: "\(out)/notes.txt"))
    try Data("<svg/>".utf8).write(to: URL(fileURLWithPath: "\(out)/my-figure.svg"))
    Thread.sleep(forTimeInterval: 1.1)  // a new TensorBoard file name (it carries the second)
    let forced = try CommandRunner.single(job(out, ["--seed", "1", "--force"]))
    XCTAssertEqual(forced.status, 0, forced.standardError)
    let after = try contents(out)
    XCTAssertEqual(after["notes.txt"], notes)
    XCTAssertNotNil(after["my-figure.svg"])
    XCTAssertEqual(after.keys.filter { $0.hasPrefix("events.out.tfevents.") }.count, 1, "\(after.keys)")
    XCTAssertNotEqual(after["test.json"], before["test.json"])
    // New beside the old run's files: the notes, the figure and the new events file.
    XCTAssertEqual(Set(after.keys).subtracting(before.keys).count, 3, "\(after.keys)")
  }

  func testASecondRunIsRefusedWhileTheFirstHoldsTheDirectoryAndAKilledHolderFreesIt() throws {
    let out = directory.appendingPathComponent("busy").path
    let first = try CommandRunner.launch(job(out, epochs: 40, ["--no-quiet", "--log-every", "1"]))
    XCTAssertTrue(first.waitForOutput(containing: "step 2 "), first.standardOutput)
    let pid = first.process.processIdentifier
    let holder = "(host \(ProcessInfo.processInfo.hostName), PID \(pid), since "
    for arguments in [job(out, ["--force"]), ["train", "--resume", out]] {
      let second = try CommandRunner.single(arguments)
      XCTAssertEqual(second.status, 1, second.standardError)
      XCTAssertTrue(
        second.standardError.hasPrefix("imbal-dist: error: \(out): in use by another run \(holder)"),
        second.standardError)
      XCTAssertTrue(
        second.standardError.hasSuffix("); wait for it to end or choose another --out\n"),
        second.standardError)
    }
    kill(pid, SIGKILL)
    _ = try first.finish(timeout: 30)
    // The lock file still names the dead process, but its lock went with it.
    let lockText = try String(contentsOfFile: "\(out)/run.lock", encoding: .utf8)
    XCTAssertTrue(lockText.contains("PID \(pid)"), lockText)
    let replaced = try CommandRunner.single(job(out, ["--force"]))
    XCTAssertEqual(replaced.status, 0, replaced.standardError)
  }

  /// A run stopped on 2 (simulated) ranks and resumed on 1 finishes like the same run on 2
  /// ranks throughout, and hparams.json records both rank counts; a checkpoint copied in from
  /// another run is refused by `evaluate` and `--resume`, and a damaged one names its file.
  func testResumingOnAnotherRankCountIsRecordedAndForeignCheckpointsAreRefused() throws {
    let (whole, split) = (
      directory.appendingPathComponent("whole").path, directory.appendingPathComponent("split").path
    )
    XCTAssertEqual(try CommandRunner.single(job(whole, epochs: 2, ["--simulate-ranks", "2"])).status, 0)
    let stopped = try CommandRunner.single(
      job(split, epochs: 2, ["--simulate-ranks", "2", "--stop-after-epoch", "1"]))
    XCTAssertEqual(stopped.status, 0, stopped.standardError)
    let resumed = try CommandRunner.single(["train", "--resume", split])
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    let hparams = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(split)/hparams.json")))
        as? [String: Any])
    XCTAssertEqual(hparams["ranks"] as? Int, 1)
    let history = try XCTUnwrap(hparams["rank_history"] as? [[String: Int]])
    XCTAssertEqual(
      history,
      [["ranks": 2, "from_epoch": 0, "from_step": 0], ["ranks": 1, "from_epoch": 1, "from_step": 4]])
    // Batches are drawn per shard, not per rank: the same images, summed in another order.
    let (a, b) = (try testJSON(whole), try testJSON(split))
    // Shot groups: every class of exp:10 Fashion-MNIST has more than 100 training images.
    let groups = try XCTUnwrap(b["shot_groups"] as? [String: Any])
    let many = try XCTUnwrap(groups["many"] as? [String: Any])
    XCTAssertEqual(many["classes"] as? [Int], Array(0..<10))
    let recall = try XCTUnwrap(b["recall"] as? [Double])
    XCTAssertEqual(
      try XCTUnwrap(many["accuracy"] as? Double), recall.reduce(0, +) / Double(recall.count), accuracy: 1e-12)
    XCTAssertEqual((groups["few"] as? [String: Any])?["classes"] as? [Int], [])
    let valid = try String(contentsOfFile: "\(split)/valid.csv", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(valid.count, 3, "a header and one row per epoch, across the resume")
    XCTAssertTrue(valid[0].hasSuffix(",many_shot_accuracy,medium_shot_accuracy,few_shot_accuracy,miou,fwiou"))
    // Many-shot accuracy only; no medium or few-shot classes, no IoUs for a classifier.
    XCTAssertTrue(valid.dropFirst().allSatisfy { $0.hasSuffix(",,,,") && !$0.hasSuffix(",,,,,") }, "\(valid)")
    XCTAssertEqual(
      try XCTUnwrap(a["accuracy"] as? Double), try XCTUnwrap(b["accuracy"] as? Double), accuracy: 0.02)

    try FileManager.default.removeItem(atPath: "\(split)/best.safetensors")
    try FileManager.default.copyItem(atPath: "\(whole)/best.safetensors", toPath: "\(split)/best.safetensors")
    let foreign = try CommandRunner.single(["evaluate", "--run", split])
    XCTAssertEqual(foreign.status, 1)
    XCTAssertTrue(
      foreign.standardError.contains(
        "\(split)/best.safetensors: does not fit this model: it was written by run "),
      foreign.standardError)
    XCTAssertTrue(foreign.standardError.contains("was it copied from another run?"), foreign.standardError)

    var damaged = try Data(contentsOf: URL(fileURLWithPath: "\(whole)/last.state.safetensors"))
    damaged[damaged.count - 3] ^= 0x40
    try damaged.write(to: URL(fileURLWithPath: "\(whole)/last.state.safetensors"))
    let resumeDamaged = try CommandRunner.single(["train", "--resume", whole])
    XCTAssertEqual(resumeDamaged.status, 1)
    XCTAssertEqual(
      resumeDamaged.standardError,
      "imbal-dist: error: \(whole)/last.state.safetensors: not a valid safetensors checkpoint: its checksum does not match its contents (the file was damaged or edited)\n"
    )
  }

  private func testJSON(_ run: String) throws -> [String: Any] {
    try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/test.json")))
        as? [String: Any])
  }
}
