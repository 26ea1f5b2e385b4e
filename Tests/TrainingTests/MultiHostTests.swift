import Foundation
import XCTest

/// Two hosts made of network namespaces (`scripts/netns-hosts`: veth pairs, addresses and
/// names of their own), mpirun in one of them starting the other's rank through an rsh agent
/// that runs `ip netns exec` (`scripts/netns-rsh`): the ranks talk over TCP as on a cluster.
/// Training across them equals training on one host, and a host whose link goes down ends the
/// job within 30 s naming it (issue 18: it hung for many minutes).
final class MultiHostTests: XCTestCase {
  private var directory: URL!
  private var data: String!
  private let root = CommandRunner.repositoryRoot.path

  override func setUpWithError() throws {
    guard CommandRunner.mpirunAvailable() else {
      throw MissingRequirement("mpirun is not installed; run `make test`")
    }
    guard getuid() == 0 else { throw MissingRequirement.skip("network namespaces need root") }
    let up = try CommandRunner.run(executable: "\(root)/scripts/netns-hosts", arguments: ["up", "2"])
    guard up.status == 0 else {
      _ = try? CommandRunner.run(executable: "\(root)/scripts/netns-hosts", arguments: ["down"])
      throw MissingRequirement.skip("cannot make network namespaces here: \(up.standardError)")
    }
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "multihost-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
    try Data("imbal-h0 slots=1\nimbal-h1 slots=1\n".utf8).write(to: directory.appendingPathComponent("hosts"))
  }

  override func tearDownWithError() throws {
    _ = try? CommandRunner.run(executable: "\(root)/scripts/netns-hosts", arguments: ["down"])
    if let directory { try? FileManager.default.removeItem(at: directory) }
  }

  private func job(_ out: String, epochs: Int) -> [String] {
    [
      "train", "--data", data, "--out", out, "--epochs", "\(epochs)", "--epoch-size", "512", "--batch-size",
      "64",
      "--tsne-points", "0", "--log-every", "1",
    ]
  }

  /// `imbal-dist ARGS` with one rank on each test host, mpirun on imbal-h0.
  private func acrossHosts(_ arguments: [String]) throws -> CommandRunner.Running {
    let command =
      [
        "exec", "\(root)/scripts/mpirun-local", "--hostfile", directory.appendingPathComponent("hosts").path,
        "-n", "2",
      ]
      + [try CommandRunner.binary()] + arguments
    return try CommandRunner.Running(
      executable: "\(root)/scripts/netns-rsh", arguments: ["imbal-h0", command.joined(separator: " ")],
      environment: [
        "OMPI_MCA_plm_rsh_agent": "\(root)/scripts/netns-rsh", "OMPI_MCA_oob_tcp_if_include": "10.231.0.0/24",
        "OMPI_MCA_btl_tcp_if_include": "10.231.0.0/24",
      ])
  }

  func testTwoHostsTrainExactlyAsOneAndALostHostEndsTheJobNamingIt() throws {
    let one = directory.appendingPathComponent("one").path
    let two = directory.appendingPathComponent("two").path
    let single = try CommandRunner.mpirun(ranks: 2, job(one, epochs: 2))
    XCTAssertEqual(single.status, 0, single.standardError)
    let across = try acrossHosts(job(two, epochs: 2)).finish(timeout: 300)
    XCTAssertEqual(across.status, 0, across.standardError)
    for file in ["best.safetensors", "last.safetensors", "last.state.safetensors"] {
      XCTAssertTrue(try CommandRunner.sameCheckpoint("\(one)/\(file)", "\(two)/\(file)"), "\(file) differs")
    }

    let running = try acrossHosts(job(directory.appendingPathComponent("lost").path, epochs: 50))
    XCTAssertTrue(running.waitForOutput(containing: "step 3/8"), running.standardOutput)
    let down = try CommandRunner.run(
      executable: "/usr/bin/env", arguments: ["ip", "-n", "imbal-h1", "link", "set", "eth0", "down"])
    XCTAssertEqual(down.status, 0, down.standardError)
    let started = Date()
    let lost = try running.finish(timeout: 60)
    let seconds = Date().timeIntervalSince(started)
    XCTAssertLessThan(seconds, 30, "the job took \(seconds) s to end")
    XCTAssertNotEqual(lost.status, 0)
    XCTAssertTrue(
      lost.standardError.contains("ORTE has lost communication with a remote daemon")
        && lost.standardError.contains("on node imbal-h1"), lost.standardError)
  }
}
