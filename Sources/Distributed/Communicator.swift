/// The collective operations the trainer needs from its process group, and nothing more.
///
/// Contract (as in Horovod and PyTorch DDP): parameters are broadcast from rank 0 once at
/// start; afterwards only gradients are all-reduced, so every rank applies the same update
/// to the same parameters and replicas stay bit-identical. Every rank must call every
/// collective in the same order with the same element counts.
public protocol Communicator: AnyObject {
  /// This process's index in `0..<size`.
  var rank: Int { get }
  /// The number of processes in the group.
  var size: Int { get }

  /// Replaces `buffer` on every rank with the element-wise sum over all ranks.
  func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
  /// Replaces `buffer` on every rank with the element-wise sum over all ranks.
  func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
  /// `allreduceSum` started without waiting (`PendingReduction.swift` has the defaults).
  func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction
  @discardableResult func progress(_ pending: PendingReduction) throws -> Bool
  func complete(_ pending: PendingReduction) throws
  /// Copies `bytes` from `root` to every other rank (same byte count everywhere).
  func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws
  /// Returns on every rank only once all ranks have entered it.
  func barrier() throws
  /// Collects `bytes` (same byte count on every rank) at `root`, in rank order; `nil` elsewhere.
  func gather(_ bytes: UnsafeRawBufferPointer, root: Int) throws -> [[UInt8]]?
  /// Ends the whole job (every rank) after printing nothing more; `message` was already shown.
  func abort(code: Int32) -> Never
  /// Leaves the group cleanly; call once, at exit.
  func finalize()
}

extension Communicator {
  /// Replaces `buffer` on every rank with the element-wise mean over all ranks.
  public func allreduceAverage(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
    try allreduceSum(buffer)
    guard size > 1 else { return }
    let scale = 1 / Float(size)
    for i in buffer.indices { buffer[i] *= scale }
  }

  /// Replaces `values` on every rank with the element-wise sum over all ranks.
  public func allreduceSum(_ values: inout [Double]) throws {
    try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
  }

  /// Collects one string per rank, of any length, at `root`, in rank order; `nil` on other
  /// ranks. (A gather moves the same byte count from every rank: each text is padded with
  /// zero bytes to the sum of all lengths, which costs one small allreduce.)
  public func gather(text: String, root: Int) throws -> [String]? {
    var bytes = Array(text.utf8)
    var total = [Double(bytes.count)]
    try allreduceSum(&total)
    bytes += [UInt8](repeating: 0, count: Int(total[0]) - bytes.count)
    return try gather(bytes, root: root)?.map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
  }

  /// Copies `values` from `root` to every rank; every rank must pass the same count.
  public func broadcast<T: BitwiseCopyable>(_ values: inout [T], root: Int) throws {
    try values.withUnsafeMutableBytes { try broadcast($0, root: root) }
  }

  /// Collects one fixed-size array per rank at `root`, in rank order; `nil` on other ranks.
  public func gather<T: BitwiseCopyable>(_ values: [T], root: Int) throws -> [[T]]? {
    guard let parts = try values.withUnsafeBytes({ try gather($0, root: root) }) else {
      return nil
    }
    return parts.map { bytes in
      bytes.withUnsafeBytes { Array($0.bindMemory(to: T.self)) }
    }
  }
}
