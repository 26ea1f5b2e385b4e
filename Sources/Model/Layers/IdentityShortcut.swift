/// The parameter-free shortcut of a residual block that changes shape — option A of He et al.
/// 2016 (§4.2, CIFAR): the input subsampled by `stride` and zero-padded with extra channels up
/// to `outputChannels`. With stride 1 and equal channels it is the identity.
public final class IdentityShortcut: Layer {
  public let name: String
  public let outputChannels: Int
  public let stride: Int

  public var settings: [String: Any] { ["out_channels": outputChannels, "stride": stride] }

  public init(name: String, outputChannels: Int, stride: Int) {
    precondition(outputChannels > 0 && stride > 0)
    self.name = name
    self.outputChannels = outputChannels
    self.stride = stride
  }

  public var backwardReads: BackwardReads { [] }
  public func outputShape(for input: Shape) -> Shape {
    precondition(
      input.channels <= outputChannels, "\(name): \(input) has more channels than \(outputChannels)")
    return Shape(
      batch: input.batch, channels: outputChannels, height: (input.height - 1) / stride + 1,
      width: (input.width - 1) / stride + 1)
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let (inShape, outShape) = (input.shape, output.shape)
    output.fill(0)
    for n in 0..<inShape.batch {
      for c in 0..<inShape.channels {
        let (x, y) = (input.image(n) + c * inShape.plane, output.image(n) + c * outShape.plane)
        for oy in 0..<outShape.height {
          for ox in 0..<outShape.width {
            y[oy * outShape.width + ox] = x[oy * stride * inShape.width + ox * stride]
          }
        }
      }
    }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    let (inShape, outShape) = (input.shape, output.shape)
    inputGradient.fill(0)
    for n in 0..<inShape.batch {
      for c in 0..<inShape.channels {
        let (dx, dy) = (
          inputGradient.image(n) + c * inShape.plane, outputGradient.image(n) + c * outShape.plane
        )
        for oy in 0..<outShape.height {
          for ox in 0..<outShape.width {
            dx[oy * stride * inShape.width + ox * stride] = dy[oy * outShape.width + ox]
          }
        }
      }
    }
  }
}
