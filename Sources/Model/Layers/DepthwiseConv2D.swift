/// Depthwise convolution: every channel convolved with its own k×k filter (the spatial half
/// of a depthwise-separable convolution, MobileNets, Howard et al. 2017; Sandler et al. 2018).
///
/// Weight layout `[channels, 1, kernel, kernel]` (PyTorch's `groups = channels`), optional bias
/// `[channels]`. Direct loops: with one input channel per filter there is no matrix to hand to
/// BLAS, and the cost is only `k²` multiply–adds per output element.
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

  /// `padding` defaults to `kernelSize / 2`.
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
    [
      ParameterSpec(
        name: "weight", shape: [channels, 1, kernelSize, kernelSize], initialization: .heNormal(fanIn: taps))
    ] + (hasBias ? [ParameterSpec(name: "bias", shape: [channels], initialization: .zeros)] : [])
  }

  public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
    weight = parameters
    weightGradient = gradients
    if hasBias {
      bias = parameters + channels * taps
      biasGradient = gradients + channels * taps
    }
  }

  public func outputShape(for input: Shape) -> Shape {
    precondition(input.channels == channels, "\(name): expected \(channels) channels, got \(input)")
    return input.windowed(kernel: kernelSize, stride: stride, padding: padding, layer: name)
  }

  public func forwardFLOPs(for input: Shape) -> Int { outputShape(for: input.with(batch: 1)).perImage * taps }

  /// The geometry of one plane (one channel at a time).
  private func geometry(_ input: Shape, _ output: Shape) -> ConvolutionGeometry {
    ConvolutionGeometry(
      channels: 1, height: input.height, width: input.width, outputHeight: output.height,
      outputWidth: output.width, kernel: kernelSize, stride: stride, padding: padding)
  }

  /// Calls `body(tap, inputRow, outputRowOffset, validColumns)` for every kernel tap and
  /// every output row whose input row lies inside the plane.
  @inline(__always)
  private func forEachTap(
    _ g: ConvolutionGeometry,
    _ body: (_ tap: Int, _ inputOffset: Int, _ outputOffset: Int, _ valid: Range<Int>) -> Void
  ) {
    for ky in 0..<kernelSize {
      for kx in 0..<kernelSize {
        let valid = g.validColumns(kx: kx)
        guard !valid.isEmpty else { continue }
        for oy in 0..<g.outputHeight {
          let iy = oy * stride - padding + ky
          guard iy >= 0 && iy < g.height else { continue }
          body(ky * kernelSize + kx, iy * g.width - padding + kx, oy * g.outputWidth, valid)
        }
      }
    }
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let g = geometry(input.shape, output.shape)
    let (inPlane, outPlane) = (input.shape.plane, output.shape.plane)
    for n in 0..<input.shape.batch {
      for c in 0..<channels {
        let x = input.image(n) + c * inPlane
        let y = output.image(n) + c * outPlane
        y.update(repeating: bias?[c] ?? 0, count: outPlane)
        let w = weight + c * taps
        forEachTap(g) { tap, inputOffset, outputOffset, valid in
          let (source, target, k) = (x + inputOffset, y + outputOffset, w[tap])
          for ox in valid { target[ox] += k * source[ox * stride] }
        }
      }
    }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    let g = geometry(input.shape, output.shape)
    let (inPlane, outPlane) = (input.shape.plane, output.shape.plane)
    for n in 0..<input.shape.batch {
      for c in 0..<channels {
        let x = input.image(n) + c * inPlane
        let dy = outputGradient.image(n) + c * outPlane
        if let biasGradient { biasGradient[c] += Reductions.sum(dy, count: outPlane) }
        let (w, dw) = (weight + c * taps, weightGradient + c * taps)
        let dx = inputGradient.map { $0.image(n) + c * inPlane }
        dx?.update(repeating: 0, count: inPlane)
        forEachTap(g) { tap, inputOffset, outputOffset, valid in
          let (source, gradient) = (x + inputOffset, dy + outputOffset)
          var sum: Float = 0
          for ox in valid { sum += gradient[ox] * source[ox * stride] }
          dw[tap] += sum
          if let dx {
            let (target, k) = (dx + inputOffset, w[tap])
            for ox in valid { target[ox * stride] += k * gradient[ox] }
          }
        }
      }
    }
  }
}
