import Distributed
import Model

/// SyncBatchNorm's sums over the ranks, through the communicator. A layer's forward cannot
/// throw, so a failed allreduce is kept and rethrown by the trainer after the step.
final class CommunicatorStatisticsReducer: BatchStatisticsReducer {
  let communicator: Communicator
  private var error: Error?

  init(communicator: Communicator) { self.communicator = communicator }

  func sumOverReplicas(_ values: UnsafeMutableBufferPointer<Double>) {
    guard error == nil, communicator.size > 1 else { return }
    do { try communicator.allreduceSum(values) } catch { self.error = error }
  }

  /// The first failure since the last call, if any.
  func takeError() -> Error? {
    defer { error = nil }
    return error
  }
}
