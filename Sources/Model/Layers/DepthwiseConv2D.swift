/// Depthwise convolution: every channel convolved with its own k×k filter (the spatial half
/// of a depthwise-separable convolution, MobileNets, Howard et al. 2017; Sandler et al. 2018).
///
/// Weight layout `[channels, 1, kernel, kernel]` (PyTorch's `groups = channels`), optional bias
/// `[channels]`. With one input channel per filter there is no matrix to hand to BLAS; each
/// plane is instead copied into zero-padded `PhasePlanes`, where every tap is one long
/// vectorisable loop at a constant offset (whole planes per tap, not rows per tap).
public final class DepthwiseConv2D: Layer {
  public let name: String
  public let channels: Int
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  public let hasBias: Bool

  private var weight: UnsafeMutablePointer<Float>!
  private var bias: UnsafeMutablePointer<Float>?
  private var weightGradient: UnsafeMutablePointer<Float>!
  private var biasGradient: UnsafeMutablePointer<Float>?
  private let phasePlanes = Scratch()
  private let phasePlaneGradients = Scratch()
  private let flatOutput = Scratch()

  /// `padding` defaults to `kernelSize / 2`.
  public var settings: [String: Any] {
    [
      "in_channels": channels, "out_channels": channels, "groups": channels, "kernel_size": kernelSize,
      "stride": stride, "padding": padding, "bias": hasBias,
    ]
  }

  public init(
    name: String, channels: Int, kernelSize: Int = 3, stride: Int = 1, padding: Int? = nil, bias: Bool = false
  ) {
    let padding = padding ?? kernelSize / 2
    precondition(channels > 0 && kernelSize > 0 && stride > 0)
    precondition(padding >= 0 && padding < kernelSize, "padding must be in 0..<kernelSize")
    self.name = name
    self.channels = channels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    hasBias = bias
  }

  private var taps: Int { kernelSize * kernelSize }

  public var parameterSpecs: [ParameterSpec] {
    let initialization = Initialization.uniformFanIn(fanIn: taps)
    return [
      ParameterSpec(
        name: "weight", shape: [channels, 1, kernelSize, kernelSize], initialization: initialization)
    ] + (hasBias ? [ParameterSpec(name: "bias", shape: [channels], initialization: initialization)] : [])
  }

  public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
    weight = parameters
    weightGradient = gradients
    if hasBias {
      bias = parameters + channels * taps
      biasGradient = gradients + channels * taps
    }
  }

  public var backwardReads: BackwardReads { .input }
  public func outputShape(for input: Shape) -> Shape {
    precondition(input.channels == channels, "\(name): expected \(channels) channels, got \(input)")
    return input.windowed(kernel: kernelSize, stride: stride, padding: padding, layer: name)
  }

  public func forwardFLOPs(for input: Shape) -> Int { outputShape(for: input.with(batch: 1)).perImage * taps }

  private func phases(_ input: Shape, _ output: Shape) -> PhasePlanes {
    PhasePlanes(
      ConvolutionGeometry(
        channels: 1, height: input.height, width: input.width, outputHeight: output.height,
        outputWidth: output.width, kernel: kernelSize, stride: stride, padding: padding))
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let p = phases(input.shape, output.shape)
    let (inPlane, outPlane) = (input.shape.plane, output.shape.plane)
    let offsets = p.tapOffsets
    let planes = phasePlanes.reserve(p.count)
    let flat = flatOutput.reserve(p.outputCount)
    for n in 0..<input.shape.batch {
      for c in 0..<channels {
        p.fill(planes, from: input.image(n) + c * inPlane)
        flat.update(repeating: bias?[c] ?? 0, count: p.outputCount)
        let w = weight + c * taps
        for t in 0..<taps {
          let (source, k) = (planes + offsets[t], w[t])
          for i in 0..<p.outputCount { flat[i] += k * source[i] }
        }
        p.extract(flat, into: output.image(n) + c * outPlane)
      }
    }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    let p = phases(input.shape, output.shape)
    let (inPlane, outPlane) = (input.shape.plane, output.shape.plane)
    let offsets = p.tapOffsets
    let planes = phasePlanes.reserve(p.count)
    let planeGradients = phasePlaneGradients.reserve(p.count)
    let flat = flatOutput.reserve(p.outputCount)
    for n in 0..<input.shape.batch {
      for c in 0..<channels {
        let dy = outputGradient.image(n) + c * outPlane
        if let biasGradient { biasGradient[c] += Reductions.sum(dy, count: outPlane) }
        p.fill(planes, from: input.image(n) + c * inPlane)
        p.spread(dy, into: flat)
        let (w, dw) = (weight + c * taps, weightGradient + c * taps)
        for t in 0..<taps { dw[t] += Reductions.dot(flat, planes + offsets[t], count: p.outputCount) }
        guard let inputGradient else { continue }
        planeGradients.update(repeating: 0, count: p.count)
        for t in 0..<taps {
          let (target, k) = (planeGradients + offsets[t], w[t])
          for i in 0..<p.outputCount { target[i] += k * flat[i] }
        }
        p.gather(planeGradients, into: inputGradient.image(n) + c * inPlane)
      }
    }
  }
}
