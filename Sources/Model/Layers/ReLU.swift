/// Rectified linear unit, `y = max(0, x)`; backward passes the gradient where `x > 0`.
public final class ReLU: Layer {
  public let name: String
  public init(name: String = "relu") { self.name = name }

  public func outputShape(for input: Shape) -> Shape { input }

  public func forward(_ input: Tensor, into output: Tensor) {
    let (x, y) = (input.pointer, output.pointer)
    for i in 0..<input.shape.count { y[i] = max(x[i], 0) }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    let (x, dy, dx) = (input.pointer, outputGradient.pointer, inputGradient.pointer)
    for i in 0..<input.shape.count { dx[i] = x[i] > 0 ? dy[i] : 0 }
  }
}
