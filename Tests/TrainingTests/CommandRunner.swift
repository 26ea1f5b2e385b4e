import Foundation
import XCTest

/// Runs the built `imbal-dist` binary, directly or under the repository's `scripts/mpirun-local`,
/// and captures what it prints. The suite is run by `make test`, which builds the binary first.
struct CommandRunner {
  struct Result {
    let status: Int32
    let standardOutput: String
    let standardError: String
    var lines: [String] { standardOutput.split(separator: "\n").map(String.init) }
  }

  static let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The `imbal-dist` executable next to this test bundle (same build configuration).
  static func binary() throws -> String {
    if let override = ProcessInfo.processInfo.environment["IMBAL_DIST_BINARY"] { return override }
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
      let path = candidate.appendingPathComponent("imbal-dist").path
      if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw MissingRequirement(
      "imbal-dist is not built next to the tests; run `make test` (it builds it first)")
  }

  static func mpirunAvailable() -> Bool {
    ProcessInfo.processInfo.environment["PATH", default: ""].split(separator: ":")
      .contains { FileManager.default.isExecutableFile(atPath: "\($0)/mpirun") }
  }

  /// `imbal-dist ARGS` with no mpirun (single-process debug mode), in `directory` if given.
  static func single(_ arguments: [String], in directory: URL? = nil) throws -> Result {
    try run(executable: try binary(), arguments: arguments, in: directory)
  }

  /// `mpirun -n RANKS imbal-dist ARGS` through `scripts/mpirun-local`.
  static func mpirun(ranks: Int, _ arguments: [String], in directory: URL? = nil) throws -> Result {
    guard mpirunAvailable() else {
      throw MissingRequirement("mpirun is not installed; run `make test` (make deps installs openmpi-bin)")
    }
    let script = repositoryRoot.appendingPathComponent("scripts/mpirun-local").path
    return try run(
      executable: script, arguments: ["-n", "\(ranks)", try binary()] + arguments, in: directory)
  }

  /// A started `imbal-dist ARGS` process, for tests that interrupt it.
  static func start(_ arguments: [String]) throws -> Process {
    let process = try configured(executable: try binary(), arguments: arguments, in: nil)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  private static func configured(executable: String, arguments: [String], in directory: URL?) throws
    -> Process
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    var environment = ProcessInfo.processInfo.environment
    // A test must not inherit a launcher's identity from whoever started the suite.
    for key in environment.keys
    where key.hasPrefix("OMPI_COMM_WORLD") || key.hasPrefix("PMIX_") || key.hasPrefix("PMI_") {
      environment[key] = nil
    }
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    return process
  }

  private static func run(executable: String, arguments: [String], in directory: URL?) throws -> Result {
    let process = try configured(executable: executable, arguments: arguments, in: directory)
    // Output goes to files, so a chatty child can never block on a full pipe.
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
      "imbal-dist-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outputURL = scratch.appendingPathComponent("stdout")
    let errorURL = scratch.appendingPathComponent("stderr")
    try Data().write(to: outputURL)
    try Data().write(to: errorURL)
    process.standardOutput = try FileHandle(forWritingTo: outputURL)
    process.standardError = try FileHandle(forWritingTo: errorURL)
    try process.run()
    process.waitUntilExit()
    let outputData = try Data(contentsOf: outputURL)
    let errorData = try Data(contentsOf: errorURL)
    return Result(
      status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
      standardError: String(decoding: errorData, as: UTF8.self))
  }
}

/// Something the suite needs is not installed: a failure, not a skip, because `make test`
/// installs everything and a silent skip would hide a broken install.
struct MissingRequirement: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
