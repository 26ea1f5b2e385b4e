import CBLAS

/// How a `Conv2D` turns its convolution into matrix products.
public enum ConvolutionLowering: String, Sendable {
  /// im2col + sgemm (Chellapilla et al. 2006), small planes several images to a product:
  /// any kernel, stride and padding.
  case im2col
  /// Winograd F(4×4, 3×3) (Lavin & Gray 2016): 3×3 stride 1 "same" only, 4× fewer multiplies.
  case winograd
  /// 1×1, stride 1, unpadded: no im2col (its columns are the input), small images several
  /// to an sgemm (`PointwiseConvolution`).
  case pointwise
}

/// 2-D convolution (cross-correlation, as in every framework) lowered to `cblas_sgemm`
/// through im2col (Chellapilla et al. 2006); k×k with any stride and padding.
///
/// Weight layout `[outputChannels, inputChannels, kernel, kernel]` (PyTorch's), bias
/// `[outputChannels]` unless `bias: false` (before batch norm, whose β replaces it). Per chunk
/// of images (`ColumnLowering`, about `columnsPerChunk` columns):
/// `col[C·k·k, images·Ho·Wo] = im2col(x)`, `y = W · col + b`; backward: `dW += dy · colᵀ`,
/// `db += Σ dy`, `dx = col2im(Wᵀ · dy)`. 3×3 stride-1 "same" layers with enough channels to
/// fill the products go through `WinogradConvolution` instead, 1×1 stride-1 layers through
/// `PointwiseConvolution`. A fused ReLU clamps the output
/// in the same pass and masks `dy` from it (the no-BN small CNN saves a pass over each activation).
public final class Conv2D: Layer {
  public let name: String
  public let inputChannels: Int
  public let outputChannels: Int
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  public let hasBias: Bool
  public let lowering: ConvolutionLowering
  /// A fused ReLU (`.infinity`) or ReLU6 (`6`) on the output, as `BatchNorm2D(activationCap:)`.
  public let activationCap: Float?

  private var weight: UnsafeMutablePointer<Float>!
  private var bias: UnsafeMutablePointer<Float>?
  private var weightGradient: UnsafeMutablePointer<Float>!
  private var biasGradient: UnsafeMutablePointer<Float>?
  private let columns = Scratch()
  private let productColumns = Scratch()
  private let inputColumns = Scratch()
  private let phaseScratch = Scratch()
  private let transposedWeights = Scratch()
  private let maskedGradient = Scratch()
  private let winograd: WinogradConvolution?
  private let pointwise: PointwiseConvolution?

  /// Fewest input and output channels for Winograd: its 36 products have an inner dimension
  /// of `Cin` and `Cout` rows, too thin for sgemm on a first layer (`bench`: the small CNN's
  /// 1→32 conv1, 5.4 ms forward by F(2×2, 3×3) against 1.6 ms by im2col). At 16 channels
  /// F(4×4, 3×3) wins (ResNet-20's first stage at 32×32: 9.4–10.5 ms forward and 17.6–19.2
  /// backward, against 12.7–15.6 and 28.4–34.7 by im2col); fewer were not measured.
  static let winogradMinimumChannels = 16

  /// Output pixels an im2col sgemm is sized for: whole images, at least one, so the 14×14 and
  /// 7×7 planes of ResNet's stride-2 layers are several images to a product.
  static let columnsPerChunk = 1024

  /// `padding` defaults to `kernelSize / 2` ("same" size at stride 1); `lowering` defaults
  /// to Winograd where it applies and pays, pointwise for 1×1 stride-1 kernels, im2col elsewhere.
  public var settings: [String: Any] {
    [
      "in_channels": inputChannels, "out_channels": outputChannels, "kernel_size": kernelSize,
      "stride": stride,
      "padding": padding, "bias": hasBias, "activation": activationName(activationCap),
    ]
  }

  public init(
    name: String, inputChannels: Int, outputChannels: Int, kernelSize: Int = 3,
    stride: Int = 1, padding: Int? = nil, bias: Bool = true, lowering: ConvolutionLowering? = nil,
    activationCap: Float? = nil
  ) {
    let padding = padding ?? kernelSize / 2
    precondition(inputChannels > 0 && outputChannels > 0 && kernelSize > 0 && stride > 0)
    precondition(padding >= 0 && padding < kernelSize, "padding must be in 0..<kernelSize")
    self.name = name
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    hasBias = bias
    let winogradApplies = kernelSize == 3 && stride == 1 && padding == 1
    let winogradPays = min(inputChannels, outputChannels) >= Self.winogradMinimumChannels
    precondition(
      lowering != .winograd || winogradApplies, "\(name): Winograd needs a 3×3 stride-1 padding-1 kernel")
    let pointwiseApplies = kernelSize == 1 && stride == 1 && padding == 0
    precondition(lowering != .pointwise || pointwiseApplies, "\(name): pointwise needs a 1×1 stride-1 kernel")
    self.lowering =
      lowering ?? (winogradApplies && winogradPays ? .winograd : pointwiseApplies ? .pointwise : .im2col)
    self.activationCap = activationCap
    winograd =
      self.lowering == .winograd
      ? WinogradConvolution(inputChannels: inputChannels, outputChannels: outputChannels) : nil
    pointwise =
      self.lowering == .pointwise
      ? PointwiseConvolution(inputChannels: inputChannels, outputChannels: outputChannels) : nil
  }

  private var patchSize: Int { inputChannels * kernelSize * kernelSize }

  /// `bench` and `--describe` show the lowering; a Winograd layer's GFLOP/s are then those of
  /// the direct convolution it replaces.
  public var kind: String {
    (lowering == .im2col ? "Conv2D" : "Conv2D/\(lowering.rawValue)") + fusedActivationSuffix(activationCap)
  }

  public var parameterSpecs: [ParameterSpec] {
    let initialization = Initialization.uniformFanIn(fanIn: patchSize)
    return [
      ParameterSpec(
        name: "weight", shape: [outputChannels, inputChannels, kernelSize, kernelSize],
        initialization: initialization)
    ]
      + (hasBias
        ? [ParameterSpec(name: "bias", shape: [outputChannels], initialization: initialization)] : [])
  }

  public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
    weight = parameters
    weightGradient = gradients
    if hasBias {
      bias = parameters + outputChannels * patchSize
      biasGradient = gradients + outputChannels * patchSize
    }
  }

  public var backwardReads: BackwardReads { activationCap == nil ? .input : [.input, .output] }
  public func outputShape(for input: Shape) -> Shape {
    precondition(input.channels == inputChannels, "\(name): expected \(inputChannels) channels, got \(input)")
    return input.windowed(
      kernel: kernelSize, stride: stride, padding: padding, channels: outputChannels, layer: name)
  }

  public func forwardFLOPs(for input: Shape) -> Int {
    outputShape(for: input.with(batch: 1)).perImage * patchSize
  }

  private func geometry(_ input: Shape, _ output: Shape) -> ConvolutionGeometry {
    ConvolutionGeometry(
      channels: inputChannels, height: input.height, width: input.width, outputHeight: output.height,
      outputWidth: output.width, kernel: kernelSize, stride: stride, padding: padding)
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    if let winograd {
      winograd.forward(
        input.pointer, weights: weight, bias: bias, activationCap: activationCap, into: output.pointer,
        batch: input.shape.batch, height: input.shape.height, width: input.shape.width)
      return
    }
    if let pointwise {
      pointwise.forward(
        input.pointer, weights: weight, bias: bias, activationCap: activationCap, into: output.pointer,
        batch: input.shape.batch, plane: input.shape.plane)
      return
    }
    let lowered = columnLowering(input.shape, output.shape)
    let layout = lowered.layout
    for (first, images) in chunks(batch: input.shape.batch, columnsPerImage: layout.columns) {
      let width = images * layout.columns
      let col = lowered.im2col(input, first: first, images: images, into: columns, scratch: phaseScratch)
      let target = output.image(first)
      let ys = images == 1 && layout.isFlat ? target : productColumns.reserve(outputChannels * width)
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans,
        Int32(outputChannels), Int32(width), Int32(patchSize),
        1, weight, Int32(patchSize), col, Int32(width),
        0, ys, Int32(width))
      ImageColumns.scatter(
        ys, images: images, channels: outputChannels, layout: layout, bias: bias,
        activationCap: activationCap,
        into: target)
    }
  }

  /// Whole images per im2col sgemm, about `columnsPerChunk` columns.
  private func chunks(batch: Int, columnsPerImage: Int) -> [(first: Int, images: Int)] {
    let chunk = ImageColumns.imagesPerChunk(
      batch: batch, columnsPerImage: columnsPerImage, columns: Self.columnsPerChunk)
    return Swift.stride(from: 0, to: batch, by: chunk).map { ($0, min(chunk, batch - $0)) }
  }

  private func columnLowering(_ input: Shape, _ output: Shape) -> ColumnLowering {
    ColumnLowering(geometry(input, output))
  }

  /// Whether the input gradient is itself a stride-1 "same" convolution of `dy` (with the
  /// weights transposed and flipped), which needs no col2im scatter and runs its sgemm with
  /// an inner dimension of `Cout·k²` instead of `Cout`.
  private var inputGradientIsConvolution: Bool { stride == 1 && 2 * padding == kernelSize - 1 }

  /// `W'[ci, co, ky, kx] = W[co, ci, k−1−ky, k−1−kx]`, the weights of the input-gradient convolution.
  private func flippedWeights() -> UnsafeMutablePointer<Float> {
    let k = kernelSize
    let taps = k * k
    let flipped = transposedWeights.reserve(inputChannels * outputChannels * taps)
    for co in 0..<outputChannels {
      for ci in 0..<inputChannels {
        let source = weight + (co * inputChannels + ci) * taps
        let target = flipped + (ci * outputChannels + co) * taps
        for t in 0..<taps { target[t] = source[taps - 1 - t] }
      }
    }
    return flipped
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    if let winograd {
      winograd.backward(
        input: input.pointer, output: output.pointer, outputGradient: outputGradient.pointer,
        activationCap: activationCap, weights: weight,
        filterGradient: weightGradient, biasGradient: biasGradient, inputGradient: inputGradient?.pointer,
        batch: input.shape.batch, height: input.shape.height, width: input.shape.width)
      return
    }
    if let pointwise {
      pointwise.backward(
        input: input.pointer, output: output.pointer, outputGradient: outputGradient.pointer,
        activationCap: activationCap, weights: weight, weightGradient: weightGradient,
        biasGradient: biasGradient,
        inputGradient: inputGradient?.pointer, batch: input.shape.batch, plane: input.shape.plane)
      return
    }
    let lowered = columnLowering(input.shape, output.shape)
    let (layout, pixels) = (lowered.layout, output.shape.plane)
    let transposed = inputGradient != nil && inputGradientIsConvolution
    // dx = conv(dy, W') over the output planes, padded by k − 1 − padding.
    let gradientGeometry = ConvolutionGeometry(
      channels: outputChannels, height: output.shape.height, width: output.shape.width,
      outputHeight: input.shape.height, outputWidth: input.shape.width, kernel: kernelSize, stride: 1,
      padding: kernelSize - 1 - padding)
    let flipped = transposed ? flippedWeights() : nil
    for (first, images) in chunks(batch: input.shape.batch, columnsPerImage: layout.columns) {
      let width = images * layout.columns
      let offset = first * output.shape.perImage
      let dy = ReLU.gradient(
        outputGradient.pointer + offset, throughCap: activationCap, output: output.pointer + offset,
        count: images * output.shape.perImage, scratch: maskedGradient)
      if let biasGradient {
        Reductions.accumulateChannelSums(
          dy, images: images, channels: outputChannels, plane: pixels, into: biasGradient)
      }
      let dys = ImageColumns.gather(
        dy, images: images, channels: outputChannels, layout: layout, into: productColumns)
      let col = lowered.im2col(input, first: first, images: images, into: columns, scratch: phaseScratch)
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans,
        Int32(outputChannels), Int32(patchSize), Int32(width),
        1, dys, Int32(width), col, Int32(width),
        1, weightGradient, Int32(patchSize))
      guard let dx = inputGradient?.image(first) else { continue }
      if let flipped {
        let (plane, patch) = (input.shape.plane, gradientGeometry.patchSize)
        let inputWidth = images * plane
        let dyCol = columns.reserve(patch * inputWidth)
        for i in 0..<images {
          gradientGeometry.im2col(
            dy + i * output.shape.perImage, into: dyCol + i * plane, rowStride: inputWidth)
        }
        let dxs = images == 1 ? dx : inputColumns.reserve(inputChannels * inputWidth)
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasNoTrans,
          Int32(inputChannels), Int32(inputWidth), Int32(patch),
          1, flipped, Int32(patch), dyCol, Int32(inputWidth),
          0, dxs, Int32(inputWidth))
        ImageColumns.scatter(
          dxs, images: images, channels: inputChannels, layout: .flat(plane), bias: nil, activationCap: nil,
          into: dx)
        continue
      }
      cblas_sgemm(
        CblasRowMajor, CblasTrans, CblasNoTrans,
        Int32(patchSize), Int32(width), Int32(outputChannels),
        1, weight, Int32(patchSize), dys, Int32(width),
        0, col, Int32(width))
      lowered.col2im(col, images: images, into: dx, scratch: phaseScratch)
    }
  }
}
