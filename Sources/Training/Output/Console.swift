import Foundation

/// Rank 0's voice: whole lines to standard output, flushed at once so that mpirun forwards
/// them in order (Swift's `print` buffers when stdout is a pipe).
public struct Console: Sendable {
  public let enabled: Bool
  public init(enabled: Bool) { self.enabled = enabled }

  public func line(_ text: String) {
    guard enabled else { return }
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
  }

  /// `imbal-dist: warning: TEXT` on standard error, even with `--quiet` (callers are rank 0).
  public static func warning(_ text: String) {
    FileHandle.standardError.write(Data(("imbal-dist: warning: " + text + "\n").utf8))
  }
}
