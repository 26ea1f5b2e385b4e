#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Multi-class (softmax) focal loss (Lin et al., ICCV 2017), optionally class-weighted (α):
/// ```
/// ℓ = −w_y (1 − p_y)^γ log p_y,   p = softmax(z)
/// ∂ℓ/∂z_k = w_y · A · ([k = y] − p_k),   A = γ p_y (1 − p_y)^{γ−1} log p_y − (1 − p_y)^γ
/// ```
/// With weights the mean is `Σ ℓ / Σ w_y`, as PyTorch's weighted losses. `γ = 0` is cross-entropy.
public struct FocalLoss: ClassificationLoss {
  public let gamma: Float
  public let classWeights: [Float]?

  public init(gamma: Float, classWeights: [Float]? = nil) {
    precondition(gamma >= 0, "γ must be non-negative")
    self.gamma = gamma
    self.classWeights = classWeights
  }

  public var normalizingWeights: [Float]? { classWeights }

  public func lossAndGradient(
    logits: Tensor, labels: UnsafeBufferPointer<Int32>, imageWeights: UnsafeBufferPointer<Float>?,
    scale: Float, gradient: Tensor
  )
    -> Double
  {
    sumOverImages(
      logits: logits, labels: labels, imageWeights: imageWeights, scale: scale, gradient: gradient
    ) { z, p, y, classes, s in
      let logSumExp = Softmax.probabilities(z, into: p, count: classes)
      let logPy = z[y] - logSumExp
      let py = p[y]
      let rest = max(1 - py, 0)
      let weight = classWeights?[y] ?? 1
      // (1 − p_y)^{γ−1} · p_y · log p_y → 0 as p_y → 1 for γ > 0; guard the 0 · ∞ at p_y = 1.
      let first: Float = (gamma == 0 || rest == 0) ? 0 : gamma * py * powf(rest, gamma - 1) * logPy
      let factor = s * weight * (first - powf(rest, gamma))
      for k in 0..<classes { p[k] = -factor * p[k] }
      p[y] += factor
      return Double(-weight * powf(rest, gamma) * logPy)
    }
  }
}
