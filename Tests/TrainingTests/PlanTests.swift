import Foundation
import XCTest

/// Experiment plans: `train --config plan.yaml` and `sweep plan.yaml`.
final class PlanTests: XCTestCase {
  private var directory: URL!
  private var data: String!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "plan-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  private func write(_ name: String, _ text: String) throws -> String {
    let path = directory.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  private func hparams(_ run: String) throws -> [String: Any] {
    let json = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: run + "/hparams.json")))
    return try XCTUnwrap((json as? [String: Any])?["configuration"] as? [String: Any])
  }

  func testConfigFileGivesOptionsAndTheCommandLineOverridesThem() throws {
    let plan = try write(
      "plan.yaml",
      """
      data: \(data!)
      epochs: 1
      epoch-size: 256
      batch-size: 64
      lr: 0.02
      loss: ldam
      tsne-points: 0
      quiet: true
      """)
    let run = directory.appendingPathComponent("run").path
    let result = try CommandRunner.single(["train", "--config", plan, "--loss", "focal", "--out", run])
    XCTAssertEqual(result.status, 0, result.standardError)
    XCTAssertEqual(result.lines.count, 1, "quiet: only the JSON line\n\(result.standardOutput)")
    let configuration = try hparams(run)
    // The command line wins; the rest comes from the file.
    // hparams.json records the configuration under the option names, in snake_case.
    XCTAssertEqual(configuration["loss"] as? String, "focal")
    XCTAssertEqual(configuration["lr"] as? Double, 0.02)
    XCTAssertEqual(configuration["batch_size"] as? Int, 64)
    XCTAssertEqual(configuration["quiet"] as? Bool, true)
  }

  func testUnknownKeysAndListsAreErrorsNamingTheKey() throws {
    let unknown = try write("unknown.yaml", "epochz: 3\n")
    let result = try CommandRunner.single(["train", "--config", unknown])
    XCTAssertEqual(result.status, 1)
    XCTAssertTrue(
      result.standardError.contains(
        #"unknown.yaml: unknown option "epochz"; valid options are ae-epochs, augment, batch-size, beta,"#),
      result.standardError)
    XCTAssertTrue(result.standardError.contains(" epochs, "), result.standardError)
    let list = try write("list.yaml", "loss: [ce, ldam]\n")
    let listed = try CommandRunner.single(["train", "--config", list])
    XCTAssertTrue(
      listed.standardError.contains(#"option "loss" takes one value, not a list or a map"#),
      listed.standardError)
    let plan = try write("sweep.yaml", "outt: x\n")
    let sweep = try CommandRunner.single(["sweep", plan])
    XCTAssertEqual(sweep.status, 1)
    XCTAssertTrue(
      sweep.standardError.contains(#"unknown key "outt"; a plan has out, base and grid"#), sweep.standardError
    )
  }

  /// A value of the wrong type or outside an option's choices names the option and the file;
  /// a flag the file sets is turned off again on the command line (`--no-quiet`).
  func testWrongTypesAndValuesNameTheOptionAndFlagsCanBeTurnedOff() throws {
    let typed = try write("typed.yaml", "epochs: many\n")
    let wrong = try CommandRunner.single(["train", "--config", typed])
    XCTAssertEqual(wrong.status, 1)
    XCTAssertTrue(
      wrong.standardError.contains(#"typed.yaml: option "epochs" takes an integer"#), wrong.standardError)
    let valued = try write("valued.yaml", "sampler: smote\n")
    let unknown = try CommandRunner.single(["train", "--config", valued])
    XCTAssertTrue(
      unknown.standardError.contains(
        #"valued.yaml: option "sampler" cannot be "smote"; it takes one of uniform,"#),
      unknown.standardError)
    let invalid = try write("invalid.yaml", "beta: 1\n")
    let range = try CommandRunner.single(["train", "--config", invalid])
    XCTAssertTrue(range.standardError.contains("--beta must be in [0, 1) (got 1.0)"), range.standardError)
    let quiet = try write("quiet.yaml", "quiet: true\ndata: \(data!)\nmax-steps: 1\n")
    let loud = try CommandRunner.single(["train", "--config", quiet, "--no-quiet"])
    XCTAssertEqual(loud.status, 0, loud.standardError)
    XCTAssertTrue(loud.standardOutput.contains("imbal-dist: small-cnn"), loud.standardOutput)
  }

  /// A 2 × 1 grid under mpirun with 2 ranks: two run directories and a summary of both.
  func testSweepRunsTheGridAndSummarises() throws {
    guard CommandRunner.mpirunAvailable() else {
      throw MissingRequirement("mpirun is not installed; run `make test`")
    }
    let out = directory.appendingPathComponent("sweep").path
    let plan = try write(
      "grid.yaml",
      """
      out: \(out)
      base: {data: \(data!), epochs: 1, epoch-size: 256, batch-size: 64, tsne-points: 0, log-every: 0}
      grid:
        sampler: [uniform, oversample]
        seed: [3]
      """)
    let result = try CommandRunner.mpirun(ranks: 2, ["sweep", plan])
    XCTAssertEqual(result.status, 0, result.standardError)
    XCTAssertTrue(
      result.standardOutput.contains("sweep: run 2/2: sampler-oversample_seed-3"), result.standardOutput)
    let summary = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(summary.count, 3)
    XCTAssertEqual(
      summary[0], "run,sampler,seed,accuracy,macro_f1,balanced_accuracy,weighted_f1,gmean,top5,best_epoch")
    XCTAssertTrue(summary[1].hasPrefix("sampler-uniform_seed-3,uniform,3,"), String(summary[1]))
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/summary.md"))
    let configuration = try hparams(out + "/sampler-oversample_seed-3")
    XCTAssertEqual(configuration["sampler"] as? String, "oversample")
    XCTAssertEqual(configuration["seed"] as? Int, 3)
    // The same sweep again keeps both finished runs and the same summary.
    let again = try CommandRunner.mpirun(ranks: 2, ["sweep", plan])
    XCTAssertEqual(again.status, 0, again.standardError)
    XCTAssertTrue(
      again.standardOutput.contains("run 1/2: sampler-uniform_seed-3 (done before, kept)"),
      again.standardOutput)
    XCTAssertFalse(again.standardOutput.contains("epoch 1/1"), again.standardOutput)
    XCTAssertEqual(
      try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\n"), summary)
  }

  /// A sweep whose runs stop early (as if pre-empted) is continued by running it again.
  func testAStoppedSweepResumesWhenRunAgain() throws {
    let out = directory.appendingPathComponent("stopped").path
    let plan = try write(
      "stopped.yaml",
      """
      out: \(out)
      base: {data: \(data!), epochs: 2, epoch-size: 256, batch-size: 64, tsne-points: 0, log-every: 0,
             stop-after-epoch: 1}
      grid: {seed: [5]}
      """)
    let first = try CommandRunner.single(["sweep", plan])
    XCTAssertEqual(first.status, 0, first.standardError)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/summary.csv"))
    let second = try CommandRunner.single(["sweep", plan])
    XCTAssertEqual(second.status, 0, second.standardError)
    XCTAssertTrue(second.standardOutput.contains("run 1/1: seed-5 (resuming)"), second.standardOutput)
    XCTAssertTrue(second.standardOutput.contains("epoch 2/2"), second.standardOutput)
    let summary = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(summary.count, 2)
  }
}
