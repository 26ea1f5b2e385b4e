import CBLAS

/// 2-D convolution (cross-correlation, as in every framework) lowered to one `cblas_sgemm`
/// per image through im2col (Chellapilla et al. 2006).
///
/// Weight layout `[outputChannels, inputChannels, kernel, kernel]` (PyTorch's), bias
/// `[outputChannels]`. Per image: `col[C·k·k, Ho·Wo] = im2col(x)`, `y = W · col + b`;
/// backward: `dW += dy · colᵀ`, `db += Σ dy`, `dx = col2im(Wᵀ · dy)`.
public final class Conv2D: Layer {
  public let name: String
  public let inputChannels: Int
  public let outputChannels: Int
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int

  private var weight: UnsafeMutablePointer<Float>!
  private var bias: UnsafeMutablePointer<Float>!
  private var weightGradient: UnsafeMutablePointer<Float>!
  private var biasGradient: UnsafeMutablePointer<Float>!
  /// im2col scratch for one image, planned once per input shape.
  private var columns: [Float] = []

  public init(
    name: String, inputChannels: Int, outputChannels: Int, kernelSize: Int = 3,
    stride: Int = 1, padding: Int = 1
  ) {
    precondition(inputChannels > 0 && outputChannels > 0 && kernelSize > 0 && stride > 0)
    precondition(padding >= 0 && padding < kernelSize, "padding must be in 0..<kernelSize")
    self.name = name
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
  }

  private var patchSize: Int { inputChannels * kernelSize * kernelSize }

  public var parameterSpecs: [ParameterSpec] {
    [
      ParameterSpec(
        name: "weight", shape: [outputChannels, inputChannels, kernelSize, kernelSize],
        initialization: .heNormal(fanIn: patchSize)),
      ParameterSpec(name: "bias", shape: [outputChannels], initialization: .zeros),
    ]
  }

  public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
    weight = parameters
    bias = parameters + outputChannels * patchSize
    weightGradient = gradients
    biasGradient = gradients + outputChannels * patchSize
  }

  public func outputShape(for input: Shape) -> Shape {
    precondition(input.channels == inputChannels, "\(name): expected \(inputChannels) channels, got \(input)")
    let height = (input.height + 2 * padding - kernelSize) / stride + 1
    let width = (input.width + 2 * padding - kernelSize) / stride + 1
    precondition(height > 0 && width > 0, "\(name): input \(input) is smaller than the kernel")
    return Shape(batch: input.batch, channels: outputChannels, height: height, width: width)
  }

  public func forwardFLOPs(for input: Shape) -> Int {
    let output = outputShape(for: input.with(batch: 1))
    return output.perImage * patchSize
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let outShape = output.shape
    let pixels = outShape.plane
    reserveColumns(pixels)
    columns.withUnsafeMutableBufferPointer { col in
      for n in 0..<input.shape.batch {
        im2col(input.image(n), shape: input.shape, output: outShape, into: col.baseAddress!)
        let y = output.image(n)
        for c in 0..<outputChannels {
          (y + c * pixels).update(repeating: bias[c], count: pixels)
        }
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasNoTrans,
          Int32(outputChannels), Int32(pixels), Int32(patchSize),
          1, weight, Int32(patchSize), col.baseAddress, Int32(pixels),
          1, y, Int32(pixels))
      }
    }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    let outShape = output.shape
    let pixels = outShape.plane
    reserveColumns(pixels)
    columns.withUnsafeMutableBufferPointer { col in
      for n in 0..<input.shape.batch {
        let dy = outputGradient.image(n)
        for c in 0..<outputChannels {
          var sum: Float = 0
          let row = dy + c * pixels
          for p in 0..<pixels { sum += row[p] }
          biasGradient[c] += sum
        }
        im2col(input.image(n), shape: input.shape, output: outShape, into: col.baseAddress!)
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans,
          Int32(outputChannels), Int32(patchSize), Int32(pixels),
          1, dy, Int32(pixels), col.baseAddress, Int32(pixels),
          1, weightGradient, Int32(patchSize))
        guard let dx = inputGradient else { continue }
        cblas_sgemm(
          CblasRowMajor, CblasTrans, CblasNoTrans,
          Int32(patchSize), Int32(pixels), Int32(outputChannels),
          1, weight, Int32(patchSize), dy, Int32(pixels),
          0, col.baseAddress, Int32(pixels))
        col2im(col.baseAddress!, shape: input.shape, output: outShape, into: dx.image(n))
      }
    }
  }

  private func reserveColumns(_ pixels: Int) {
    if columns.count < patchSize * pixels {
      columns = [Float](repeating: 0, count: patchSize * pixels)
    }
  }

  /// The output columns `ox` whose input column `ox·stride − padding + kx` lies inside a row
  /// of `width` pixels (the rest read the zero padding).
  private func validColumns(kx: Int, width: Int, outputWidth: Int) -> Range<Int> {
    let shift = padding - kx
    let first = shift > 0 ? (shift + stride - 1) / stride : 0
    let last = min(outputWidth, (width - 1 + shift) / stride + 1)
    return first..<max(first, last)
  }

  /// Row `(c, ky, kx)` of `col` holds, for every output pixel, the input value under that
  /// kernel tap (zero in the padding).
  private func im2col(
    _ x: UnsafeMutablePointer<Float>, shape: Shape, output: Shape, into col: UnsafeMutablePointer<Float>
  ) {
    let (h, w, oh, ow, k) = (shape.height, shape.width, output.height, output.width, kernelSize)
    var row = col
    for c in 0..<inputChannels {
      let plane = x + c * h * w
      for ky in 0..<k {
        for kx in 0..<k {
          let valid = validColumns(kx: kx, width: w, outputWidth: ow)
          for oy in 0..<oh {
            let iy = oy * stride - padding + ky
            let out = row + oy * ow
            guard iy >= 0 && iy < h, !valid.isEmpty else {
              out.update(repeating: 0, count: ow)
              continue
            }
            out.update(repeating: 0, count: valid.lowerBound)
            (out + valid.upperBound).update(repeating: 0, count: ow - valid.upperBound)
            let source = plane + iy * w - padding + kx
            if stride == 1 {
              (out + valid.lowerBound).update(from: source + valid.lowerBound, count: valid.count)
            } else {
              for ox in valid { out[ox] = source[ox * stride] }
            }
          }
          row += oh * ow
        }
      }
    }
  }

  /// The adjoint of `im2col`: sums every column entry back onto the input pixel it came from.
  private func col2im(
    _ col: UnsafeMutablePointer<Float>, shape: Shape, output: Shape, into dx: UnsafeMutablePointer<Float>
  ) {
    let (h, w, oh, ow, k) = (shape.height, shape.width, output.height, output.width, kernelSize)
    dx.update(repeating: 0, count: shape.perImage)
    var row = col
    for c in 0..<inputChannels {
      let plane = dx + c * h * w
      for ky in 0..<k {
        for kx in 0..<k {
          let valid = validColumns(kx: kx, width: w, outputWidth: ow)
          for oy in 0..<oh {
            let iy = oy * stride - padding + ky
            guard iy >= 0 && iy < h else { continue }
            let from = row + oy * ow
            let target = plane + iy * w - padding + kx
            for ox in valid { target[ox * stride] += from[ox] }
          }
          row += oh * ow
        }
      }
    }
  }
}
