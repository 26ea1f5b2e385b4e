import Foundation
import XCTest

/// The job scripts of `cluster/`: syntax and shellcheck, and the local one run for real.
final class ClusterScriptTests: XCTestCase {
  private let scripts = [
    "cluster/run-local.sh", "cluster/slurm.sbatch", "cluster/pbs.sh", "cluster/job-common.sh",
    "cluster/slurm-test.sh",
    "scripts/mpirun-local", "scripts/fuzz", "scripts/netns-hosts", "scripts/netns-rsh",
    "scripts/install-deps", "scripts/generate-onnx-swift", "scripts/long-tail-results",
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

  /// A mistyped DATA is refused, not packed into (issue 18); run again without RUN, the script
  /// continues the run it left stopped at a checkpoint instead of starting another.
  func testRunLocalRefusesAnUnpackedDataAndContinuesTheStoppedRun() throws {
    guard CommandRunner.mpirunAvailable() else {
      throw MissingRequirement("mpirun is not installed; run `make test`")
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "run-local-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let script = CommandRunner.repositoryRoot.appendingPathComponent("cluster/run-local.sh").path
    let typo = directory.appendingPathComponent("dta").path
    let refused = try tool(
      script, ["1"], environment: ["IMBAL_DIST": try CommandRunner.binary(), "DATA": typo])
    XCTAssertEqual(refused.status, 1)
    XCTAssertTrue(
      refused.output.contains(
        "DATA=\(typo) is not a packed dataset (no manifest.json); pack it with imbal-dist pack, set PACK_OPTIONS"
      ),
      refused.output)
    XCTAssertFalse(FileManager.default.fileExists(atPath: typo))

    let data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
    let runs = directory.appendingPathComponent("runs").path
    let environment = ["IMBAL_DIST": try CommandRunner.binary(), "DATA": data, "RUNS": runs]
    let options = [
      "2", "--epochs", "2", "--epoch-size", "256", "--batch-size", "64", "--tsne-points", "0", "--log-every",
      "0",
    ]
    let first = try tool(script, options + ["--stop-after-epoch", "1"], environment: environment)
    XCTAssertEqual(first.status, 0, first.output)
    let started = try FileManager.default.contentsOfDirectory(atPath: runs)
    XCTAssertEqual(started.count, 1)
    let again = try tool(script, options, environment: environment)
    XCTAssertEqual(again.status, 0, again.output)
    XCTAssertTrue(again.output.contains("resuming \(runs)/\(started[0])"), again.output)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: runs), started)
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(runs)/\(started[0])/test.json"))
  }

  /// PBS signals every process of a job with SIGTERM: the script, mpirun and the ranks. The
  /// job must end 75 with a checkpoint (it ended 1), start one rank per slot of a hostfile
  /// (it counted lines), and continue when submitted again.
  func testPBSScriptStopsAt75WhenEveryProcessIsSignalledAndCountsSlots() throws {
    guard CommandRunner.mpirunAvailable() else {
      throw MissingRequirement("mpirun is not installed; run `make test`")
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pbs-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
    let hostfile = directory.appendingPathComponent("hosts")
    try Data("# the test's one host\nlocalhost slots=2\n".utf8).write(to: hostfile)
    let run = directory.appendingPathComponent("run").path
    let environment = [
      "IMBAL_DIST": try CommandRunner.binary(), "DATA": data, "RUN": run, "PBS_NODEFILE": hostfile.path,
      "PBS_O_WORKDIR": CommandRunner.repositoryRoot.path, "OMPI_ALLOW_RUN_AS_ROOT": "1",
      "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
      "TRAIN_OPTIONS": "--epochs 2 --epoch-size 512 --batch-size 64 --tsne-points 0 --log-every 1",
    ]
    let script = CommandRunner.repositoryRoot.appendingPathComponent("cluster/pbs.sh").path
    let job = try CommandRunner.Running(executable: script, arguments: [], environment: environment)
    XCTAssertTrue(job.waitForOutput(containing: "step 3/8"), job.standardOutput)
    XCTAssertTrue(job.standardOutput.contains("run: 2 rank(s)"), job.standardOutput)
    // Every process of the job at once, as PBS does: the script, mpirun and both ranks.
    let processes = CommandRunner.processTree(job.process.processIdentifier)
    XCTAssertGreaterThanOrEqual(processes.count, 4, "\(processes)")
    for process in processes { kill(process, SIGTERM) }
    let stopped = try job.finish(timeout: 60)
    XCTAssertEqual(stopped.status, 75, stopped.standardOutput + stopped.standardError)
    XCTAssertTrue(
      stopped.standardOutput.contains(
        "imbal-dist stopped at a checkpoint in \(run); qsub again with RUN=\(run)"),
      stopped.standardOutput)
    var shorter = environment
    shorter["TRAIN_OPTIONS"] = ""
    let resumed = try tool(script, [], environment: shorter)
    XCTAssertTrue(resumed.output.contains("resuming \(run)"), resumed.output)
    XCTAssertEqual(resumed.status, 0, resumed.output)
  }

  /// Runs a program through `CommandRunner`, stdout and stderr together.
  private func tool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (
    status: Int32, output: String
  ) {
    let result = try CommandRunner.run(executable: path, arguments: arguments, environment: environment)
    return (result.status, result.standardOutput + result.standardError)
  }
}
