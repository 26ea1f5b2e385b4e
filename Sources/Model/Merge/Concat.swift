/// Concatenation along channels of tensors with one spatial size: the skip connections of a
/// UNet (Ronneberger et al. 2015). Backward hands each input its slice of `dy`.
public final class Concat: MergeLayer {
  public let name: String
  public init(name: String) { self.name = name }

  public var backwardReadsInputs: Bool { false }

  public func outputShape(for inputs: [Shape]) -> Shape {
    precondition(
      inputs.count >= 2
        && inputs.allSatisfy {
          $0.height == inputs[0].height && $0.width == inputs[0].width && $0.batch == inputs[0].batch
        },
      "\(name): spatial sizes differ: \(inputs)")
    return Shape(
      batch: inputs[0].batch, channels: inputs.reduce(0) { $0 + $1.channels }, height: inputs[0].height,
      width: inputs[0].width)
  }

  public func forward(_ inputs: [Tensor], into output: Tensor) {
    for n in 0..<output.shape.batch {
      var y = output.image(n)
      for input in inputs {
        let count = input.shape.perImage
        y.update(from: input.image(n), count: count)
        y += count
      }
    }
  }

  public func backward(inputs: [Tensor], output: Tensor, outputGradient: Tensor, inputGradients: [Tensor?]) {
    for n in 0..<outputGradient.shape.batch {
      var dy = outputGradient.image(n)
      for (input, dx) in zip(inputs, inputGradients) {
        let count = input.shape.perImage
        dx?.image(n).update(from: dy, count: count)
        dy += count
      }
    }
  }
}
