import CBLAS

/// Transposed convolution (the adjoint of `Conv2D`, "deconvolution"), the learned upsampling
/// of the decoders: output size `(H − 1)·stride − 2·padding + kernel + outputPadding`.
///
/// Weight layout `[inputChannels, outputChannels, kernel, kernel]` (PyTorch's `ConvTranspose2d`),
/// bias `[outputChannels]`. Per image: `col[Co·k·k, H·W] = Wᵀ · x`, `y = col2im(col) + b`;
/// backward: `dW += x · im2col(dy)ᵀ`, `db += Σ dy`, `dx = W · im2col(dy)`.
public final class ConvTranspose2D: Layer {
  public let name: String
  public let inputChannels: Int
  public let outputChannels: Int
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  /// Extra rows and columns at the bottom/right, to reach an exact target size (< stride).
  public let outputPadding: Int

  private var weight: UnsafeMutablePointer<Float>!
  private var bias: UnsafeMutablePointer<Float>!
  private var weightGradient: UnsafeMutablePointer<Float>!
  private var biasGradient: UnsafeMutablePointer<Float>!
  private let columns = Scratch()

  public var settings: [String: Any] {
    [
      "in_channels": inputChannels, "out_channels": outputChannels, "kernel_size": kernelSize,
      "stride": stride,
      "padding": padding, "output_padding": outputPadding,
    ]
  }

  public init(
    name: String, inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int, padding: Int = 0,
    outputPadding: Int = 0
  ) {
    precondition(inputChannels > 0 && outputChannels > 0 && kernelSize > 0 && stride > 0)
    precondition(padding >= 0 && padding < kernelSize, "padding must be in 0..<kernelSize")
    precondition(outputPadding >= 0 && outputPadding < stride, "output padding must be in 0..<stride")
    self.name = name
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    self.outputPadding = outputPadding
  }

  /// The output padding that makes an input of `size` come out as `target`, or `nil` if no
  /// output padding in `0..<stride` does.
  public static func outputPadding(from size: Int, to target: Int, kernelSize: Int, stride: Int, padding: Int)
    -> Int?
  {
    let extra = target - ((size - 1) * stride - 2 * padding + kernelSize)
    return (0..<stride).contains(extra) ? extra : nil
  }

  private var rowsPerPixel: Int { outputChannels * kernelSize * kernelSize }

  public var parameterSpecs: [ParameterSpec] {
    // PyTorch's fan-in of a transposed convolution's (in, out, k, k) weight: out · k².
    let initialization = Initialization.uniformFanIn(fanIn: rowsPerPixel)
    return [
      ParameterSpec(
        name: "weight", shape: [inputChannels, outputChannels, kernelSize, kernelSize],
        initialization: initialization),
      ParameterSpec(name: "bias", shape: [outputChannels], initialization: initialization),
    ]
  }

  public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
    weight = parameters
    bias = parameters + inputChannels * rowsPerPixel
    weightGradient = gradients
    biasGradient = gradients + inputChannels * rowsPerPixel
  }

  public var backwardReads: BackwardReads { .input }
  public func outputShape(for input: Shape) -> Shape {
    precondition(input.channels == inputChannels, "\(name): expected \(inputChannels) channels, got \(input)")
    let height = (input.height - 1) * stride - 2 * padding + kernelSize + outputPadding
    let width = (input.width - 1) * stride - 2 * padding + kernelSize + outputPadding
    precondition(height > 0 && width > 0, "\(name): input \(input) gives an empty output")
    return Shape(batch: input.batch, channels: outputChannels, height: height, width: width)
  }

  public func forwardFLOPs(for input: Shape) -> Int { input.plane * inputChannels * rowsPerPixel }

  /// The convolution whose adjoint this layer is: it reads the output and gives the input size.
  private func geometry(_ input: Shape, _ output: Shape) -> ConvolutionGeometry {
    ConvolutionGeometry(
      channels: outputChannels, height: output.height, width: output.width, outputHeight: input.height,
      outputWidth: input.width, kernel: kernelSize, stride: stride, padding: padding)
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let g = geometry(input.shape, output.shape)
    let pixels = input.shape.plane
    let outPixels = output.shape.plane
    let col = columns.reserve(rowsPerPixel * pixels)
    for n in 0..<input.shape.batch {
      cblas_sgemm(
        CblasRowMajor, CblasTrans, CblasNoTrans,
        Int32(rowsPerPixel), Int32(pixels), Int32(inputChannels),
        1, weight, Int32(rowsPerPixel), input.image(n), Int32(pixels),
        0, col, Int32(pixels))
      let y = output.image(n)
      g.col2im(col, into: y)
      for c in 0..<outputChannels {
        let plane = y + c * outPixels
        for p in 0..<outPixels { plane[p] += bias[c] }
      }
    }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    let g = geometry(input.shape, output.shape)
    let pixels = input.shape.plane
    let outPixels = output.shape.plane
    let col = columns.reserve(rowsPerPixel * pixels)
    for n in 0..<input.shape.batch {
      let dy = outputGradient.image(n)
      Reductions.accumulateChannelSums(
        dy, images: 1, channels: outputChannels, plane: outPixels, into: biasGradient)
      g.im2col(dy, into: col)
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans,
        Int32(inputChannels), Int32(rowsPerPixel), Int32(pixels),
        1, input.image(n), Int32(pixels), col, Int32(pixels),
        1, weightGradient, Int32(rowsPerPixel))
      guard let dx = inputGradient else { continue }
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans,
        Int32(inputChannels), Int32(pixels), Int32(rowsPerPixel),
        1, weight, Int32(rowsPerPixel), col, Int32(pixels),
        0, dx.image(n), Int32(pixels))
    }
  }
}
