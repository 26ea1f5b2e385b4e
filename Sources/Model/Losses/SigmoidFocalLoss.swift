#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One-vs-all sigmoid focal loss with a per-image class weight, as in the reference code of
/// Cui et al. (CVPR 2019) for `cb-focal`; `γ = 0` gives `cb-sigmoid`. With `t_k = [k = y]`,
/// `s_k = 2t_k − 1`, and `p_t = σ(s_k z_k)`:
/// ```
/// ℓ = w_y Σ_k (1 − p_t)^γ · (−log p_t) = w_y Σ_k σ(−s z)^γ · softplus(−s z)
/// ∂ℓ/∂z_k = −w_y s_k [γ σ(s z) σ(−s z)^γ softplus(−s z) + σ(−s z)^{γ+1}]
/// ```
/// The mean is over images (the reference divides the sum by `Σ labels`, the batch size).
public struct SigmoidFocalLoss: ClassificationLoss {
  public let gamma: Float
  public let classWeights: [Float]

  public init(gamma: Float, classWeights: [Float]) {
    precondition(gamma >= 0, "γ must be non-negative")
    self.gamma = gamma
    self.classWeights = classWeights
  }

  public func lossAndGradient(
    logits: Tensor, labels: UnsafeBufferPointer<Int32>, imageWeights: UnsafeBufferPointer<Float>?,
    scale: Float, gradient: Tensor
  )
    -> Double
  {
    sumOverImages(
      logits: logits, labels: labels, imageWeights: imageWeights, scale: scale, gradient: gradient
    ) { z, g, y, classes, s in
      let weight = classWeights[y]
      var sum: Float = 0
      for k in 0..<classes {
        let sign: Float = k == y ? 1 : -1
        let u = sign * z[k]
        let softplus = max(-u, 0) + log1pf(expf(-abs(u)))  // −log σ(u), stable
        let miss = sigmoid(-u)  // 1 − p_t
        let modulator = gamma == 0 ? 1 : powf(miss, gamma)
        sum += modulator * softplus
        g[k] = -s * weight * sign * (gamma * sigmoid(u) * modulator * softplus + modulator * miss)
      }
      return Double(weight * sum)
    }
  }
}

@inline(__always) func sigmoid(_ x: Float) -> Float {
  x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
}
