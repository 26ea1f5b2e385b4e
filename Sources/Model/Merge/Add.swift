/// Element-wise sum of tensors of one shape: the join of a residual connection
/// (He et al. 2016, `y = F(x) + x`), optionally with the block's ReLU fused (`activationCap`,
/// as `Conv2D`'s): one pass over the sum instead of two. Backward hands every input `dy`,
/// masked by the activation from the output.
public final class Add: MergeLayer {
  public let name: String
  /// A fused ReLU (`.infinity`) or ReLU6 (`6`) on the sum.
  public let activationCap: Float?

  public init(name: String, activationCap: Float? = nil) {
    self.name = name
    self.activationCap = activationCap
  }

  public var backwardReadsInputs: Bool { false }
  public var backwardReadsOutput: Bool { activationCap != nil }
  public var kind: String { "Add" + fusedActivationSuffix(activationCap) }
  public var settings: [String: Any] {
    activationCap == nil ? [:] : ["activation": activationName(activationCap)]
  }

  public func outputShape(for inputs: [Shape]) -> Shape {
    precondition(
      inputs.count >= 2 && inputs.allSatisfy { $0 == inputs[0] }, "\(name): shapes differ: \(inputs)")
    return inputs[0]
  }

  /// The first two inputs summed in one pass (not a copy, then an add over the copy: a pass
  /// over the output less), any further ones added to that, then the activation.
  public func forward(_ inputs: [Tensor], into output: Tensor) {
    let (y, count) = (output.pointer, output.shape.count)
    let (a, b) = (inputs[0].pointer, inputs[1].pointer)
    let more = inputs.dropFirst(2)
    if let activationCap, more.isEmpty {
      for i in 0..<count { y[i] = ReLU.clamp(a[i] + b[i], cap: activationCap) }
      return
    }
    for i in 0..<count { y[i] = a[i] + b[i] }
    for input in more {
      let x = input.pointer
      for i in 0..<count { y[i] += x[i] }
    }
    if let activationCap { ReLU.apply(y, into: y, count: count, cap: activationCap) }
  }

  /// `dy` (masked by the activation, from `output`) read once for the first two gradients
  /// (two copies read it twice).
  public func backward(inputs: [Tensor], output: Tensor, outputGradient: Tensor, inputGradients: [Tensor?]) {
    let (dy, y, count) = (outputGradient.pointer, output.pointer, outputGradient.shape.count)
    var targets = inputGradients.compactMap { $0?.pointer }
    while targets.count >= 2 {
      let (a, b) = (targets.removeLast(), targets.removeLast())
      if let activationCap {
        for i in 0..<count {
          let g = ReLU.gradient(dy[i], at: y[i], cap: activationCap)
          a[i] = g
          b[i] = g
        }
      } else {
        for i in 0..<count {
          let g = dy[i]
          a[i] = g
          b[i] = g
        }
      }
    }
    guard let last = targets.first else { return }
    if let activationCap {
      ReLU.maskGradient(dy, by: y, cap: activationCap, count: count, into: last)
    } else {
      last.update(from: dy, count: count)
    }
  }
}
