/// Max pooling over `size` × `size` windows moved by `stride` (no padding; a partial window
/// at the border is dropped, as in PyTorch's default). Backward routes each output gradient
/// to the input position that won the max (the first one on ties).
public final class MaxPool2D: Layer {
  public let name: String
  public let size: Int
  public let stride: Int
  /// For every output element, the index of the winning input element within its image.
  private var winners: [Int32] = []

  public var settings: [String: Any] { ["kernel_size": size, "stride": stride, "padding": 0] }

  public init(name: String = "pool", size: Int = 2, stride: Int? = nil) {
    precondition(size > 0)
    self.name = name
    self.size = size
    self.stride = stride ?? size
  }

  public var backwardReads: BackwardReads { [] }
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

  /// The common 2×2 / stride-2 window, four windows at a time: the even and odd halves of
  /// eight consecutive pixels are their left and right columns. Same winners, same ties
  /// (the first maximum in reading order, by strict comparisons as in the generic loop).
  private func forwardTwoByTwo(_ input: Tensor, into output: Tensor) {
    let (inShape, outShape) = (input.shape, output.shape)
    let (width, outWidth, outHeight) = (inShape.width, outShape.width, outShape.height)
    let (x, y) = (input.pointer, output.pointer)
    let lanes = SIMD4<Int32>(0, 2, 4, 6)
    winners.withUnsafeMutableBufferPointer { winner in
      let w = winner.baseAddress!
      for plane in 0..<(inShape.batch * inShape.channels) {
        let inStart = plane * inShape.plane
        let imageStart = (plane / inShape.channels) * inShape.perImage
        let outStart = plane * outShape.plane
        for oy in 0..<outHeight {
          let top = inStart + 2 * oy * width
          let below = top + width
          var ox = 0
          while ox + 4 <= outWidth {
            let upper = UnsafeRawPointer(x + top + 2 * ox).loadUnaligned(as: SIMD8<Float>.self)
            let lower = UnsafeRawPointer(x + below + 2 * ox).loadUnaligned(as: SIMD8<Float>.self)
            var best = upper.evenHalf
            var offset = SIMD4<Int32>(repeating: 0)
            for (candidate, at) in [(upper.oddHalf, 1), (lower.evenHalf, width), (lower.oddHalf, width + 1)] {
              let wins = candidate .> best
              best.replace(with: candidate, where: wins)
              offset.replace(with: Int32(at), where: wins)
            }
            let o = outStart + oy * outWidth + ox
            UnsafeMutableRawPointer(y + o).storeBytes(of: best, as: SIMD4<Float>.self)
            let first = SIMD4<Int32>(repeating: Int32(top + 2 * ox - imageStart))
            UnsafeMutableRawPointer(w + o).storeBytes(of: first &+ lanes &+ offset, as: SIMD4<Int32>.self)
            ox += 4
          }
          for ox in ox..<outWidth {
            var best = top + 2 * ox
            if x[best + 1] > x[best] { best += 1 }
            if x[below + 2 * ox] > x[best] { best = below + 2 * ox }
            if x[below + 2 * ox + 1] > x[best] { best = below + 2 * ox + 1 }
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
