import PRNG

/// Which part of a model a layer belongs to. The arenas hold the encoder's tensors first, then
/// the decoder's, then the classifier's, so the trainable set of every training mode — all,
/// encoder + decoder (autoencoder), classifier alone (frozen encoder) — is one contiguous
/// range that one allreduce and one optimizer loop cover.
public enum ModelPart: Int, CaseIterable, Comparable, Sendable, CustomStringConvertible {
  case encoder, decoder, classifier
  public static func < (a: ModelPart, b: ModelPart) -> Bool { a.rawValue < b.rawValue }
  public var description: String { ["encoder", "decoder", "classifier"][rawValue] }
}

/// The tensors of a network the trainer reads: the logits, the features the classifier
/// reads (the encoder's output; what t-SNE embeds), the decoder's reconstruction, and a
/// segmentation network's class maps (K scores per pixel at input resolution).
public enum NetworkOutput: String, CaseIterable, Sendable {
  case logits, features, reconstruction, classMaps
}

/// A network as a graph of layers in topological order, with its parameters in one arena,
/// their gradients in a mirror arena and its buffers (batch norm's running statistics) in a
/// third; activations and their gradients are planned once per batch size, in one arena
/// where tensors that are never alive at the same time share memory (`MemoryPlan`).
///
/// Lifecycle of a step: `zeroGradients()`, `forward(_:outputs:)`, losses on the outputs,
/// `backward(input:outputGradients:)`, then the caller syncs `gradients[trainableRange]` and
/// updates `parameters`. Only the nodes an output needs run forward, and only the nodes with
/// a trainable parameter at or before them run backward.
public final class Network {
  /// What a node computes.
  public enum Operation {
    case layer(Layer)
    case merge(MergeLayer)

    public var name: String {
      switch self {
      case .layer(let layer): layer.name
      case .merge(let merge): merge.name
      }
    }
  }

  /// One step of the graph; `inputs` are indices of earlier nodes, `-1` the network input.
  public struct Node {
    public let operation: Operation
    public let inputs: [Int]
    public let part: ModelPart
    /// The output shape for one image.
    public let shape: Shape
  }

  public let nodes: [Node]
  public let outputNodes: [NetworkOutput: Int]
  /// The node whose outputs are the class scores, as the architecture tagged it.
  public let classifierNode: Int?
  /// The shape of one input image (batch 1).
  public let inputShape: Shape
  public let layout: ParameterLayout
  public let bufferLayout: ParameterLayout
  public let parameters: Arena
  public let gradients: Arena
  public let buffers: Arena
  /// Where each part's parameters lie in the arena (absent: the part has none).
  public let partRanges: [ModelPart: Range<Int>]
  public private(set) var frozenParts: Set<ModelPart> = []
  /// When set, every node's forward and backward time is added to it (`imbal-dist bench`).
  public var profile: NetworkProfile?
  public private(set) var isTraining = false

  /// Node indices in arena order (by part, then graph order).
  private let arenaOrder: [Int]
  /// Parameters of each node.
  private let nodeParameterCounts: [Int]
  /// Where each node's parameters (and their gradients) lie in the arenas.
  private let nodeParameterOffsets: [Int]
  private var activations: [Tensor] = []
  private var activationGradients: [Tensor] = []
  /// For nodes read by several others: where the second and later consumers write their share.
  private var fanOutScratch: [Int: Tensor] = [:]
  private var plannedBatch = 0
  /// Whether tensors that are never alive at once share memory; false gives every activation
  /// and gradient its own (the reference the sharing is tested against).
  public var reusesMemory = true {
    didSet { plannedBatch = 0 }
  }
  /// The bytes of the activations, their gradients and scratch, as planned for the largest
  /// batch so far.
  public private(set) var plannedBytes = 0
  private var neededCache: [[NetworkOutput]: [Bool]] = [:]

  public init(nodes: [Node], outputs: [NetworkOutput: Int], inputShape: Shape, classifier: Int? = nil) {
    precondition(
      outputs[.logits] != nil || outputs[.classMaps] != nil, "a network needs logits or class maps")
    self.nodes = nodes
    outputNodes = outputs
    classifierNode = classifier
    self.inputShape = inputShape
    arenaOrder = nodes.indices.sorted { (nodes[$0].part, $0) < (nodes[$1].part, $1) }
    nodeParameterCounts = nodes.map { node in
      guard case .layer(let layer) = node.operation else { return 0 }
      return layer.parameterSpecs.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }
    var layout = ParameterLayout()
    var bufferLayout = ParameterLayout()
    var parameterOffsets = [Int](repeating: 0, count: nodes.count)
    var bufferOffsets: [Int: Int] = [:]
    var ranges: [ModelPart: Range<Int>] = [:]
    for index in arenaOrder {
      guard case .layer(let layer) = nodes[index].operation else { continue }
      parameterOffsets[index] = layout.count
      bufferOffsets[index] = bufferLayout.count
      let start = layout.count
      for spec in layer.parameterSpecs {
        layout.append(name: "\(layer.name).\(spec.name)", shape: spec.shape)
      }
      for spec in layer.bufferSpecs {
        bufferLayout.append(name: "\(layer.name).\(spec.name)", shape: spec.shape)
      }
      if layout.count > start {
        let part = nodes[index].part
        ranges[part] = (ranges[part]?.lowerBound ?? start)..<layout.count
      }
    }
    self.layout = layout
    self.bufferLayout = bufferLayout
    nodeParameterOffsets = parameterOffsets
    partRanges = ranges
    parameters = Arena(count: layout.count)
    gradients = Arena(count: layout.count)
    buffers = Arena(count: bufferLayout.count)
    for index in arenaOrder {
      guard case .layer(let layer) = nodes[index].operation else { continue }
      let offset = parameterOffsets[index]
      layer.bind(parameters: parameters.base + offset, gradients: gradients.base + offset)
      layer.bind(buffers: buffers.base + bufferOffsets[index]!)
    }
    resetBuffers()
    setTraining(false)
  }

  /// A chain of single-input layers (all encoder); the last is the logits, the one before it
  /// the features.
  public convenience init(layers: [Layer], channels: Int, height: Int, width: Int) {
    let builder = NetworkBuilder(channels: channels, height: height, width: width)
    for layer in layers { builder.add(layer) }
    if layers.count >= 2 { builder.output(.features, builder.last - 1) }
    builder.output(.logits, builder.last)
    builder.classifier = builder.last
    self.init(builder)
  }

  public var hasDecoder: Bool { outputNodes[.reconstruction] != nil }

  /// What the network predicts: the logits, or a segmentation network's class maps.
  public var prediction: NetworkOutput { outputNodes[.logits] != nil ? .logits : .classMaps }

  /// The output shape of every node for a batch of `batch` images.
  public func shapes(batch: Int) -> [Shape] { nodes.map { $0.shape.with(batch: batch) } }

  /// The shape of `output` for one image.
  public func shape(of output: NetworkOutput) -> Shape? { outputNodes[output].map { nodes[$0].shape } }

  /// Fills every parameter according to its layer's initialisation, from `seed`, and resets
  /// the buffers.
  public func initializeParameters(seed: UInt64) {
    initialize(parts: Set(ModelPart.allCases), stream: Xoshiro256(seed: seed, stream: [0x1A17]))
    resetBuffers()
  }

  /// Fills the parameters of `part` alone afresh, from a stream of `seed` distinct from the
  /// whole network's (a classifier re-trained on learned features, Kang et al. 2020).
  public func initializeParameters(of part: ModelPart, seed: UInt64) {
    initialize(parts: [part], stream: Xoshiro256(seed: seed, stream: [0x1A18, UInt64(part.rawValue)]))
  }

  private func initialize(parts: Set<ModelPart>, stream: Xoshiro256) {
    var rng = stream
    var offset = 0
    for index in arenaOrder {
      guard case .layer(let layer) = nodes[index].operation else { continue }
      for spec in layer.parameterSpecs {
        let count = spec.shape.reduce(1, *)
        if parts.contains(nodes[index].part) {
          spec.initialization.fill(
            UnsafeMutableBufferPointer(start: parameters.base + offset, count: count), using: &rng)
        }
        offset += count
      }
    }
  }

  private func resetBuffers() {
    var rng = Xoshiro256(seed: 0)
    for index in arenaOrder {
      guard case .layer(let layer) = nodes[index].operation else { continue }
      for spec in layer.bufferSpecs {
        let entry = bufferLayout.entries.first { $0.name == "\(layer.name).\(spec.name)" }!
        spec.initialization.fill(
          UnsafeMutableBufferPointer(start: buffers.base + entry.offset, count: entry.count), using: &rng)
      }
    }
  }

  /// The values of the parameter tensor `name` (`fc.bias`), a view into the arena.
  public func parameter(named name: String) -> UnsafeMutableBufferPointer<Float>? {
    guard let entry = layout.entries.first(where: { $0.name == name }) else { return nil }
    return UnsafeMutableBufferPointer(start: parameters.base + entry.offset, count: entry.count)
  }

  /// The classifier layer's weights (classes × features, row-major), where it has them.
  public var classifierWeight: UnsafeMutableBufferPointer<Float>? {
    guard let classifierNode else { return nil }
    return parameter(named: "\(nodes[classifierNode].operation.name).weight")
  }

  /// The L2 norm of each class's row of the classifier's weights (empty without a classifier).
  public var classifierRowNorms: [Double] {
    guard let weights = classifierWeight, let classes = shape(of: prediction)?.channels else { return [] }
    let features = weights.count / classes
    return (0..<classes).map { k in
      weights[(k * features)..<((k + 1) * features)].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }
  }

  /// MaxNorm by projection (Srivastava et al. 2014; Alshammari et al. 2022's PGD step): every
  /// class row of the classifier's weights longer than `radius` is scaled back onto the sphere.
  public func capClassifierRows(radius: Double) {
    guard let weights = classifierWeight else { return }
    let norms = classifierRowNorms
    let features = weights.count / norms.count
    for (k, norm) in norms.enumerated() where norm > radius {
      let scale = Float(radius / norm)
      for i in (k * features)..<((k + 1) * features) { weights[i] *= scale }
    }
  }

  /// The gradient of the classifier layer's parameter `name` (`weight` or `bias`), a view into
  /// the gradient arena, where it has one.
  public func classifierGradient(of name: String) -> UnsafeMutableBufferPointer<Float>? {
    guard let classifierNode,
      let entry = layout.entries.first(where: { $0.name == "\(nodes[classifierNode].operation.name).\(name)" }
      )
    else { return nil }
    return UnsafeMutableBufferPointer(start: gradients.base + entry.offset, count: entry.count)
  }

  /// The classifier layer's bias (one value per class), where it has one.
  public var classifierBias: UnsafeMutableBufferPointer<Float>? {
    guard let classifierNode else { return nil }
    return parameter(named: "\(nodes[classifierNode].operation.name).bias")
  }

  /// Multiply–adds of one forward pass for one image, of the nodes `outputs` need.
  public func forwardFLOPsPerImage(for outputs: [NetworkOutput]? = nil) -> Int {
    let needed = neededNodes(outputs ?? [prediction])
    return nodes.indices.reduce(0) { total, i in
      guard needed[i], case .layer(let layer) = nodes[i].operation else { return total }
      return total + layer.forwardFLOPs(for: inputShape(of: i))
    }
  }

  /// The per-image input shape of node `index` (its first input).
  public func inputShape(of index: Int) -> Shape {
    let source = nodes[index].inputs[0]
    return source < 0 ? inputShape : nodes[source].shape
  }

  /// Parameters of node `index`.
  public func parameterCount(ofNode index: Int) -> Int { nodeParameterCounts[index] }

  /// Where node `index`'s parameters lie in the arena (empty for a node without any).
  public func parameterRange(ofNode index: Int) -> Range<Int> {
    nodeParameterOffsets[index]..<(nodeParameterOffsets[index] + nodeParameterCounts[index])
  }

  // MARK: Modes

  /// Training mode for every layer of a part that is not frozen; a frozen part always runs
  /// in inference mode (its batch norm uses, and keeps, its running statistics).
  public func setTraining(_ training: Bool) {
    isTraining = training
    for node in nodes {
      if case .layer(let layer) = node.operation {
        layer.setTraining(training && !frozenParts.contains(node.part))
      }
    }
  }

  /// Freezes `parts`: they get no gradient, and the trainer leaves them out of the allreduce
  /// and the optimizer (`trainableRange`).
  public func freeze(_ parts: Set<ModelPart>) {
    frozenParts = parts
    setTraining(isTraining)
  }

  /// The parameters of the parts that are not frozen, one contiguous range of the arena.
  public var trainableRange: Range<Int> {
    let ranges = partRanges.filter { !frozenParts.contains($0.key) }.values.sorted {
      $0.lowerBound < $1.lowerBound
    }
    guard let first = ranges.first else { return 0..<0 }
    for (a, b) in zip(ranges, ranges.dropFirst()) {
      precondition(a.upperBound == b.lowerBound, "the trainable parameters are not contiguous")
    }
    return first.lowerBound..<ranges.last!.upperBound
  }

  /// Gives every dropout layer the random stream of this step on this rank.
  public func seedStochasticLayers(seed: UInt64, step: Int, rank: Int) {
    for (index, node) in nodes.enumerated() {
      guard case .layer(let layer) = node.operation, let dropout = layer as? Dropout else { continue }
      dropout.seed = seed
      dropout.stream = [0xD809, UInt64(step), UInt64(rank), UInt64(index)]
    }
  }

  /// Batch norm over the global batch: every batch-norm layer sums its statistics with `reducer`.
  public func synchronizeBatchStatistics(with reducer: BatchStatisticsReducer?) {
    for node in nodes {
      if case .layer(let layer) = node.operation, let norm = layer as? BatchNorm2D { norm.reducer = reducer }
    }
  }

  public func zeroGradients() { gradients.zero() }

  // MARK: Forward and backward

  /// Runs the nodes `outputs` (default: the prediction) need on `input` and returns the logits
  /// when they are among them (else the first output); results are owned by the network, valid
  /// until the next forward.
  @discardableResult
  public func forward(_ input: Tensor, outputs: [NetworkOutput]? = nil) -> Tensor {
    let outputs = outputs ?? [prediction]
    plan(batch: input.shape.batch)
    let needed = neededNodes(outputs)
    func tensor(_ index: Int) -> Tensor { index < 0 ? input : activations[index] }
    for (i, node) in nodes.enumerated() where needed[i] {
      let started = profile == nil ? nil : ContinuousClock.now
      switch node.operation {
      case .layer(let layer): layer.forward(tensor(node.inputs[0]), into: activations[i])
      case .merge(let merge): merge.forward(node.inputs.map(tensor), into: activations[i])
      }
      if let started { profile!.forwardSeconds[i] += seconds(since: started) }
    }
    return output(outputs.contains(.logits) ? .logits : outputs[0])
  }

  /// The tensor of `output` from the last forward that computed it.
  public func output(_ output: NetworkOutput) -> Tensor {
    guard let index = outputNodes[output] else { preconditionFailure("the network has no \(output) output") }
    return activations[index]
  }

  /// Back-propagates the loss gradients w.r.t. `outputGradients`' outputs through the last
  /// `forward(input)`, accumulating into `gradients`. The gradient w.r.t. the input is
  /// computed only when `inputGradient` is given (training never needs it).
  /// `gradientsReady` is called with every node whose parameter gradients are final, as soon
  /// as its backward is done (gradient buckets start their allreduce from it).
  public func backward(
    input: Tensor, outputGradients: [(NetworkOutput, Tensor)], inputGradient: Tensor? = nil,
    gradientsReady: ((Int) -> Void)? = nil
  ) {
    var written = [Bool](repeating: false, count: nodes.count)
    for (output, gradient) in outputGradients {
      let index = outputNodes[output]!
      precondition(gradient.shape == activations[index].shape, "\(output) gradient has the wrong shape")
      accumulate(gradient, into: activationGradients[index], overwrite: !written[index])
      written[index] = true
    }
    var requiresGradient = [Bool](repeating: false, count: nodes.count)
    for (i, node) in nodes.enumerated() {
      let trainable = parameterCount(ofNode: i) > 0 && !frozenParts.contains(node.part)
      requiresGradient[i] =
        trainable || node.inputs.contains { $0 < 0 ? inputGradient != nil : requiresGradient[$0] }
    }
    var inputWritten = false
    for i in nodes.indices.reversed() where written[i] && requiresGradient[i] {
      let node = nodes[i]
      var pending: [(scratch: Tensor, target: Tensor)] = []
      let targets: [Tensor?] = node.inputs.map { source in
        if source < 0 {
          guard let inputGradient else { return nil }
          if !inputWritten {
            inputWritten = true
            return inputGradient
          }
          let scratch = Tensor(shape: inputGradient.shape)
          pending.append((scratch, inputGradient))
          return scratch
        }
        guard requiresGradient[source] else { return nil }
        if !written[source] {
          written[source] = true
          return activationGradients[source]
        }
        let scratch = fanOutScratch[source]!
        pending.append((scratch, activationGradients[source]))
        return scratch
      }
      let started = profile == nil ? nil : ContinuousClock.now
      switch node.operation {
      case .layer(let layer):
        let source = node.inputs[0]
        layer.backward(
          input: source < 0 ? input : activations[source], output: activations[i],
          outputGradient: activationGradients[i], inputGradient: targets[0])
      case .merge(let merge):
        merge.backward(
          inputs: node.inputs.map { $0 < 0 ? input : activations[$0] }, output: activations[i],
          outputGradient: activationGradients[i],
          inputGradients: targets)
      }
      for (scratch, target) in pending { accumulate(scratch, into: target, overwrite: false) }
      if let started { profile!.backwardSeconds[i] += seconds(since: started) }
      if nodeParameterCounts[i] > 0 { gradientsReady?(i) }
    }
  }

  /// The single-output form: back-propagates the gradient w.r.t. the logits.
  public func backward(input: Tensor, logitsGradient: Tensor, inputGradient: Tensor? = nil) {
    backward(input: input, outputGradients: [(.logits, logitsGradient)], inputGradient: inputGradient)
  }

  private func accumulate(_ source: Tensor, into target: Tensor, overwrite: Bool) {
    let count = source.shape.count
    if overwrite {
      target.pointer.update(from: source.pointer, count: count)
    } else {
      let (s, t) = (source.pointer, target.pointer)
      for i in 0..<count { t[i] += s[i] }
    }
  }

  /// The nodes with trainable parameters whose gradients `backward` computes (and reports to
  /// `gradientsReady`) from gradients on `outputs`: the trainable ancestors of those outputs.
  public func trainableNodesReached(from outputs: [NetworkOutput]) -> [Int] {
    let needed = neededNodes(outputs)
    return nodes.indices.filter {
      needed[$0] && nodeParameterCounts[$0] > 0 && !frozenParts.contains(nodes[$0].part)
    }
  }

  /// Which nodes the outputs depend on.
  public func neededNodes(_ outputs: [NetworkOutput]) -> [Bool] {
    if let cached = neededCache[outputs] { return cached }
    var needed = [Bool](repeating: false, count: nodes.count)
    var stack = outputs.map { output -> Int in
      guard let index = outputNodes[output] else {
        preconditionFailure("the network has no \(output) output")
      }
      return index
    }
    while let index = stack.popLast() {
      guard index >= 0, !needed[index] else { continue }
      needed[index] = true
      stack.append(contentsOf: nodes[index].inputs)
    }
    neededCache[outputs] = needed
    return needed
  }

  /// Makes the activation buffers hold `batch` images, allocating only when it grows: one
  /// arena, in which tensors that are never alive at the same time share memory (`MemoryPlan`).
  private func plan(batch: Int) {
    guard batch > plannedBatch else {
      for tensor in activations + activationGradients + Array(fanOutScratch.values) {
        tensor.resize(batch: batch)
      }
      return
    }
    let nodeShapes = shapes(batch: batch)
    let always = 0...(2 * nodes.count)
    let (forward, backward, scratch) = lifetimes()
    let lifetimes = forward + backward.map { $0 ?? always } + scratch.map { $0 ?? always }
    let counts = nodeShapes.map(\.count)
    let wanted = counts + counts + zip(counts, scratch).map { $1 == nil ? 0 : $0 }
    let plan = MemoryPlan(
      zip(wanted, lifetimes).map { .init(count: $0, lifetime: reusesMemory ? $1 : always) })
    let arena = Arena(count: plan.size)
    func view(_ k: Int) -> Tensor {
      Tensor(shape: nodeShapes[k % nodes.count], in: arena, at: plan.offsets[k])
    }
    activations = nodes.indices.map(view)
    activationGradients = nodes.indices.map { view(nodes.count + $0) }
    fanOutScratch = [:]
    for (i, lifetime) in scratch.enumerated() where lifetime != nil {
      fanOutScratch[i] = view(2 * nodes.count + i)
    }
    plannedBytes = plan.size * MemoryLayout<Float>.stride
    plannedBatch = batch
  }
}
