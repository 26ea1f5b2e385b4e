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
  /// Returns `Σ_i v_i ℓ_i` over the batch and writes `scale · ∂(Σ v_i ℓ_i)/∂z` into `gradient`,
  /// with `v_i` the image's weight in `imageWeights` (1 for every image when `nil`).
  func lossAndGradient(
    logits: Tensor, labels: UnsafeBufferPointer<Int32>, imageWeights: UnsafeBufferPointer<Float>?,
    scale: Float, gradient: Tensor
  ) -> Double
}

extension ClassificationLoss {
  public var normalizingWeights: [Float]? { nil }

  /// Returns `Σ_i ℓ_i` over the batch and writes `scale · ∂(Σ ℓ_i)/∂z` into `gradient`.
  public func lossAndGradient(
    logits: Tensor, labels: UnsafeBufferPointer<Int32>, scale: Float, gradient: Tensor
  )
    -> Double
  {
    lossAndGradient(logits: logits, labels: labels, imageWeights: nil, scale: scale, gradient: gradient)
  }

  /// The loss towards `targets`: for two-class targets `Σ_i λ_i ℓ(z_i, a_i) + (1 − λ_i) ℓ(z_i, b_i)`,
  /// with `scratch` (the logits' shape) holding the second class's gradient.
  public func lossAndGradient(
    logits: Tensor, targets: Targets, scale: Float, gradient: Tensor, scratch: Tensor
  )
    -> Double
  {
    guard let partners = targets.partners, let weights = targets.weights else {
      return targets.labels.withUnsafeBufferPointer {
        lossAndGradient(logits: logits, labels: $0, scale: scale, gradient: gradient)
      }
    }
    let rest = weights.map { 1 - $0 }
    let first = targets.labels.withUnsafeBufferPointer { labels in
      weights.withUnsafeBufferPointer {
        lossAndGradient(logits: logits, labels: labels, imageWeights: $0, scale: scale, gradient: gradient)
      }
    }
    let second = partners.withUnsafeBufferPointer { labels in
      rest.withUnsafeBufferPointer {
        lossAndGradient(logits: logits, labels: labels, imageWeights: $0, scale: scale, gradient: scratch)
      }
    }
    for i in 0..<gradient.shape.count { gradient.pointer[i] += scratch.pointer[i] }
    return first + second
  }

  /// `Σ_i w_{y_i}` over `labels` (the batch size when the mean is over images).
  public func normalizer(labels: UnsafeBufferPointer<Int32>) -> Double {
    guard let weights = normalizingWeights else { return Double(labels.count) }
    return labels.reduce(0) { $0 + Double(weights[Int($1)]) }
  }

  /// `Σ_i λ_i w_{a_i} + (1 − λ_i) w_{b_i}`: the weighted mean's normaliser for two-class targets
  /// (the batch size when the mean is over images).
  public func normalizer(targets: Targets) -> Double {
    guard let weights = normalizingWeights else { return Double(targets.labels.count) }
    guard let partners = targets.partners, let lambdas = targets.weights else {
      return targets.labels.withUnsafeBufferPointer { normalizer(labels: $0) }
    }
    var total = 0.0
    for i in targets.labels.indices {
      let (a, b, lambda) = (Int(targets.labels[i]), Int(partners[i]), Double(lambdas[i]))
      total += lambda * Double(weights[a]) + (1 - lambda) * Double(weights[b])
    }
    return total
  }
}

/// Runs `body` on every image's logits row `z`, its gradient row `g`, its target `y` (checked
/// against the class count) and its gradient scale `s` (`scale` times the image's weight), and
/// returns the sum of what `body` returns times the image's weight: the loop every loss shares.
@inline(__always)
func sumOverImages(
  logits: Tensor, labels: UnsafeBufferPointer<Int32>, imageWeights: UnsafeBufferPointer<Float>?,
  scale: Float, gradient: Tensor,
  _ body: (
    _ z: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ y: Int, _ classes: Int, _ s: Float
  ) -> Double
) -> Double {
  let (batch, classes) = (logits.shape.batch, logits.shape.perImage)
  precondition(
    labels.count == batch && gradient.shape == logits.shape && (imageWeights?.count ?? batch) == batch,
    "labels, weights or gradient do not match the logits")
  var total = 0.0
  for n in 0..<batch {
    let y = Int(labels[n])
    precondition(y >= 0 && y < classes, "label \(y) outside 0..<\(classes)")
    let weight = imageWeights?[n] ?? 1
    total +=
      Double(weight)
      * body(logits.pointer + n * classes, gradient.pointer + n * classes, y, classes, scale * weight)
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
