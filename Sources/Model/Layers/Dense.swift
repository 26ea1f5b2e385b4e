import CBLAS

/// Fully connected layer `y = x · Wᵀ + b` over the flattened input (weight
/// `[outputFeatures, inputFeatures]`, PyTorch's layout), through `cblas_sgemm`.
public final class Dense: Layer {
  public let name: String
  public let inputFeatures: Int
  public let outputFeatures: Int

  private var weight: UnsafeMutablePointer<Float>!
  private var bias: UnsafeMutablePointer<Float>!
  private var weightGradient: UnsafeMutablePointer<Float>!
  private var biasGradient: UnsafeMutablePointer<Float>!

  public var settings: [String: Any] {
    ["in_features": inputFeatures, "out_features": outputFeatures, "bias": true]
  }

  public init(name: String, inputFeatures: Int, outputFeatures: Int) {
    precondition(inputFeatures > 0 && outputFeatures > 0)
    self.name = name
    self.inputFeatures = inputFeatures
    self.outputFeatures = outputFeatures
  }

  public var parameterSpecs: [ParameterSpec] {
    [
      ParameterSpec(
        name: "weight", shape: [outputFeatures, inputFeatures],
        initialization: .uniformFanIn(fanIn: inputFeatures)),
      ParameterSpec(
        name: "bias", shape: [outputFeatures], initialization: .uniformFanIn(fanIn: inputFeatures)),
    ]
  }

  public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
    weight = parameters
    bias = parameters + outputFeatures * inputFeatures
    weightGradient = gradients
    biasGradient = gradients + outputFeatures * inputFeatures
  }

  public var backwardReads: BackwardReads { .input }
  public func outputShape(for input: Shape) -> Shape {
    precondition(input.perImage == inputFeatures, "\(name): expected \(inputFeatures) features, got \(input)")
    return Shape(batch: input.batch, channels: outputFeatures)
  }

  public func forwardFLOPs(for input: Shape) -> Int { inputFeatures * outputFeatures }

  public func forward(_ input: Tensor, into output: Tensor) {
    let batch = input.shape.batch
    for n in 0..<batch {
      (output.pointer + n * outputFeatures).update(from: bias, count: outputFeatures)
    }
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, CblasTrans,
      Int32(batch), Int32(outputFeatures), Int32(inputFeatures),
      1, input.pointer, Int32(inputFeatures), weight, Int32(inputFeatures),
      1, output.pointer, Int32(outputFeatures))
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    let batch = input.shape.batch
    let dy = outputGradient.pointer
    for n in 0..<batch {
      let row = dy + n * outputFeatures
      for j in 0..<outputFeatures { biasGradient[j] += row[j] }
    }
    cblas_sgemm(
      CblasRowMajor, CblasTrans, CblasNoTrans,
      Int32(outputFeatures), Int32(inputFeatures), Int32(batch),
      1, dy, Int32(outputFeatures), input.pointer, Int32(inputFeatures),
      1, weightGradient, Int32(inputFeatures))
    guard let dx = inputGradient else { return }
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, CblasNoTrans,
      Int32(batch), Int32(inputFeatures), Int32(outputFeatures),
      1, dy, Int32(outputFeatures), weight, Int32(inputFeatures),
      0, dx.pointer, Int32(inputFeatures))
  }
}
