import Distributed
import Foundation
import XCTest

/// `MPICommunicator`'s collectives on 3 real ranks. `testCollectivesUnder3Ranks` starts this
/// very test bundle under `mpirun -n 3`, running only `testCollectivesOnThisRank`, which checks
/// rank-dependent values on every rank (an assertion failing on any rank fails the job).
final class MPICollectiveTests: XCTestCase {
  private static let underTestLauncher = "IMBAL_DIST_COLLECTIVE_TEST"

  func testCollectivesUnder3Ranks() throws {
    guard ProcessInfo.processInfo.environment[Self.underTestLauncher] == nil else {
      throw XCTSkip("this process is one of the ranks it started; only the parent starts them")
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let process = Process()
    process.executableURL = root.appendingPathComponent("scripts/mpirun-local")
    process.arguments = [
      "-n", "3", "-x", Self.underTestLauncher, CommandLine.arguments[0],
      "DistributedTests.MPICollectiveTests/testCollectivesOnThisRank",
    ]
    var environment = ProcessInfo.processInfo.environment
    environment[Self.underTestLauncher] = "1"
    process.environment = environment
    let output = FileManager.default.temporaryDirectory.appendingPathComponent(
      "collectives-\(UUID().uuidString).log")
    try Data().write(to: output)
    defer { try? FileManager.default.removeItem(at: output) }
    let handle = try FileHandle(forWritingTo: output)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    let log = String(decoding: try Data(contentsOf: output), as: UTF8.self)
    XCTAssertEqual(process.terminationStatus, 0, log)
    let passed =
      log.components(
        separatedBy: "Test Case '-[DistributedTests.MPICollectiveTests testCollectivesOnThisRank]' passed"
      )
      .count - 1
    let passedLinux =
      log.components(separatedBy: "MPICollectiveTests.testCollectivesOnThisRank' passed").count - 1
    XCTAssertEqual(max(passed, passedLinux), 3, "every rank must run and pass the check:\n\(log)")
  }

  func testCollectivesOnThisRank() throws {
    guard ProcessInfo.processInfo.environment[Self.underTestLauncher] != nil else {
      throw XCTSkip("runs on each rank when testCollectivesUnder3Ranks starts it under mpirun")
    }
    let communicator = try makeWorldCommunicator()
    defer { communicator.finalize() }
    XCTAssertTrue(communicator is MPICommunicator)
    let (rank, size) = (communicator.rank, communicator.size)
    XCTAssertEqual(size, 3)

    // allreduce-sum and -average of rank-dependent floats: Σ_r (r+1) = 6, Σ_r r·10 = 30.
    var floats: [Float] = [Float(rank + 1), Float(rank * 10)]
    try floats.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
    XCTAssertEqual(floats, [6, 30])
    var averaged: [Float] = [Float(rank * 3)]
    try averaged.withUnsafeMutableBufferPointer { try communicator.allreduceAverage($0) }
    XCTAssertEqual(averaged, [3])
    var doubles: [Double] = [0.5 * Double(rank)]
    try doubles.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
    XCTAssertEqual(doubles, [1.5])

    // Broadcast from a root other than 0.
    var words: [UInt64] = rank == 1 ? [0xDEAD_BEEF, 42] : [0, 0]
    try communicator.broadcast(&words, root: 1)
    XCTAssertEqual(words, [0xDEAD_BEEF, 42])

    // Gather at rank 2, in rank order; nil elsewhere.
    let gathered = try communicator.gather([UInt64(rank), UInt64(rank * rank)], root: 2)
    if rank == 2 {
      XCTAssertEqual(gathered, [[0, 0], [1, 1], [2, 4]])
    } else {
      XCTAssertNil(gathered)
    }
    try communicator.barrier()
  }
}
