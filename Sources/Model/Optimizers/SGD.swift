/// Stochastic gradient descent with heavy-ball momentum and L2 weight decay, in PyTorch's form:
/// ```
/// g ← ∇ + λ·θ;   v ← μ·v + g;   θ ← θ − η·v
/// ```
/// One loop over the flat arenas; the momentum buffer is a third arena of the same size.
public final class SGD {
  public let momentum: Float
  /// λ; a phase of training may set its own.
  public var weightDecay: Float
  public let velocity: Arena

  public init(parameterCount: Int, momentum: Float, weightDecay: Float) {
    precondition(momentum >= 0 && momentum < 1, "momentum must be in [0, 1)")
    precondition(weightDecay >= 0, "weight decay must be non-negative")
    self.momentum = momentum
    self.weightDecay = weightDecay
    velocity = Arena(count: parameterCount)
  }

  /// Updates the parameters in `range` (default: all); frozen parameters lie outside it and
  /// keep their values, momentum and all.
  public func step(parameters: Arena, gradients: Arena, learningRate: Float, range: Range<Int>? = nil) {
    precondition(parameters.count == velocity.count && gradients.count == velocity.count)
    let (theta, grad, v) = (parameters.base, gradients.base, velocity.base)
    for i in range ?? 0..<velocity.count {
      let g = grad[i] + weightDecay * theta[i]
      v[i] = momentum * v[i] + g
      theta[i] -= learningRate * v[i]
    }
  }
}
