/// Max pooling over `size` × `size` windows moved by `stride` (no padding; a partial window
/// at the border is dropped, as in PyTorch's default). Backward routes each output gradient
/// to the input position that won the max (the first one on ties).
public final class MaxPool2D: Layer {
  public let name: String
  public let size: Int
  public let stride: Int
  /// For every output element, the index of the winning input element within its image.
  private var winners: [Int32] = []

  public init(name: String = "pool", size: Int = 2, stride: Int? = nil) {
    precondition(size > 0)
    self.name = name
    self.size = size
    self.stride = stride ?? size
  }

  public func outputShape(for input: Shape) -> Shape {
    input.windowed(kernel: size, stride: stride, layer: name)
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let (inShape, outShape) = (input.shape, output.shape)
    if winners.count < outShape.count { winners = [Int32](repeating: 0, count: output.capacity) }
    if size == 2 && stride == 2 { return forwardTwoByTwo(input, into: output) }
    winners.withUnsafeMutableBufferPointer { winner in
      var o = 0
      for n in 0..<inShape.batch {
        let x = input.image(n)
        for c in 0..<inShape.channels {
          let planeStart = c * inShape.plane
          for oy in 0..<outShape.height {
            for ox in 0..<outShape.width {
              var best = planeStart + oy * stride * inShape.width + ox * stride
              for ky in 0..<size {
                let rowStart = planeStart + (oy * stride + ky) * inShape.width + ox * stride
                for kx in 0..<size where x[rowStart + kx] > x[best] { best = rowStart + kx }
              }
              output.pointer[o] = x[best]
              winner[o] = Int32(best)
              o += 1
            }
          }
        }
      }
    }
  }

  /// The common 2×2 / stride-2 window without the generic loops (same winners, same ties).
  private func forwardTwoByTwo(_ input: Tensor, into output: Tensor) {
    let (inShape, outShape) = (input.shape, output.shape)
    let (width, outWidth, outHeight) = (inShape.width, outShape.width, outShape.height)
    let (x, y) = (input.pointer, output.pointer)
    winners.withUnsafeMutableBufferPointer { winner in
      let w = winner.baseAddress!
      for plane in 0..<(inShape.batch * inShape.channels) {
        let inStart = plane * inShape.plane
        let imageStart = (plane / inShape.channels) * inShape.perImage
        let outStart = plane * outShape.plane
        for oy in 0..<outHeight {
          let top = inStart + 2 * oy * width
          for ox in 0..<outWidth {
            var best = top + 2 * ox
            if x[best + 1] > x[best] { best += 1 }
            let below = top + width + 2 * ox
            if x[below] > x[best] { best = below }
            if x[below + 1] > x[best] { best = below + 1 }
            let o = outStart + oy * outWidth + ox
            y[o] = x[best]
            w[o] = Int32(best - imageStart)
          }
        }
      }
    }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    inputGradient.fill(0)
    let perOutputImage = output.shape.perImage
    winners.withUnsafeBufferPointer { winner in
      for n in 0..<input.shape.batch {
        let dx = inputGradient.image(n)
        let dy = outputGradient.image(n)
        let w = winner.baseAddress! + n * perOutputImage
        for o in 0..<perOutputImage { dx[Int(w[o])] += dy[o] }
      }
    }
  }
}
