import Distributed
import Model

/// The trainable gradients cut into buckets of whole tensors (≈ `bucketFloats` each), every
/// bucket allreduced (`MPI_Iallreduce`) as soon as backward has produced all of its tensors,
/// so communication overlaps the rest of backward — the bucketing of PyTorch DDP (Li et al.
/// 2020). Backward runs from the loss towards the input, so the buckets at the end of the
/// arena start first. A sum per bucket is the same sum as one allreduce of the whole range.
final class GradientBuckets {
  private let communicator: Communicator
  private let gradients: Arena
  private var ranges: [Range<Int>] = []
  /// For every node with trainable parameters, its bucket.
  private var bucketOfNode: [Int: Int] = [:]
  private var nodesPerBucket: [Int] = []
  private var remaining: [Int] = []
  private var pending: [PendingReduction?] = []
  private var error: Error?

  init(network: Network, trainable: Range<Int>, communicator: Communicator, bucketFloats: Int = 1 << 15) {
    self.communicator = communicator
    gradients = network.gradients
    let nodes = network.nodes.indices
      .filter {
        network.parameterCount(ofNode: $0) > 0
          && trainable.contains(network.parameterRange(ofNode: $0).lowerBound)
      }
      .sorted {
        network.parameterRange(ofNode: $0).lowerBound < network.parameterRange(ofNode: $1).lowerBound
      }
    // Buckets are filled from the end of the arena, where backward starts.
    var current: [Int] = []
    var size = 0
    func close() {
      guard !current.isEmpty else { return }
      let lower = current.map { network.parameterRange(ofNode: $0).lowerBound }.min()!
      let upper = current.map { network.parameterRange(ofNode: $0).upperBound }.max()!
      for node in current { bucketOfNode[node] = ranges.count }
      ranges.append(lower..<upper)
      nodesPerBucket.append(current.count)
      (current, size) = ([], 0)
    }
    for node in nodes.reversed() {
      current.append(node)
      size += network.parameterCount(ofNode: node)
      if size >= bucketFloats { close() }
    }
    close()
    remaining = nodesPerBucket
    pending = Array(repeating: nil, count: ranges.count)
  }

  var bucketCount: Int { ranges.count }

  /// The callback for `Network.backward(gradientsReady:)`.
  func nodeReady(_ node: Int) {
    guard error == nil, let bucket = bucketOfNode[node] else { return }
    do {
      remaining[bucket] -= 1
      if remaining[bucket] == 0 { try start(bucket) }
      for case let request? in pending { try communicator.progress(request) }
    } catch { self.error = error }
  }

  /// After backward: starts the buckets backward never completed (none, unless a trainable
  /// node was not reached), waits for all, and makes ready for the next step. Returns the
  /// seconds spent waiting: the communication backward did not hide.
  func finish() throws -> Double {
    if let error {
      self.error = nil
      throw error
    }
    let started = ContinuousClock.now
    for bucket in ranges.indices where pending[bucket] == nil { try start(bucket) }
    for case let request? in pending { try communicator.complete(request) }
    remaining = nodesPerBucket
    pending = Array(repeating: nil, count: ranges.count)
    return seconds(since: started)
  }

  private func start(_ bucket: Int) throws {
    pending[bucket] = try communicator.startAllreduceSum(
      UnsafeMutableBufferPointer(rebasing: gradients.buffer[ranges[bucket]]))
  }
}
