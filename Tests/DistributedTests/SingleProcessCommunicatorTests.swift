import Distributed
import XCTest

final class SingleProcessCommunicatorTests: XCTestCase {
  func testCollectivesAreTheIdentityInAGroupOfOne() throws {
    let communicator = SingleProcessCommunicator()
    XCTAssertEqual(communicator.rank, 0)
    XCTAssertEqual(communicator.size, 1)
    var values: [Float] = [1.5, -2, 3]
    try values.withUnsafeMutableBufferPointer { try communicator.allreduceAverage($0) }
    XCTAssertEqual(values, [1.5, -2, 3])
    var words: [UInt64] = [7, 9]
    try communicator.broadcast(&words, root: 0)
    XCTAssertEqual(words, [7, 9])
    XCTAssertEqual(try communicator.gather([UInt64(42), 43], root: 0), [[42, 43]])
  }

  /// Without a launcher's variables, the world is the single-process group: no MPI_Init,
  /// no daemon.
  func testWithoutALauncherTheWorldIsOneProcess() throws {
    for key in ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"] where getenv(key) != nil {
      throw XCTSkip("the suite itself runs under a launcher (\(key) is set)")
    }
    XCTAssertTrue(try makeWorldCommunicator() is SingleProcessCommunicator)
  }
}

#if canImport(Glibc)
  import Glibc
#endif
