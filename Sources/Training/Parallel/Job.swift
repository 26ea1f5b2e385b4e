import Distributed
import Foundation
import Model

/// How a job ends for the user, on every rank: a clean exit when every rank succeeds; exit
/// status 75 when a stop signal ended it after a checkpoint; on any error one line on standard
/// error and the *whole* job ended (MPI_Abort), so that no rank is left waiting in a collective.
public enum Job {
  /// Runs `body` on this process's rank — MPI under a launcher, else one process — and
  /// returns the exit status the command should end with.
  public static func run(_ body: (Communicator) throws -> Void) -> Int32 {
    let communicator: Communicator
    do {
      communicator = try makeWorldCommunicator()
    } catch {
      fail("imbal-dist: error: \(error)")
      return 1
    }
    // One BLAS thread per rank under MPI (ranks = cores) unless the user says otherwise;
    // the single-process debug mode keeps OpenBLAS's default of every core.
    if communicator is MPICommunicator, ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil {
      setBLASThreads(1)
    }
    do {
      try body(communicator)
    } catch TrainingError.stoppedBySignal {
      // Every rank stopped at the same step and rank 0 saved the checkpoint: a clean exit with
      // the code job scripts requeue on.
      communicator.finalize()
      return StopRequest.exitCode
    } catch {
      let prefix =
        communicator.size > 1 ? "imbal-dist (rank \(communicator.rank)): error:" : "imbal-dist: error:"
      if communicator.rank != 0 {
        // Rank 0 usually hits the same error; let its line be the one the user reads.
        Thread.sleep(forTimeInterval: 0.5)
      }
      fail("\(prefix) \(error)")
      if communicator.size > 1 { communicator.abort(code: 1) }
      return 1
    }
    communicator.finalize()
    return 0
  }

  /// Runs `body` once per rank on `ranks` threads over an in-process group (`--simulate-ranks`):
  /// the distributed code path without mpirun. The first rank to fail stops the others; its
  /// error is the one reported. Returns the exit status, as `run` does.
  public static func runSimulated(ranks: Int, _ body: @escaping @Sendable (Communicator) throws -> Void)
    -> Int32
  {
    if startedByMPILauncher() {
      fail("imbal-dist: error: --simulate-ranks runs without mpirun; under mpirun the ranks are real")
      return 1
    }
    setBLASThreads(1)
    let group = InProcessGroup(size: ranks)
    let failures = FailureLog()
    let done = DispatchGroup()
    for communicator in group.communicators() {
      nonisolated(unsafe) let rankCommunicator = communicator
      done.enter()
      let thread = Thread {
        defer { done.leave() }
        do {
          try body(rankCommunicator)
        } catch TrainingError.stoppedBySignal {
          failures.recordStop()
        } catch let error as InProcessGroupError {
          failures.record(rank: rankCommunicator.rank, error: error, secondary: true)
        } catch {
          failures.record(rank: rankCommunicator.rank, error: error, secondary: false)
          group.fail(rank: rankCommunicator.rank)
        }
      }
      thread.stackSize = 16 << 20
      thread.start()
    }
    done.wait()
    if let (rank, error) = failures.first {
      fail("imbal-dist (simulated rank \(rank)): error: \(error)")
      return 1
    }
    return failures.stopped ? StopRequest.exitCode : 0
  }

  /// One line on standard error.
  public static func fail(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
  }
}

/// The errors of simulated ranks; a rank's own failure outranks the "stopped because another
/// rank failed" of the others.
private final class FailureLog: @unchecked Sendable {
  private let lock = NSLock()
  private var primary: (Int, Error)?
  private var secondary: (Int, Error)?
  private(set) var stopped = false

  func recordStop() {
    lock.lock()
    stopped = true
    lock.unlock()
  }

  func record(rank: Int, error: Error, secondary isSecondary: Bool) {
    lock.lock()
    defer { lock.unlock() }
    if isSecondary {
      if secondary == nil { secondary = (rank, error) }
    } else if primary == nil {
      primary = (rank, error)
    }
  }

  var first: (Int, Error)? {
    lock.lock()
    defer { lock.unlock() }
    return primary ?? secondary
  }
}
