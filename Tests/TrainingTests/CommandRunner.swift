import Foundation
import Loader
import Training
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

  /// Images in the test split of the datasets `packFashionMNIST` makes: the first 2,000 of
  /// Fashion-MNIST's 10,000 (about 200 per class), so that the final test evaluation of each of
  /// the suite's short runs takes 2 s instead of 10.
  static let fixtureTestImages = 2000

  /// Packs Debian's Fashion-MNIST (its test split cut to `fixtureTestImages`) with `imbalance`
  /// into `shards` shards per split as `directory/name` and returns the dataset's path. Each
  /// (imbalance, shards) is packed once per test process and copied after that.
  static func packFashionMNIST(
    into directory: URL, imbalance: String, shards: Int, name: String = "data"
  ) throws -> String {
    let key = "\(imbalance)-\(shards)".replacingOccurrences(of: ":", with: "_")
    let packed = try fixtures().appendingPathComponent(key).path
    if !FileManager.default.fileExists(atPath: packed) {
      let result = try single([
        "pack", "--source", "fashion-mnist", "--input", try fixtures().appendingPathComponent("source").path,
        "--out", packed, "--imbalance", imbalance, "--shards", "\(shards)",
      ])
      guard result.status == 0 else {
        throw MissingRequirement("packing Fashion-MNIST failed: \(result.standardError)")
      }
    }
    let path = directory.appendingPathComponent(name).path
    try FileManager.default.copyItem(atPath: packed, toPath: path)
    return path
  }

  nonisolated(unsafe) private static var fixtureDirectory: URL?

  /// This test process's fixture directory (removed when the process exits): `source/` holds
  /// Fashion-MNIST's training files and its first `fixtureTestImages` test images as IDX.
  private static func fixtures() throws -> URL {
    if let directory = fixtureDirectory { return directory }
    let debian = "/usr/share/datasets/fashion-mnist"
    guard FileManager.default.fileExists(atPath: "\(debian)/train-images-idx3-ubyte.gz") else {
      throw MissingRequirement(
        "dataset-fashion-mnist is not installed; run `make test` (make deps installs it)")
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "imbal-dist-fixtures-\(getpid())")
    let source = directory.appendingPathComponent("source")
    try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: CommandRunner.fixtureDirectory!) }
    fixtureDirectory = directory
    for file in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"] {
      try FileManager.default.createSymbolicLink(
        atPath: source.appendingPathComponent(file).path, withDestinationPath: "\(debian)/\(file)")
    }
    // IDX: a big-endian header (magic, count, then each further dimension), then the bytes.
    for (file, headerBytes, bytesPerImage) in [
      ("t10k-images-idx3-ubyte", 16, 784), ("t10k-labels-idx1-ubyte", 8, 1),
    ] {
      var bytes = try readPossiblyGzippedFile(at: "\(debian)/\(file).gz")
      bytes.replaceSubrange(4..<8, with: withUnsafeBytes(of: UInt32(fixtureTestImages).bigEndian, Array.init))
      bytes.removeSubrange((headerBytes + fixtureTestImages * bytesPerImage)...)
      try Data(bytes).write(to: source.appendingPathComponent(file))
    }
    return directory
  }

  /// The keys of the JSON document `text`, at every depth, that are not snake_case (`<none>`
  /// when it holds no key at all; an error when it is not JSON).
  static func keysNotInSnakeCase(_ text: String) throws -> [String] {
    func keys(_ value: Any) -> Set<String> {
      if let object = value as? [String: Any] {
        return object.reduce(into: Set(object.keys)) { $0.formUnion(keys($1.value)) }
      }
      if let array = value as? [Any] { return array.reduce(into: Set()) { $0.formUnion(keys($1)) } }
      return []
    }
    let all = keys(try JSONSerialization.jsonObject(with: Data(text.utf8)))
    guard !all.isEmpty else { return ["<none>"] }
    return all.filter { $0.range(of: "^[a-z0-9]+(_[a-z0-9]+)*$", options: .regularExpression) == nil }
      .sorted()
  }

  /// Two checkpoints of two runs hold the same tensors and metadata bit for bit, but for the
  /// `run_identity` each run draws at its start (which must differ).
  static func sameCheckpoint(_ first: String, _ second: String) throws -> Bool {
    var (a, b) = (try SafeTensors(contentsOf: first), try SafeTensors(contentsOf: second))
    guard let identity = a.metadata.removeValue(forKey: HyperParameters.identityKey),
      identity != b.metadata.removeValue(forKey: HyperParameters.identityKey)
    else { return false }
    return a == b
  }

  /// The lines of a train.csv or valid.csv without the throughput column (which differs
  /// between two runs of the same computation).
  static func withoutThroughput(_ text: String) -> [String] {
    let column = MetricsRow.columns.firstIndex(of: "images_per_s")!
    return text.split(separator: "\n").map { line in
      var cells = line.split(separator: ",", omittingEmptySubsequences: false)
      cells.remove(at: column)
      return cells.joined(separator: ",")
    }
  }

  /// The processes `pid` started (from /proc).
  static func children(of pid: Int32) -> [Int32] {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    return text.split(separator: " ").compactMap { Int32($0) }
  }

  /// `pid` and every process below it.
  static func processTree(_ pid: Int32) -> [Int32] {
    [pid] + children(of: pid).flatMap(processTree)
  }

  static func mpirunAvailable() -> Bool { onPath("mpirun") != nil }

  /// The path of the executable `name` on `PATH`, if there is one.
  static func onPath(_ name: String) -> String? {
    ProcessInfo.processInfo.environment["PATH", default: ""].split(separator: ":")
      .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// `imbal-dist ARGS` with no mpirun (single-process debug mode), in `directory` if given.
  static func single(
    _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]
  ) throws -> Result {
    try run(executable: try binary(), arguments: arguments, in: directory, environment: environment)
  }

  /// `mpirun -n RANKS imbal-dist ARGS` through `scripts/mpirun-local`.
  static func mpirun(ranks: Int, _ arguments: [String], in directory: URL? = nil) throws -> Result {
    guard mpirunAvailable() else {
      throw MissingRequirement("mpirun is not installed; run `make test` (make deps installs openmpi-bin)")
    }
    let (script, all) = try underMpirun(ranks: ranks, arguments)
    return try run(executable: script, arguments: all, in: directory)
  }

  /// `scripts/mpirun-local` and its arguments for `imbal-dist ARGS` on `ranks` ranks.
  private static func underMpirun(ranks: Int, _ arguments: [String]) throws -> (String, [String]) {
    (
      repositoryRoot.appendingPathComponent("scripts/mpirun-local").path,
      ["-n", "\(ranks)", try binary()] + arguments
    )
  }

  /// A started `imbal-dist ARGS` process, for tests that interrupt it.
  static func start(_ arguments: [String]) throws -> Process {
    let process = try configured(executable: try binary(), arguments: arguments, in: nil)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  private static func configured(
    executable: String, arguments: [String], in directory: URL?, environment extra: [String: String] = [:]
  ) throws -> Process {
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
    environment.merge(extra) { $1 }
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    return process
  }

  /// Any program (a script, Python) run to the end the same way, with `environment` added.
  static func run(
    executable: String, arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]
  ) throws -> Result {
    try Running(executable: executable, arguments: arguments, in: directory, environment: environment)
      .finish()
  }

  /// `imbal-dist ARGS` (under `mpirun -n RANKS` when `ranks` is given) started in the
  /// background, for tests that signal or kill it while it trains.
  static func launch(ranks: Int? = nil, _ arguments: [String]) throws -> Running {
    if let ranks {
      let (script, all) = try underMpirun(ranks: ranks, arguments)
      return try Running(executable: script, arguments: all, in: nil)
    }
    return try Running(executable: try binary(), arguments: arguments, in: nil)
  }

  /// A started process whose output goes to files (so a chatty child never blocks on a full
  /// pipe), readable while it runs.
  final class Running {
    let process: Process
    private let scratch: URL

    init(
      executable: String, arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]
    )
      throws
    {
      process = try configured(
        executable: executable, arguments: arguments, in: directory, environment: environment)
      scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
        "imbal-dist-run-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
      try Data().write(to: scratch.appendingPathComponent("stdout"))
      try Data().write(to: scratch.appendingPathComponent("stderr"))
      process.standardOutput = try FileHandle(forWritingTo: scratch.appendingPathComponent("stdout"))
      process.standardError = try FileHandle(forWritingTo: scratch.appendingPathComponent("stderr"))
      try process.run()
    }

    deinit {
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      try? FileManager.default.removeItem(at: scratch)
    }

    var standardOutput: String {
      String(
        decoding: (try? Data(contentsOf: scratch.appendingPathComponent("stdout"))) ?? Data(), as: UTF8.self)
    }

    /// Waits until standard output contains `text`; false after `timeout` seconds or if the
    /// process ended first.
    func waitForOutput(containing text: String, timeout: Double = 60) -> Bool {
      let deadline = Date().addingTimeInterval(timeout)
      while Date() < deadline {
        if standardOutput.contains(text) { return true }
        if !process.isRunning { return standardOutput.contains(text) }
        Thread.sleep(forTimeInterval: 0.05)
      }
      return false
    }

    /// Waits for the process to end; after `timeout` seconds it is killed and the test fails
    /// (a job that hangs is the bug these tests look for).
    func finish(timeout: Double = 600, file: StaticString = #filePath, line: UInt = #line) throws -> Result {
      let deadline = Date().addingTimeInterval(timeout)
      while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        XCTFail("still running after \(timeout) s: killed", file: file, line: line)
      }
      process.waitUntilExit()
      let errors = String(
        decoding: try Data(contentsOf: scratch.appendingPathComponent("stderr")), as: UTF8.self)
      return Result(status: process.terminationStatus, standardOutput: standardOutput, standardError: errors)
    }
  }
}

/// Something the suite needs is not installed: a failure, not a skip, because `make test`
/// installs everything and a silent skip would hide a broken install.
struct MissingRequirement: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }

  /// What a test throws when something it needs is missing: a skip that says why on a
  /// developer's machine, a failure under `CI=true`, where every dependency must be there.
  static func skip(_ reason: String) -> Error {
    ProcessInfo.processInfo.environment["CI"] == "true"
      ? MissingRequirement("\(reason) (CI=true: a missing dependency fails the test)") : XCTSkip(reason)
  }
}
