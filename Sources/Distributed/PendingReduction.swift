/// An allreduce that has been started and not yet waited for (`MPI_Iallreduce`): its buffer
/// belongs to the communicator until `complete` returns.
public final class PendingReduction {
  /// The MPI request, for a reduction MPI is still working on.
  var request: OpaquePointer?
  public internal(set) var isDone: Bool

  init(request: OpaquePointer?, isDone: Bool) {
    self.request = request
    self.isDone = isDone
  }
}

extension Communicator {
  /// Starts summing `buffer` over all ranks. This default runs the blocking allreduce at once
  /// (single process, in-process ranks); the MPI communicator returns without waiting.
  public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
    try allreduceSum(buffer)
    return PendingReduction(request: nil, isDone: true)
  }

  /// Lets the reduction advance without blocking (MPI moves non-blocking collectives only
  /// inside MPI calls); returns whether it is done.
  @discardableResult
  public func progress(_ pending: PendingReduction) throws -> Bool { pending.isDone }

  /// Waits until the reduction is done.
  public func complete(_ pending: PendingReduction) throws {}
}
