/// Rectified linear unit, `y = max(0, x)`, or with a `cap` `y = min(max(0, x), cap)` (ReLU6 of
/// MobileNetV2, Sandler et al. 2018); backward passes the gradient where `0 < x < cap`.
public final class ReLU: Layer {
  public let name: String
  public let cap: Float
  public var settings: [String: Any] { ["activation": activationName(cap)] }

  public init(name: String = "relu", cap: Float = .infinity) {
    self.name = name
    self.cap = cap
  }

  public var backwardReads: BackwardReads { .output }
  public func outputShape(for input: Shape) -> Shape { input }

  public func forward(_ input: Tensor, into output: Tensor) {
    Self.apply(input.pointer, into: output.pointer, count: input.shape.count, cap: cap)
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    Self.maskGradient(
      outputGradient.pointer, by: output.pointer, cap: cap, count: input.shape.count,
      into: inputGradient.pointer)
  }

  /// `y = min(max(0, x), cap)`; `x` and `y` may be the same buffer (a layer's fused activation).
  static func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
    for i in 0..<count { y[i] = clamp(x[i], cap: cap) }
  }

  /// `min(max(0, v), cap)`.
  @inline(__always)
  static func clamp(_ v: Float, cap: Float) -> Float { min(max(v, 0), cap) }

  /// `dy` where `0 < v < cap`, else 0, with `v` the activation's input or its output (the
  /// test is the same for both). Written as selects, not `&&` (a branch per element that
  /// stops vectorisation).
  @inline(__always)
  static func gradient(_ dy: Float, at v: Float, cap: Float) -> Float { v > 0 ? (v < cap ? dy : 0) : 0 }

  /// `dx = gradient(dy, at: v)` element by element.
  static func maskGradient(
    _ dy: UnsafePointer<Float>, by v: UnsafePointer<Float>, cap: Float, count: Int,
    into dx: UnsafeMutablePointer<Float>
  ) {
    if cap == .infinity {
      // dy[i] is loaded whatever v[i] is: loaded only where v[i] > 0 it was a branch that
      // mispredicted on every other element (ResNet-20's ReLU backward 10 → 1 ms at 32×32).
      for i in 0..<count {
        let g = dy[i]
        dx[i] = v[i] > 0 ? g : 0
      }
    } else {
      for i in 0..<count { dx[i] = gradient(dy[i], at: v[i], cap: cap) }
    }
  }

  /// The gradient before a layer's fused activation (`cap`, or none): `dy` itself without
  /// one, else `dy` masked by the layer's `output` into `scratch`.
  static func gradient(
    _ dy: UnsafePointer<Float>, throughCap cap: Float?, output: UnsafePointer<Float>, count: Int,
    scratch: Scratch
  ) -> UnsafePointer<Float> {
    guard let cap else { return dy }
    let masked = scratch.reserve(count)
    maskGradient(dy, by: output, cap: cap, count: count, into: masked)
    return UnsafePointer(masked)
  }
}
