import PRNG

/// Inverted dropout (Srivastava et al. 2014): in training, each element is zeroed with
/// probability `rate` and the survivors scaled by `1/(1 − rate)`; in inference, identity.
///
/// The mask of a forward pass is a function of `(seed, step, rank)` alone (set by
/// `Network.seedStochasticLayers`), so a run is reproducible and a resumed run draws the same
/// masks as an uninterrupted one.
public final class Dropout: Layer {
  public let name: String
  public let rate: Float
  public private(set) var isTraining = false
  /// The random stream of the next forward pass.
  var seed: UInt64 = 0
  var stream: [UInt64] = [0]
  private var mask: [Float] = []

  public var settings: [String: Any] { ["p": Double(rate)] }

  public init(name: String, rate: Float) {
    precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1)")
    self.name = name
    self.rate = rate
  }

  public func setTraining(_ training: Bool) { isTraining = training }

  public var backwardReads: BackwardReads { [] }
  public func outputShape(for input: Shape) -> Shape { input }

  public func forward(_ input: Tensor, into output: Tensor) {
    let count = input.shape.count
    guard isTraining && rate > 0 else {
      output.pointer.update(from: input.pointer, count: count)
      return
    }
    if mask.count < count { mask = [Float](repeating: 0, count: input.capacity) }
    var rng = Xoshiro256(seed: seed, stream: stream)
    let keep = 1 / (1 - rate)
    let (x, y) = (input.pointer, output.pointer)
    mask.withUnsafeMutableBufferPointer { m in
      for i in 0..<count {
        m[i] = rng.nextUnitDouble() < Double(rate) ? 0 : keep
        y[i] = x[i] * m[i]
      }
    }
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    guard let inputGradient else { return }
    let count = input.shape.count
    let (dy, dx) = (outputGradient.pointer, inputGradient.pointer)
    guard isTraining && rate > 0 else {
      dx.update(from: dy, count: count)
      return
    }
    mask.withUnsafeBufferPointer { m in
      for i in 0..<count { dx[i] = dy[i] * m[i] }
    }
  }
}
