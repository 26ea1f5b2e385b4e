/// Average pooling over `size` × `size` windows moved by `stride` (no padding; a partial
/// window at the border is dropped); backward spreads each output gradient evenly over its
/// window.
public final class AvgPool2D: Layer {
  public let name: String
  public let size: Int
  public let stride: Int

  public var settings: [String: Any] { ["kernel_size": size, "stride": stride, "padding": 0] }

  public init(name: String = "avgpool", size: Int = 2, stride: Int? = nil) {
    precondition(size > 0)
    self.name = name
    self.size = size
    self.stride = stride ?? size
  }

  public var backwardReads: BackwardReads { [] }
  public func outputShape(for input: Shape) -> Shape {
    input.windowed(kernel: size, stride: stride, layer: name)
  }

  public func forwardFLOPs(for input: Shape) -> Int {
    outputShape(for: input.with(batch: 1)).perImage * size * size
  }

  /// Calls `body(outputIndex, windowTopLeft)` for every output element, offsets within the tensor.
  @inline(__always)
  private func forEachWindow(_ input: Shape, _ output: Shape, _ body: (Int, Int) -> Void) {
    var o = 0
    for plane in 0..<(input.batch * input.channels) {
      let start = plane * input.plane
      for oy in 0..<output.height {
        for ox in 0..<output.width {
          body(o, start + oy * stride * input.width + ox * stride)
          o += 1
        }
      }
    }
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let (x, y, width, scale) = (input.pointer, output.pointer, input.shape.width, 1 / Float(size * size))
    forEachWindow(input.shape, output.shape) { o, corner in
      var sum: Float = 0
      for ky in 0..<size {
        for kx in 0..<size { sum += x[corner + ky * width + kx] }
      }
      y[o] = sum * scale
    }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    inputGradient.fill(0)
    let (dy, dx, width, scale) = (
      outputGradient.pointer, inputGradient.pointer, input.shape.width, 1 / Float(size * size)
    )
    forEachWindow(input.shape, output.shape) { o, corner in
      let share = dy[o] * scale
      for ky in 0..<size {
        for kx in 0..<size { dx[corner + ky * width + kx] += share }
      }
    }
  }
}
