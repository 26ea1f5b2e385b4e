import Foundation

/// Why an in-process collective could not complete.
public enum InProcessGroupError: Error, CustomStringConvertible {
  case aborted(byRank: Int)

  public var description: String {
    switch self {
    case .aborted(let rank): return "rank \(rank) failed, so the simulated job stopped"
    }
  }
}

/// `N` ranks as threads of one process (`--simulate-ranks N`), so the distributed logic can be
/// stepped through in a debugger without mpirun. Collectives meet at a shared rendezvous:
/// each rank posts its buffer, everyone reads what they need once all have posted, and
/// nobody writes until all have read. Sums run in rank order, so with 2 ranks the result is
/// bit-identical to `MPI_Allreduce` (the sum of two numbers does not depend on the order).
public final class InProcessGroup: @unchecked Sendable {
  public let size: Int
  private let condition = NSCondition()
  private var posted: [UnsafeRawBufferPointer?]
  private var arrived = 0
  private var generation = 0
  private var failedRank: Int?

  public init(size: Int) {
    precondition(size >= 1, "a group needs at least one rank")
    self.size = size
    posted = Array(repeating: nil, count: size)
  }

  /// One communicator per rank, to be used each on its own thread.
  public func communicators() -> [InProcessCommunicator] {
    (0..<size).map { InProcessCommunicator(group: self, rank: $0) }
  }

  /// Wakes every rank waiting in a collective with an error; later collectives fail at once.
  public func fail(rank: Int) {
    condition.lock()
    if failedRank == nil { failedRank = rank }
    condition.broadcast()
    condition.unlock()
  }

  /// Waits until every rank has arrived (a generation-counting barrier).
  fileprivate func barrier() throws {
    condition.lock()
    defer { condition.unlock() }
    if let failedRank { throw InProcessGroupError.aborted(byRank: failedRank) }
    let mine = generation
    arrived += 1
    if arrived == size {
      arrived = 0
      generation += 1
      condition.broadcast()
      return
    }
    while generation == mine {
      if let failedRank { throw InProcessGroupError.aborted(byRank: failedRank) }
      condition.wait()
    }
  }

  /// Posts `bytes` for `rank`, waits for all, lets `read` see every rank's bytes, then waits
  /// again so that no rank changes its buffer while another may still read it.
  fileprivate func exchange(
    rank: Int, bytes: UnsafeRawBufferPointer, read: ([UnsafeRawBufferPointer]) -> Void
  ) throws {
    condition.lock()
    posted[rank] = bytes
    condition.unlock()
    try barrier()
    condition.lock()
    let all = posted.map { $0! }
    condition.unlock()
    read(all)
    try barrier()
  }
}

/// One rank of an `InProcessGroup`.
public final class InProcessCommunicator: Communicator {
  public let rank: Int
  private let group: InProcessGroup

  fileprivate init(group: InProcessGroup, rank: Int) {
    self.group = group
    self.rank = rank
  }

  public var size: Int { group.size }

  public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
    try allreduce(buffer)
  }

  public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
    try allreduce(buffer)
  }

  private func allreduce<T: BinaryFloatingPoint>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
    var sum = [T](repeating: 0, count: buffer.count)
    try group.exchange(rank: rank, bytes: UnsafeRawBufferPointer(buffer)) { all in
      for part in all {
        let values = part.bindMemory(to: T.self)
        for i in sum.indices { sum[i] += values[i] }
      }
    }
    _ = sum.withUnsafeBufferPointer { buffer.update(fromContentsOf: $0) }
  }

  public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {
    var copy: [UInt8] = []
    try group.exchange(rank: rank, bytes: UnsafeRawBufferPointer(bytes)) { all in
      if rank != root { copy = Array(all[root]) }
    }
    if rank != root { copy.withUnsafeBytes { bytes.copyMemory(from: $0) } }
  }

  public func barrier() throws { try group.barrier() }

  public func gather(_ bytes: UnsafeRawBufferPointer, root: Int) throws -> [[UInt8]]? {
    var parts: [[UInt8]]?
    try group.exchange(rank: rank, bytes: bytes) { all in
      if rank == root { parts = all.map { Array($0) } }
    }
    return parts
  }

  /// Ends the simulated job, as `MPI_Abort` ends a real one.
  public func abort(code: Int32) -> Never {
    group.fail(rank: rank)
    exit(code)
  }

  public func finalize() {}
}
