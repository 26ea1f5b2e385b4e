import Foundation
import XCTest

/// The job scripts of `cluster/`: syntax and shellcheck, and the local one run for real.
final class ClusterScriptTests: XCTestCase {
  private let scripts = [
    "cluster/run-local.sh", "cluster/slurm.sbatch", "cluster/pbs.sh", "scripts/mpirun-local",
    "scripts/install-deps",
    "scripts/python-venv", "scripts/imbalance-results", ".ci/run",
  ]

  func testScriptsPassBashSyntaxCheckAndShellcheck() throws {
    let root = CommandRunner.repositoryRoot.path
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/shellcheck") else {
      throw MissingRequirement(
        "shellcheck is not installed; run `make test` (it installs Debian's shellcheck)")
    }
    for script in scripts {
      let syntax = try tool("/bin/bash", ["-n", "\(root)/\(script)"])
      XCTAssertEqual(syntax.status, 0, "\(script): \(syntax.output)")
    }
    let lint = try tool("/usr/bin/shellcheck", scripts.map { "\(root)/\($0)" })
    XCTAssertEqual(lint.status, 0, lint.output)
  }

  /// `cluster/run-local.sh 3` packs the dataset when it is missing and trains 3 ranks
  /// (oversubscribed on 2 cores) into the run directory it is given.
  func testRunLocalTrainsThreeRanks() throws {
    guard CommandRunner.mpirunAvailable() else {
      throw MissingRequirement("mpirun is not installed; run `make test`")
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "run-local-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let data = directory.appendingPathComponent("data").path
    let run = directory.appendingPathComponent("run").path
    let result = try tool(
      CommandRunner.repositoryRoot.appendingPathComponent("cluster/run-local.sh").path,
      [
        "3", "--epochs", "1", "--epoch-size", "960", "--batch-size", "96", "--tsne-points", "0",
        "--log-every", "0",
      ],
      environment: [
        "IMBAL_DIST": try CommandRunner.binary(), "DATA": data, "RUN": run,
        "PACK_OPTIONS": "--source fashion-mnist --imbalance exp:10 --shards 3",
      ])
    XCTAssertEqual(result.status, 0, result.output)
    XCTAssertTrue(result.output.contains("run: 3 rank(s), global batch 96"), result.output)
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(data)/manifest.json"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/test.json"))
  }

  /// Runs a program through `CommandRunner`, stdout and stderr together.
  private func tool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (
    status: Int32, output: String
  ) {
    let result = try CommandRunner.run(executable: path, arguments: arguments, environment: environment)
    return (result.status, result.standardOutput + result.standardError)
  }
}
