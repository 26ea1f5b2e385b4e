/// Element-wise sum of tensors of one shape: the join of a residual connection
/// (He et al. 2016, `y = F(x) + x`). Backward hands `dy` to every input.
public final class Add: MergeLayer {
  public let name: String
  public init(name: String) { self.name = name }

  public var backwardReadsInputs: Bool { false }

  public func outputShape(for inputs: [Shape]) -> Shape {
    precondition(
      inputs.count >= 2 && inputs.allSatisfy { $0 == inputs[0] }, "\(name): shapes differ: \(inputs)")
    return inputs[0]
  }

  /// The first two inputs summed in one pass (not a copy, then an add over the copy: a pass
  /// over the output less), any further ones added to that.
  public func forward(_ inputs: [Tensor], into output: Tensor) {
    let (y, count) = (output.pointer, output.shape.count)
    let (a, b) = (inputs[0].pointer, inputs[1].pointer)
    for i in 0..<count { y[i] = a[i] + b[i] }
    for input in inputs.dropFirst(2) {
      let x = input.pointer
      for i in 0..<count { y[i] += x[i] }
    }
  }

  /// `dy` read once for the first two gradients (two copies read it twice).
  public func backward(inputs: [Tensor], outputGradient: Tensor, inputGradients: [Tensor?]) {
    let (dy, count) = (outputGradient.pointer, outputGradient.shape.count)
    var targets = inputGradients.compactMap { $0?.pointer }
    while targets.count >= 2 {
      let (a, b) = (targets.removeLast(), targets.removeLast())
      for i in 0..<count {
        let g = dy[i]
        a[i] = g
        b[i] = g
      }
    }
    if let last = targets.first { last.update(from: dy, count: count) }
  }
}
