import Foundation

/// The logistic sigmoid `y = 1/(1 + e^{−x})`, the reconstruction head for pixels in [0, 1];
/// backward uses `dy·y·(1 − y)`.
public final class Sigmoid: Layer {
  public let name: String
  public init(name: String = "sigmoid") { self.name = name }

  public var backwardReads: BackwardReads { .output }
  public func outputShape(for input: Shape) -> Shape { input }

  public func forward(_ input: Tensor, into output: Tensor) {
    let (x, y) = (input.pointer, output.pointer)
    for i in 0..<input.shape.count { y[i] = 1 / (1 + expf(-x[i])) }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    let (y, dy, dx) = (output.pointer, outputGradient.pointer, inputGradient.pointer)
    for i in 0..<input.shape.count { dx[i] = dy[i] * y[i] * (1 - y[i]) }
  }
}

/// The hyperbolic tangent `y = tanh x`, a reconstruction head for targets in [−1, 1];
/// backward uses `dy·(1 − y²)`.
public final class Tanh: Layer {
  public let name: String
  public init(name: String = "tanh") { self.name = name }

  public var backwardReads: BackwardReads { .output }
  public func outputShape(for input: Shape) -> Shape { input }

  public func forward(_ input: Tensor, into output: Tensor) {
    let (x, y) = (input.pointer, output.pointer)
    for i in 0..<input.shape.count { y[i] = tanhf(x[i]) }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    let (y, dy, dx) = (output.pointer, outputGradient.pointer, inputGradient.pointer)
    for i in 0..<input.shape.count { dx[i] = dy[i] * (1 - y[i] * y[i]) }
  }
}
