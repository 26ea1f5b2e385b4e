/// Assembles a `Network` node by node, tracking every node's shape so that an architecture
/// can size the next layer (channels, the output padding that matches a skip connection) and
/// a mismatch traps where the model is defined.
public final class NetworkBuilder {
  /// The network input, as a node index.
  public static let input = -1
  /// The part the next nodes belong to.
  public var part = ModelPart.encoder
  public let inputShape: Shape
  private var nodes: [Network.Node] = []
  private var outputs: [NetworkOutput: Int] = [:]
  /// The layer whose outputs are the class scores (its bias shifts every logit).
  public var classifier: Int?

  public init(channels: Int, height: Int, width: Int) {
    inputShape = Shape(batch: 1, channels: channels, height: height, width: width)
  }

  /// The most recently added node (the input before any).
  public var last: Int { nodes.count - 1 }

  public func shape(of node: Int) -> Shape { node < 0 ? inputShape : nodes[node].shape }

  /// Adds `layer` reading `input` (default: the last node) and returns its node.
  @discardableResult
  public func add(_ layer: Layer, after input: Int? = nil) -> Int {
    let source = input ?? last
    nodes.append(
      Network.Node(
        operation: .layer(layer), inputs: [source], part: part,
        shape: layer.outputShape(for: shape(of: source))))
    return last
  }

  /// Adds `merge` reading `inputs` and returns its node.
  @discardableResult
  public func merge(_ merge: MergeLayer, _ inputs: [Int]) -> Int {
    nodes.append(
      Network.Node(
        operation: .merge(merge), inputs: inputs, part: part,
        shape: merge.outputShape(for: inputs.map(shape(of:)))))
    return last
  }

  public func output(_ output: NetworkOutput, _ node: Int) { outputs[output] = node }

  public func build() -> Network { Network(self) }

  fileprivate var result: (nodes: [Network.Node], outputs: [NetworkOutput: Int]) { (nodes, outputs) }
}

extension Network {
  public convenience init(_ builder: NetworkBuilder) {
    self.init(
      nodes: builder.result.nodes, outputs: builder.result.outputs, inputShape: builder.inputShape,
      classifier: builder.classifier)
  }
}
