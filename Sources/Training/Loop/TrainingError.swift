/// A run that cannot go on.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
  case nonFiniteLoss(epoch: Int, step: Int, loss: Double)
  case cannotWrite(path: String, reason: String)
  case nonFiniteGradient(parameter: String, value: Double, rank: Int, epoch: Int, step: Int)
  case injectedFault(rank: Int, step: Int)
  case noClassifierBias(loss: String)
  /// `--out` names a directory holding another run's files (`file` is the first of them).
  case runExists(path: String, file: String)
  /// Another process holds the run directory's lock; `holder` is what its lock file says.
  case runInUse(path: String, holder: String?)
  /// Not a failure: SIGTERM/SIGUSR1 stopped the run after a checkpoint (exit code 75).
  case stoppedBySignal

  public var description: String {
    switch self {
    case .nonFiniteLoss(let epoch, let step, let loss):
      return
        "training diverged: the loss is \(loss) at epoch \(epoch), step \(step); lower --lr or check the data"
    case .nonFiniteGradient(let parameter, let value, let rank, let epoch, let step):
      return
        "the gradient of \(parameter) is \(value) on rank \(rank) at step \(step) (epoch \(epoch)); it is the layer nearest the loss that went bad"
    case .injectedFault(let rank, let step):
      return "injected fault: rank \(rank) fails at step \(step) (--inject-fault)"
    case .noClassifierBias(let loss):
      return
        "--loss \(loss) starts the classifier's bias at the class prior, but this model's classifier has no bias"
    case .stoppedBySignal:
      return "stopped by a signal after a checkpoint; continue with --resume"
    case .runExists(let path, let file):
      return
        "\(path): already holds a run (\(file)); continue it with --resume \(path), replace it with --force, or choose another --out"
    case .runInUse(let path, let holder):
      return
        "\(path): in use by another run (\(holder ?? "its lock file names no holder")); wait for it to end or choose another --out"
    case .cannotWrite(let path, let reason):
      return "\(path): cannot be written (\(reason))"
    }
  }
}
