import ArgumentParser
import Distributed
import Foundation
import Model

/// Runs `body` on this process's rank and ends the job the way users expect: a clean exit
/// when every rank succeeds; on any error one clear line on standard error and a non-zero
/// exit of the *whole* job (MPI_Abort), so no rank is left waiting in a collective.
func runDistributed(_ body: (Communicator) throws -> Void) throws {
  let communicator: Communicator
  do {
    communicator = try makeWorldCommunicator()
  } catch {
    fail("imbal-dist: error: \(error)")
    exit(1)
  }
  // One BLAS thread per rank under MPI (ranks = cores) unless the user says otherwise;
  // the single-process debug mode keeps OpenBLAS's default of every core.
  if communicator is MPICommunicator, ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil {
    setBLASThreads(1)
  }
  do {
    try body(communicator)
  } catch {
    let prefix =
      communicator.size > 1 ? "imbal-dist (rank \(communicator.rank)): error:" : "imbal-dist: error:"
    if communicator.rank != 0 {
      // Rank 0 usually hits the same error; let its line be the one the user reads.
      Thread.sleep(forTimeInterval: 0.5)
    }
    fail("\(prefix) \(error)")
    if communicator.size > 1 { communicator.abort(code: 1) }
    exit(1)
  }
  communicator.finalize()
}

/// Runs a single-process command: any error becomes one line on standard error and exit 1.
func reportingErrors(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch {
    fail("imbal-dist: error: \(error)")
    throw ExitCode.failure
  }
}

func fail(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}
