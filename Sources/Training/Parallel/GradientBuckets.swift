import Distributed
import Model

/// The trainable gradients cut into buckets of whole tensors (≈ `bucketFloats` each), every
/// bucket allreduced (`MPI_Iallreduce`) as soon as backward has produced all of its tensors,
/// so communication overlaps the rest of backward — the bucketing of PyTorch DDP (Li et al.
/// 2020). Backward runs from the loss towards the input, so the buckets at the end of the
/// arena start first. A sum per bucket is the same sum as one allreduce of the whole range.
///
/// As DDP does, a step is checked: `expect(_:)` names the nodes backward will reach (a node
/// outside them, such as the decoder in a logits-only backward, keeps its zero gradient and
/// its bucket starts in `finish()`); a node reported twice, or an expected node never
/// reported, is an error naming its tensors.
public final class GradientBuckets {
  private let communicator: Communicator
  private let gradients: Arena
  private var ranges: [Range<Int>] = []
  /// For every node with trainable parameters, its bucket and the names of its tensors.
  private var bucketOfNode: [Int: Int] = [:]
  private var tensorNames: [Int: [String]] = [:]
  private var expected: Set<Int> = []
  private var reported: Set<Int> = []
  private var remaining: [Int] = []
  private var pending: [PendingReduction?] = []
  private var error: Error?

  public init(
    network: Network, trainable: Range<Int>, communicator: Communicator, bucketFloats: Int = 1 << 15
  ) {
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
    for node in nodes {
      let range = network.parameterRange(ofNode: node)
      tensorNames[node] = network.layout.entries.filter { range.contains($0.offset) }.map(\.name)
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
      (current, size) = ([], 0)
    }
    for node in nodes.reversed() {
      current.append(node)
      size += network.parameterCount(ofNode: node)
      if size >= bucketFloats { close() }
    }
    close()
    expect(Set(bucketOfNode.keys))
  }

  public var bucketCount: Int { ranges.count }

  /// Before backward: the nodes with trainable parameters that it will report.
  public func expect(_ nodes: Set<Int>) {
    expected = nodes.intersection(bucketOfNode.keys)
    reported = []
    remaining = Array(repeating: 0, count: ranges.count)
    for node in expected { remaining[bucketOfNode[node]!] += 1 }
    pending = Array(repeating: nil, count: ranges.count)
  }

  /// The callback for `Network.backward(gradientsReady:)`.
  public func nodeReady(_ node: Int) {
    guard error == nil, let bucket = bucketOfNode[node] else { return }
    do {
      guard expected.contains(node) else {
        throw DataParallelError.gradientNotExpected(tensors: tensorNames[node] ?? [])
      }
      guard reported.insert(node).inserted else {
        throw DataParallelError.gradientReportedTwice(tensors: tensorNames[node] ?? [])
      }
      remaining[bucket] -= 1
      if remaining[bucket] == 0 { try start(bucket) }
      for case let request? in pending { try communicator.progress(request) }
    } catch { self.error = error }
  }

  /// After backward: starts the buckets of nodes backward did not reach, waits for all, and
  /// makes ready for the next step. Returns the seconds spent waiting here.
  @discardableResult
  public func finish() throws -> Double {
    defer { expect(expected) }
    if let error {
      self.error = nil
      throw error
    }
    let missing = expected.subtracting(reported).sorted()
    guard missing.isEmpty else {
      throw DataParallelError.gradientNeverReported(tensors: missing.flatMap { tensorNames[$0] ?? [] })
    }
    let started = ContinuousClock.now
    for bucket in ranges.indices where pending[bucket] == nil { try start(bucket) }
    for case let request? in pending { try communicator.complete(request) }
    return seconds(since: started)
  }

  private func start(_ bucket: Int) throws {
    pending[bucket] = try communicator.startAllreduceSum(
      UnsafeMutableBufferPointer(rebasing: gradients.buffer[ranges[bucket]]))
  }
}
