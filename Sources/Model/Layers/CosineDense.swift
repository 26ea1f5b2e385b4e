import CBLAS

/// Cosine-similarity classifier ("NormedLinear" of Cao et al.'s LDAM-DRW code): the logits are
/// cosines between the input and each class's weight vector, in [−1, 1], so that a loss can
/// apply a fixed scale and margins to them.
/// ```
/// y_nj = (x_n · W_j) / (‖x_n‖ ‖W_j‖)
/// ∂L/∂x_n = (g_a − (g_a·a_n) a_n) / ‖x_n‖,  g_a = Σ_j ∂L/∂y_nj · b_j   (a = x/‖x‖, b = W/‖W‖)
/// ∂L/∂W_j = (g_b − (g_b·b_j) b_j) / ‖W_j‖,  g_b = Σ_n ∂L/∂y_nj · a_n
/// ```
public final class CosineDense: Layer {
  public let name: String
  public let inputFeatures: Int
  public let outputFeatures: Int
  private var weight: UnsafeMutablePointer<Float>!
  private var weightGradient: UnsafeMutablePointer<Float>!
  private var normalizedInput: [Float] = []
  private var normalizedWeight: [Float] = []
  private var inputNorms: [Float] = []
  private var weightNorms: [Float] = []

  public var settings: [String: Any] { ["in_features": inputFeatures, "out_features": outputFeatures] }

  public init(name: String, inputFeatures: Int, outputFeatures: Int) {
    self.name = name
    self.inputFeatures = inputFeatures
    self.outputFeatures = outputFeatures
  }

  public var parameterSpecs: [ParameterSpec] {
    [
      ParameterSpec(
        name: "weight", shape: [outputFeatures, inputFeatures],
        initialization: .uniformFanIn(fanIn: inputFeatures))
    ]
  }

  public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
    weight = parameters
    weightGradient = gradients
  }

  public var backwardReads: BackwardReads { [] }
  public func outputShape(for input: Shape) -> Shape {
    precondition(input.perImage == inputFeatures, "\(name): expected \(inputFeatures) features, got \(input)")
    return Shape(batch: input.batch, channels: outputFeatures)
  }

  public func forwardFLOPs(for input: Shape) -> Int { inputFeatures * outputFeatures }

  /// Normalises the rows of `rows` (count × width) into `out`; returns the norms.
  private func normalizeRows(_ rows: UnsafePointer<Float>, count: Int, width: Int, into out: inout [Float])
    -> [Float]
  {
    if out.count < count * width { out = [Float](repeating: 0, count: count * width) }
    return (0..<count).map { r in
      var sum: Float = 0
      for i in 0..<width { sum += rows[r * width + i] * rows[r * width + i] }
      let norm = max(sum.squareRoot(), 1e-12)
      for i in 0..<width { out[r * width + i] = rows[r * width + i] / norm }
      return norm
    }
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let batch = input.shape.batch
    inputNorms = normalizeRows(input.pointer, count: batch, width: inputFeatures, into: &normalizedInput)
    weightNorms = normalizeRows(weight, count: outputFeatures, width: inputFeatures, into: &normalizedWeight)
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(outputFeatures), Int32(inputFeatures),
      1, normalizedInput, Int32(inputFeatures), normalizedWeight, Int32(inputFeatures), 0, output.pointer,
      Int32(outputFeatures))
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    let batch = input.shape.batch
    let (width, classes) = (inputFeatures, outputFeatures)
    var gradientB = [Float](repeating: 0, count: classes * width)
    // g_b = dyᵀ · a
    cblas_sgemm(
      CblasRowMajor, CblasTrans, CblasNoTrans, Int32(classes), Int32(width), Int32(batch),
      1, outputGradient.pointer, Int32(classes), normalizedInput, Int32(width), 0, &gradientB, Int32(width))
    for j in 0..<classes {
      var dot: Float = 0
      for i in 0..<width { dot += gradientB[j * width + i] * normalizedWeight[j * width + i] }
      for i in 0..<width {
        weightGradient[j * width + i] +=
          (gradientB[j * width + i] - dot * normalizedWeight[j * width + i]) / weightNorms[j]
      }
    }
    guard let inputGradient else { return }
    // g_a = dy · b, then projected and divided by ‖x‖, in place.
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(batch), Int32(width), Int32(classes),
      1, outputGradient.pointer, Int32(classes), normalizedWeight, Int32(width), 0, inputGradient.pointer,
      Int32(width))
    for n in 0..<batch {
      let g = inputGradient.pointer + n * width
      var dot: Float = 0
      for i in 0..<width { dot += g[i] * normalizedInput[n * width + i] }
      for i in 0..<width { g[i] = (g[i] - dot * normalizedInput[n * width + i]) / inputNorms[n] }
    }
  }
}
