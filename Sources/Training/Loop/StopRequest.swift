import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// SIGTERM or SIGUSR1 (how Slurm and other schedulers announce pre-emption or the end of a
/// time limit) asks the run to stop after the current step: the handler only sets a flag,
/// which the ranks combine once per step, so all of them stop at the same step.
public enum StopRequest {
  /// The exit status of a run stopped this way (BSD's EX_TEMPFAIL): "try again", which the
  /// job scripts in `cluster/` answer by requeueing with `--resume`.
  public static let exitCode: Int32 = 75

  private static let flag = Atomic<Int32>(0)

  /// Installs the handlers for SIGTERM and SIGUSR1.
  public static func install() {
    for number in [SIGTERM, SIGUSR1] {
      signal(number) { received in StopRequest.flag.store(received, ordering: .relaxed) }
    }
  }

  /// The signal received so far, or 0.
  public static var received: Int32 { flag.load(ordering: .relaxed) }
}
