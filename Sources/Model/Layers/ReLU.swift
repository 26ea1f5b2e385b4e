/// Rectified linear unit, `y = max(0, x)`, or with a `cap` `y = min(max(0, x), cap)` (ReLU6 of
/// MobileNetV2, Sandler et al. 2018); backward passes the gradient where `0 < x < cap`.
public final class ReLU: Layer {
  public let name: String
  public let cap: Float
  public init(name: String = "relu", cap: Float = .infinity) {
    self.name = name
    self.cap = cap
  }

  public func outputShape(for input: Shape) -> Shape { input }

  public func forward(_ input: Tensor, into output: Tensor) {
    let (x, y, cap) = (input.pointer, output.pointer, cap)
    for i in 0..<input.shape.count { y[i] = min(max(x[i], 0), cap) }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    let (x, dy, dx, cap) = (input.pointer, outputGradient.pointer, inputGradient.pointer, cap)
    // Written as selects, not `&&` (a branch per element that stops vectorisation).
    if cap == .infinity {
      for i in 0..<input.shape.count { dx[i] = x[i] > 0 ? dy[i] : 0 }
    } else {
      for i in 0..<input.shape.count { dx[i] = x[i] > 0 ? (x[i] < cap ? dy[i] : 0) : 0 }
    }
  }
}
