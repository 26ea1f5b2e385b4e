/// Global average pooling (Lin et al. 2014, "Network in Network"): each channel plane is
/// replaced by its mean, giving `(batch, channels, 1, 1)`.
public final class GlobalAvgPool: Layer {
  public let name: String
  public init(name: String = "gap") { self.name = name }

  public var backwardReads: BackwardReads { [] }
  public func outputShape(for input: Shape) -> Shape {
    Shape(batch: input.batch, channels: input.channels)
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let plane = input.shape.plane
    let scale = 1 / Float(plane)
    for i in 0..<(input.shape.batch * input.shape.channels) {
      let x = input.pointer + i * plane
      var sum: Float = 0
      for p in 0..<plane { sum += x[p] }
      output.pointer[i] = sum * scale
    }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    let plane = input.shape.plane
    let scale = 1 / Float(plane)
    for i in 0..<(input.shape.batch * input.shape.channels) {
      (inputGradient.pointer + i * plane).update(repeating: outputGradient.pointer[i] * scale, count: plane)
    }
  }
}
