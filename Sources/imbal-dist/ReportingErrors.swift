import ArgumentParser
import Training

/// Runs a single-process command: any error becomes one line on standard error and exit 1.
func reportingErrors(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch {
    Job.fail("imbal-dist: error: \(error)")
    throw ExitCode.failure
  }
}

/// Ends the command with `status`, the exit status of `Job.run` or `Job.runSimulated`.
func endJob(with status: Int32) throws {
  if status != 0 { throw ExitCode(status) }
}
