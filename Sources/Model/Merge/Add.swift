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

  public func forward(_ inputs: [Tensor], into output: Tensor) {
    let (y, count) = (output.pointer, output.shape.count)
    y.update(from: inputs[0].pointer, count: count)
    for input in inputs.dropFirst() {
      let x = input.pointer
      for i in 0..<count { y[i] += x[i] }
    }
  }

  public func backward(inputs: [Tensor], outputGradient: Tensor, inputGradients: [Tensor?]) {
    for case let dx? in inputGradients {
      dx.pointer.update(from: outputGradient.pointer, count: outputGradient.shape.count)
    }
  }
}
