import Foundation
import Loader
import Model
import ONNX
import SwiftProtobuf

/// A classifier as an ONNX model (IR version 7, opset 13; operators as https://onnx.ai/onnx/operators/
/// define them): input `pixels`, uint8 (N, C, H, W) as the dataset's records, standardised inside
/// the graph; output `logits`, float (N, classes); every layer on the logits' path as ONNX
/// operators with its parameters and buffers as initializers.
public struct ONNXClassifier {
  public static let opset: Int64 = 13
  public static let irVersion: Int64 = 7
  public static let inputName = "pixels"
  public static let outputName = "logits"

  public let model: Onnx_ModelProto

  /// The network's logits in inference mode (batch norm by its running statistics, dropout off),
  /// `metadata` as the model's metadata properties.
  public init(network: Network, normalization: Normalization, metadata: [String: String]) throws {
    var graph = GraphWriter(
      tensors: Dictionary(uniqueKeysWithValues: ModelCheckpoint.make(network).entries.map { ($0.name, $0) }))
    let image = network.inputShape
    let input = graph.standardize(Self.inputName, normalization: normalization)
    let needed = network.neededNodes([.logits])
    var names: [Int: String] = [:]
    for (index, node) in network.nodes.enumerated() where needed[index] {
      let inputs = node.inputs.map { $0 < 0 ? input : names[$0]! }
      names[index] = try graph.add(node.operation, inputs: inputs, inputShape: network.inputShape(of: index))
    }
    let logits = names[network.outputNodes[.logits]!]!
    graph.node("Flatten", [logits], Self.outputName, ["axis": .int(1)])

    var proto = Onnx_GraphProto()
    proto.name = "imbal-dist classifier"
    proto.node = graph.nodes
    proto.initializer = graph.initializers
    proto.input = [
      Self.valueInfo(
        Self.inputName, type: .uint8,
        dimensions: [.parameter("batch"), .value(image.channels), .value(image.height), .value(image.width)])
    ]
    let classes = network.nodes[network.outputNodes[.logits]!].shape.perImage
    proto.output = [
      Self.valueInfo(Self.outputName, type: .float, dimensions: [.parameter("batch"), .value(classes)])
    ]
    var model = Onnx_ModelProto()
    model.irVersion = Self.irVersion
    model.producerName = "imbal-dist"
    model.producerVersion = imbalDistVersion
    model.opsetImport = [
      Onnx_OperatorSetIdProto.with {
        $0.domain = ""
        $0.version = Self.opset
      }
    ]
    model.docString =
      "Input `pixels`: uint8 (N, C, H, W), planar, as the dataset's records; the graph computes (pixels / 255 - mean[c]) / std[c]. Output `logits`: (N, classes), in the order of metadata `class_names`."
    model.metadataProps = metadata.sorted { $0.key < $1.key }.map { key, value in
      Onnx_StringStringEntryProto.with {
        $0.key = key
        $0.value = value
      }
    }
    model.graph = proto
    self.model = model
  }

  public func serialized() throws -> Data { try model.serializedData() }

  enum Dimension {
    case value(Int)
    case parameter(String)
  }

  static func valueInfo(_ name: String, type: Onnx_TensorProto.DataType, dimensions: [Dimension])
    -> Onnx_ValueInfoProto
  {
    var tensor = Onnx_TypeProto.Tensor()
    tensor.elemType = Int32(type.rawValue)
    tensor.shape.dim = dimensions.map { dimension in
      var proto = Onnx_TensorShapeProto.Dimension()
      switch dimension {
      case .value(let value): proto.dimValue = Int64(value)
      case .parameter(let name): proto.dimParam = name
      }
      return proto
    }
    var info = Onnx_ValueInfoProto()
    info.name = name
    info.type.tensorType = tensor
    return info
  }
}

/// An ONNX operator's attribute value.
enum ONNXAttribute {
  case int(Int64)
  case ints([Int64])
  case float(Float)
}

/// Collects a graph's nodes and initializers, each layer of the network as the operators that
/// compute it.
private struct GraphWriter {
  let tensors: [String: SafeTensors.Entry]
  var nodes: [Onnx_NodeProto] = []
  var initializers: [Onnx_TensorProto] = []

  init(tensors: [String: SafeTensors.Entry]) { self.tensors = tensors }

  mutating func node(
    _ operation: String, _ inputs: [String], _ output: String, _ attributes: [String: ONNXAttribute] = [:]
  ) {
    var node = Onnx_NodeProto()
    node.opType = operation
    node.name = output
    node.input = inputs
    node.output = [output]
    node.attribute = attributes.sorted { $0.key < $1.key }.map { name, value in
      var attribute = Onnx_AttributeProto()
      attribute.name = name
      switch value {
      case .int(let i):
        attribute.type = .int
        attribute.i = i
      case .ints(let ints):
        attribute.type = .ints
        attribute.ints = ints
      case .float(let f):
        attribute.type = .float
        attribute.f = f
      }
      return attribute
    }
    nodes.append(node)
  }

  /// A float initializer; returns its name.
  @discardableResult
  mutating func constant(_ name: String, shape: [Int], _ values: [Float]) -> String {
    var tensor = Onnx_TensorProto()
    tensor.name = name
    tensor.dims = shape.map(Int64.init)
    tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    tensor.floatData = values
    initializers.append(tensor)
    return name
  }

  mutating func integerConstant(_ name: String, _ values: [Int64]) -> String {
    var tensor = Onnx_TensorProto()
    tensor.name = name
    tensor.dims = [Int64(values.count)]
    tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
    tensor.int64Data = values
    initializers.append(tensor)
    return name
  }

  /// The layer's tensor `suffix` (`weight`) as an initializer under its checkpoint name.
  mutating func parameter(_ layer: Layer, _ suffix: String) -> String {
    let entry = tensors["\(layer.name).\(suffix)"]!
    return constant(entry.name, shape: entry.shape, entry.values)
  }

  /// `pixels` (uint8) as the network's input: `(pixels / 255 − mean[c]) / std[c]`.
  mutating func standardize(_ pixels: String, normalization: Normalization) -> String {
    let channels = normalization.mean.count
    node("Cast", [pixels], "pixels.float", ["to": .int(Int64(Onnx_TensorProto.DataType.float.rawValue))])
    node("Div", ["pixels.float", constant("pixels.scale", shape: [], [255])], "pixels.unit")
    node(
      "Sub", ["pixels.unit", constant("pixels.mean", shape: [1, channels, 1, 1], normalization.mean)],
      "pixels.centred")
    node(
      "Div", ["pixels.centred", constant("pixels.std", shape: [1, channels, 1, 1], normalization.std)],
      "input")
    return "input"
  }

  /// Adds the operators of one network node; returns the name of its output.
  mutating func add(_ operation: Network.Operation, inputs: [String], inputShape: Shape) throws -> String {
    let name = operation.name
    switch operation {
    case .merge(let merge):
      switch merge {
      case let add as Add:
        let linear = preActivation(name, add.activationCap)
        node("Sum", inputs, linear)
        activation(add.activationCap, linear, name)
      case is Concat: node("Concat", inputs, name, ["axis": .int(1)])
      default: throw CheckpointError.notExportable(layer: name, kind: String(describing: type(of: merge)))
      }
      return name
    case .layer(let layer):
      try add(layer, input: inputs[0], inputShape: inputShape)
      return name
    }
  }

  private mutating func add(_ layer: Layer, input: String, inputShape: Shape) throws {
    let name = layer.name
    switch layer {
    case let conv as Conv2D:
      let linear = preActivation(name, conv.activationCap)
      convolution(
        layer, input: input, kernel: conv.kernelSize, stride: conv.stride, padding: conv.padding, groups: 1,
        bias: conv.hasBias, output: linear)
      activation(conv.activationCap, linear, name)
    case let conv as DepthwiseConv2D:
      convolution(
        layer, input: input, kernel: conv.kernelSize, stride: conv.stride, padding: conv.padding,
        groups: conv.channels, bias: conv.hasBias, output: name)
    case let norm as BatchNorm2D:
      let inputs = [input] + ["weight", "bias", "running_mean", "running_var"].map { parameter(layer, $0) }
      let linear = preActivation(name, norm.activationCap)
      node("BatchNormalization", inputs, linear, ["epsilon": .float(Float(norm.epsilon))])
      activation(norm.activationCap, linear, name)
    case let relu as ReLU:
      activation(relu.cap, input, name)
    case let pool as MaxPool2D:
      node("MaxPool", [input], name, pooling(pool.size, pool.stride))
    case let pool as AvgPool2D:
      node("AveragePool", [input], name, pooling(pool.size, pool.stride))
    case is GlobalAvgPool:
      node("GlobalAveragePool", [input], name)
    case is Dense:
      node("Flatten", [input], "\(name).flat", ["axis": .int(1)])
      node(
        "Gemm", ["\(name).flat", parameter(layer, "weight"), parameter(layer, "bias")], name,
        ["transB": .int(1)])
    case let dense as CosineDense:
      cosine(dense, input: input)
    case let shortcut as IdentityShortcut:
      identityShortcut(shortcut, input: input, channels: inputShape.channels)
    case is Dropout:
      node("Identity", [input], name)
    case is Sigmoid:
      node("Sigmoid", [input], name)
    case is Tanh:
      node("Tanh", [input], name)
    default:
      throw CheckpointError.notExportable(layer: name, kind: String(describing: type(of: layer)))
    }
  }

  private mutating func convolution(
    _ layer: Layer, input: String, kernel: Int, stride: Int, padding: Int, groups: Int, bias: Bool,
    output: String
  ) {
    let inputs = [input, parameter(layer, "weight")] + (bias ? [parameter(layer, "bias")] : [])
    node(
      "Conv", inputs, output,
      [
        "kernel_shape": .ints([Int64(kernel), Int64(kernel)]),
        "strides": .ints([Int64(stride), Int64(stride)]),
        "pads": .ints(Array(repeating: Int64(padding), count: 4)), "group": .int(Int64(groups)),
      ])
  }

  private func pooling(_ size: Int, _ stride: Int) -> [String: ONNXAttribute] {
    ["kernel_shape": .ints([Int64(size), Int64(size)]), "strides": .ints([Int64(stride), Int64(stride)])]
  }

  /// Where a layer with a fused activation writes before it: its own name when there is none.
  private func preActivation(_ name: String, _ cap: Float?) -> String { cap == nil ? name : "\(name).linear" }

  /// A fused activation: none (nothing added), ReLU (`cap` infinite) or min(max(x, 0), cap).
  private mutating func activation(_ cap: Float?, _ input: String, _ output: String) {
    guard let cap else { return }
    if cap == .infinity { return node("Relu", [input], output) }
    let bounds = [constant("\(output).min", shape: [], [0]), constant("\(output).max", shape: [], [cap])]
    node("Clip", [input] + bounds, output)
  }

  /// `x / max(‖x‖, 1e-12)` times the row-normalised weight, transposed: CosineDense's cosines.
  private mutating func cosine(_ dense: CosineDense, input: String) {
    let name = dense.name
    let weight = tensors["\(name).weight"]!
    let (rows, width) = (dense.outputFeatures, dense.inputFeatures)
    var transposed = [Float](repeating: 0, count: rows * width)
    for r in 0..<rows {
      let row = weight.values[(r * width)..<((r + 1) * width)]
      let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
      for (i, value) in row.enumerated() { transposed[i * rows + r] = value / norm }
    }
    node("Flatten", [input], "\(name).flat", ["axis": .int(1)])
    node("ReduceL2", ["\(name).flat"], "\(name).norm", ["axes": .ints([1]), "keepdims": .int(1)])
    node("Max", ["\(name).norm", constant("\(name).epsilon", shape: [], [1e-12])], "\(name).safe_norm")
    node("Div", ["\(name).flat", "\(name).safe_norm"], "\(name).unit")
    node(
      "MatMul", ["\(name).unit", constant("\(name).unit_weight_t", shape: [width, rows], transposed)], name)
  }

  /// Every `stride`-th row and column, then zero channels up to `outputChannels` (ResNet's
  /// option-A shortcut).
  private mutating func identityShortcut(_ shortcut: IdentityShortcut, input: String, channels: Int) {
    let name = shortcut.name
    var current = input
    if shortcut.stride > 1 {
      let s = Int64(shortcut.stride)
      node(
        "Slice",
        [
          current, integerConstant("\(name).starts", [0, 0]), integerConstant("\(name).ends", [.max, .max]),
          integerConstant("\(name).axes", [2, 3]), integerConstant("\(name).steps", [s, s]),
        ], "\(name).strided")
      current = "\(name).strided"
    }
    // ONNX pads: the begin of each axis, then the end of each; the new channels come last.
    let pads: [Int64] = [0, 0, 0, 0, 0, Int64(shortcut.outputChannels - channels), 0, 0]
    node("Pad", [current, integerConstant("\(name).pads", pads)], name)
  }
}
