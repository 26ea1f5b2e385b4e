#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Softmax cross-entropy over logits `(batch, classes)`: `ℓ_i = −log softmax(z_i)[y_i]`,
/// with gradient `∂ℓ_i/∂z_i = softmax(z_i) − onehot(y_i)` (computed stably, max subtracted).
public enum SoftmaxCrossEntropy {
  /// Returns the *sum* of the per-image losses and writes `scale · ∂(Σℓ)/∂z` into `gradient`.
  ///
  /// With `scale = 1 / globalBatch` on every rank, the allreduce-sum of the ranks' gradients
  /// is exactly the gradient of the global mean loss, whatever each rank's share of the batch.
  public static func lossAndGradient(
    logits: Tensor, labels: UnsafeBufferPointer<Int32>, scale: Float, gradient: Tensor
  ) -> Double {
    let batch = logits.shape.batch
    let classes = logits.shape.perImage
    precondition(labels.count == batch && gradient.shape == logits.shape)
    var total = 0.0
    for n in 0..<batch {
      let z = logits.pointer + n * classes
      let g = gradient.pointer + n * classes
      let label = Int(labels[n])
      precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
      var maximum = z[0]
      for k in 1..<classes { maximum = max(maximum, z[k]) }
      var sum: Float = 0
      for k in 0..<classes {
        g[k] = expf(z[k] - maximum)
        sum += g[k]
      }
      total += Double(logf(sum) - (z[label] - maximum))
      let inverse = 1 / sum
      for k in 0..<classes { g[k] = g[k] * inverse * scale }
      g[label] -= scale
    }
    return total
  }
}
