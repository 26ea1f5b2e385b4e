/// Offsets in one buffer for tensors with known lifetimes: tensors alive at the same step never
/// overlap, the others share memory. Greedy by size — the largest first, each at the lowest
/// offset clear of every placed tensor whose lifetime meets its own (Pisarchyk & Lee 2020,
/// "Efficient Memory Management for Deep Neural Net Inference", greedy by size for offsets).
struct MemoryPlan {
  /// A tensor of `count` floats, alive from step `lifetime.lowerBound` to `upperBound`.
  struct Request {
    let count: Int
    let lifetime: ClosedRange<Int>
  }

  /// Where each request starts, in floats (aligned to 64 bytes).
  let offsets: [Int]
  /// The floats the buffer needs.
  let size: Int

  init(_ requests: [Request]) {
    let alignment = 16
    var offsets = [Int](repeating: 0, count: requests.count)
    var placed: [Int] = []
    var size = 0
    let order = requests.indices.sorted { (requests[$0].count, $1) > (requests[$1].count, $0) }
    for r in order where requests[r].count > 0 {
      let request = requests[r]
      var offset = 0
      for p in placed where requests[p].lifetime.overlaps(request.lifetime) {
        if offsets[p] >= offset + request.count { break }
        offset = max(offset, (offsets[p] + requests[p].count + alignment - 1) / alignment * alignment)
      }
      offsets[r] = offset
      placed.insert(r, at: placed.firstIndex { offsets[$0] > offset } ?? placed.count)
      size = max(size, offset + request.count)
    }
    self.offsets = offsets
    self.size = size
  }
}

extension Network {
  /// When each node's activation, activation gradient and fan-out scratch are alive, on one
  /// clock: node i's forward at step i, the losses at step N, node i's backward at step 2N − i.
  /// An activation lives until its last reader (a consumer's forward, or a backward that reads
  /// it); an output lives to the end. A gradient lives from its first write to its node's
  /// backward; nil where nothing writes one.
  func lifetimes() -> (
    activations: [ClosedRange<Int>], gradients: [ClosedRange<Int>?], scratch: [ClosedRange<Int>?]
  ) {
    let n = nodes.count
    var consumers = [[Int]](repeating: [], count: n)
    for (j, node) in nodes.enumerated() {
      for source in node.inputs where source >= 0 { consumers[source].append(j) }
    }
    let outputs = Set(outputNodes.values)
    var activations: [ClosedRange<Int>] = []
    var gradients: [ClosedRange<Int>?] = []
    var scratch: [ClosedRange<Int>?] = []
    for i in 0..<n {
      var readers = consumers[i].filter { nodes[$0].operation.backwardReadsInput }
      if nodes[i].operation.backwardReadsOutput { readers.append(i) }
      var last = max(consumers[i].max() ?? i, readers.min().map { 2 * n - $0 } ?? i)
      if outputs.contains(i) { last = 2 * n }
      activations.append(i...last)
      let writes = consumers[i].map { 2 * n - $0 } + (outputs.contains(i) ? [n] : [])
      gradients.append(writes.min().map { $0...(2 * n - i) })
      scratch.append(writes.count > 1 ? writes.min()!...writes.max()! : nil)
    }
    return (activations, gradients, scratch)
  }
}

extension Network.Operation {
  var backwardReadsInput: Bool {
    switch self {
    case .layer(let layer): layer.backwardReads.contains(.input)
    case .merge(let merge): merge.backwardReadsInputs
    }
  }

  var backwardReadsOutput: Bool {
    switch self {
    case .layer(let layer): layer.backwardReads.contains(.output)
    case .merge(let merge): merge.backwardReadsOutput
    }
  }
}
