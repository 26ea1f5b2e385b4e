import Distributed
import Foundation
import Model

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Rank 0's progress within an epoch (step/steps, running loss, images/s, ETA of the epoch):
/// one line rewritten in place on a terminal, plain lines every `every` steps otherwise
/// (cluster logs), nothing when quiet. Under an MPI launcher the line is always plain: OpenMPI
/// gives ranks a pseudo-terminal even when its own output goes to a file or a pipe.
struct Progress {
  let console: Console
  let every: Int
  let quiet: Bool
  private let inPlace = isatty(STDOUT_FILENO) == 1 && !startedByMPILauncher()
  private var shown = false

  init(console: Console, every: Int, quiet: Bool) {
    self.console = console
    self.every = every
    self.quiet = quiet
  }

  mutating func update(
    epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, imagesPerSecond: Double, seconds: Double
  ) {
    guard console.enabled, !quiet, every > 0, step % every == 0 || step == steps else { return }
    let remaining = seconds / Double(step) * Double(steps - step)
    let text =
      "epoch \(epoch)/\(epochs)  step \(step)/\(steps)  loss \(fixed(loss, 4))  "
      + "\(Int(imagesPerSecond.rounded())) img/s  ETA \(clock(remaining))"
    if inPlace {
      FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + text).utf8))
      shown = true
    } else if step != steps {
      console.line(text)
    }
  }

  /// Clears the in-place line before a whole line is printed.
  mutating func finishEpoch() {
    if inPlace && shown { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
    shown = false
  }

  private func clock(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    return String(format: "%d:%02d", total / 60, total % 60)
  }
}
