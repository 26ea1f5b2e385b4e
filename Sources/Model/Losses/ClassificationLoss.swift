#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A loss over logits `(batch, classes)` with its analytic gradient.
///
/// The trainer divides the summed loss by a normaliser: the global batch size, or — for
/// losses that give `normalizingWeights` — `Σ_i w_{y_i}` over the global batch (PyTorch's
/// weighted mean, `CrossEntropyLoss(weight=…)`), summed across ranks. Each rank passes
/// `scale = 1/normaliser`, so the allreduce-sum of the ranks' gradients is the gradient of
/// the global mean, for any split of the batch across ranks.
public protocol ClassificationLoss: Sendable {
  /// `nil`: the mean is over images. Otherwise the mean is `Σ ℓ_i / Σ w_{y_i}` with these `w_c`.
  var normalizingWeights: [Float]? { get }
  /// Returns `Σ_i ℓ_i` over the batch and writes `scale · ∂(Σ ℓ_i)/∂z` into `gradient`.
  func lossAndGradient(logits: Tensor, labels: UnsafeBufferPointer<Int32>, scale: Float, gradient: Tensor)
    -> Double
}

extension ClassificationLoss {
  public var normalizingWeights: [Float]? { nil }

  /// `Σ_i w_{y_i}` over `labels` (the batch size when the mean is over images).
  public func normalizer(labels: UnsafeBufferPointer<Int32>) -> Double {
    guard let weights = normalizingWeights else { return Double(labels.count) }
    return labels.reduce(0) { $0 + Double(weights[Int($1)]) }
  }
}

/// Runs `body` on every image's logits row `z`, its gradient row `g` and its target `y`
/// (checked against the class count), and returns the sum of what `body` returns: the loop
/// every loss shares.
@inline(__always)
func sumOverImages(
  logits: Tensor, labels: UnsafeBufferPointer<Int32>, gradient: Tensor,
  _ body: (_ z: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ y: Int, _ classes: Int) ->
    Double
) -> Double {
  let (batch, classes) = (logits.shape.batch, logits.shape.perImage)
  precondition(
    labels.count == batch && gradient.shape == logits.shape, "labels or gradient do not match the logits")
  var total = 0.0
  for n in 0..<batch {
    let y = Int(labels[n])
    precondition(y >= 0 && y < classes, "label \(y) outside 0..<\(classes)")
    total += body(logits.pointer + n * classes, gradient.pointer + n * classes, y, classes)
  }
  return total
}

/// Row-wise softmax shared by the losses (computed stably: the maximum is subtracted).
enum Softmax {
  /// Writes `softmax(z)` into `p` and returns `log Σ exp(z)`.
  @inline(__always)
  static func probabilities(_ z: UnsafePointer<Float>, into p: UnsafeMutablePointer<Float>, count: Int)
    -> Float
  {
    var maximum = z[0]
    for k in 1..<count { maximum = max(maximum, z[k]) }
    var sum: Float = 0
    for k in 0..<count {
      p[k] = expf(z[k] - maximum)
      sum += p[k]
    }
    let inverse = 1 / sum
    for k in 0..<count { p[k] *= inverse }
    return maximum + logf(sum)
  }
}
