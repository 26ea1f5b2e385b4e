import PRNG

/// A feed-forward chain of layers with its parameters in one arena and its gradients in a
/// mirror arena; activations and their gradients are planned once per batch size.
///
/// Lifecycle of a step: `zeroGradients()`, `forward(_:)`, loss, `backward(input:logitsGradient:)`,
/// then the caller syncs `gradients` and updates `parameters`.
public final class Network {
  public let layers: [Layer]
  /// The shape of one input image (batch 1).
  public let inputShape: Shape
  public let layout: ParameterLayout
  public let parameters: Arena
  public let gradients: Arena

  private var outputs: [Tensor] = []
  private var outputGradients: [Tensor] = []
  private var plannedBatch = 0

  /// Builds the arenas from the layers' parameter specs, in layer order.
  public init(layers: [Layer], channels: Int, height: Int, width: Int) {
    self.layers = layers
    inputShape = Shape(batch: 1, channels: channels, height: height, width: width)
    var layout = ParameterLayout()
    var offsets: [Int] = []
    for layer in layers {
      offsets.append(layout.count)
      for spec in layer.parameterSpecs {
        layout.append(name: "\(layer.name).\(spec.name)", shape: spec.shape)
      }
    }
    self.layout = layout
    parameters = Arena(count: layout.count)
    gradients = Arena(count: layout.count)
    for (layer, offset) in zip(layers, offsets) {
      layer.bind(parameters: parameters.base + offset, gradients: gradients.base + offset)
    }
    _ = shapes(batch: 1)  // Traps now, not mid-training, on layers that do not fit together.
  }

  /// The output shape of every layer for a batch of `batch` images.
  public func shapes(batch: Int) -> [Shape] {
    var shape = inputShape.with(batch: batch)
    return layers.map { layer in
      shape = layer.outputShape(for: shape)
      return shape
    }
  }

  /// Fills every parameter according to its layer's initialisation, from `seed`.
  public func initializeParameters(seed: UInt64) {
    var rng = Xoshiro256(seed: seed, stream: [0x1A17])
    var offset = 0
    for layer in layers {
      for spec in layer.parameterSpecs {
        let count = spec.shape.reduce(1, *)
        spec.initialization.fill(
          UnsafeMutableBufferPointer(start: parameters.base + offset, count: count), using: &rng)
        offset += count
      }
    }
  }

  /// The values of the parameter tensor `name` (`fc.bias`), a view into the arena.
  public func parameter(named name: String) -> UnsafeMutableBufferPointer<Float>? {
    guard let entry = layout.entries.first(where: { $0.name == name }) else { return nil }
    return UnsafeMutableBufferPointer(start: parameters.base + entry.offset, count: entry.count)
  }

  /// Multiply–adds of one forward pass for one image.
  public var forwardFLOPsPerImage: Int {
    var shape = inputShape
    return layers.reduce(0) { total, layer in
      defer { shape = layer.outputShape(for: shape) }
      return total + layer.forwardFLOPs(for: shape)
    }
  }

  public func zeroGradients() { gradients.zero() }

  /// Runs every layer on `input` and returns the last layer's output (owned by the network,
  /// valid until the next forward).
  @discardableResult
  public func forward(_ input: Tensor) -> Tensor {
    plan(batch: input.shape.batch)
    var x = input
    for (layer, y) in zip(layers, outputs) {
      layer.forward(x, into: y)
      x = y
    }
    return x
  }

  /// The output of layer `index` in the last `forward` (owned by the network, valid until the
  /// next forward); `layers.count - 2` is the feature vector the classifier reads.
  public func activation(ofLayer index: Int) -> Tensor { outputs[index] }

  /// Back-propagates `logitsGradient` (the loss gradient w.r.t. the last output) through every
  /// layer of the last `forward(input)`, accumulating into `gradients`. The gradient w.r.t.
  /// the input is computed only when `inputGradient` is given (training never needs it).
  public func backward(input: Tensor, logitsGradient: Tensor, inputGradient: Tensor? = nil) {
    precondition(logitsGradient.shape == outputs.last!.shape, "logits gradient has the wrong shape")
    var dy = logitsGradient
    for i in stride(from: layers.count - 1, through: 0, by: -1) {
      let x = i == 0 ? input : outputs[i - 1]
      let dx: Tensor? = i == 0 ? inputGradient : outputGradients[i - 1]
      layers[i].backward(input: x, output: outputs[i], outputGradient: dy, inputGradient: dx)
      if let dx { dy = dx }
    }
  }

  /// Makes the activation buffers hold `batch` images, allocating only when it grows.
  private func plan(batch: Int) {
    let layerShapes = shapes(batch: batch)
    if batch > plannedBatch {
      outputs = layerShapes.map { Tensor(shape: $0) }
      outputGradients = layerShapes.map { Tensor(shape: $0) }
      plannedBatch = batch
    } else {
      for (tensor, gradient) in zip(outputs, outputGradients) {
        tensor.resize(batch: batch)
        gradient.resize(batch: batch)
      }
    }
  }
}
