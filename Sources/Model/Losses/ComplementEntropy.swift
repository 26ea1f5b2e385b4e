#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The complement term of Chen et al. (ICLR 2019, "Complement Objective Training"): with
/// `P_j = p_j / (1 − p_y)` for `j ≠ y` — which is exactly the softmax of the non-target logits —
/// `f = Σ_{j≠y} P_j log P_j` is the negative entropy of the wrong classes. Its gradient is
/// `∂f/∂z_j = P_j (log P_j − f)` for `j ≠ y` and 0 for the target: minimising `f` flattens the
/// wrong classes without touching the right one.
enum ComplementTerm {
  /// Returns `f` and writes `factor · ∂f/∂z` into `g` (overwriting it).
  @inline(__always)
  static func value(
    _ z: UnsafePointer<Float>, target y: Int, classes: Int, factor: Float,
    gradient g: UnsafeMutablePointer<Float>
  ) -> Float {
    var maximum = -Float.infinity
    for k in 0..<classes where k != y { maximum = max(maximum, z[k]) }
    var sum: Float = 0
    for k in 0..<classes where k != y { sum += expf(z[k] - maximum) }
    let logSum = maximum + logf(sum)
    var f: Float = 0
    for k in 0..<classes where k != y {
      let logP = z[k] - logSum
      g[k] = expf(logP)
      f += g[k] * logP
    }
    for k in 0..<classes where k != y { g[k] *= factor * ((z[k] - logSum) - f) }
    g[y] = 0
    return f
  }
}

/// The second objective of Complement Objective Training (Chen et al. 2019), the step that
/// alternates with cross-entropy: `ℓ = (1/K) Σ_{j≠y} P_j log P_j` (normalised by K as in the
/// paper's code).
public struct ComplementEntropyLoss: ClassificationLoss {
  public init() {}

  public func lossAndGradient(
    logits: Tensor, labels: UnsafeBufferPointer<Int32>, imageWeights: UnsafeBufferPointer<Float>?,
    scale: Float, gradient: Tensor
  )
    -> Double
  {
    sumOverImages(
      logits: logits, labels: labels, imageWeights: imageWeights, scale: scale, gradient: gradient
    ) { z, g, y, classes, s in
      let normalisation = 1 / Float(classes)
      let f = ComplementTerm.value(z, target: y, classes: classes, factor: s * normalisation, gradient: g)
      return Double(f * normalisation)
    }
  }
}

/// Complement cross-entropy (Kim, Lee & Jeon, ICPR 2020): cross-entropy plus the γ-scaled
/// complement term normalised by `K − 1`, in one objective:
/// ```
/// ℓ = −log p_y + (γ / (K − 1)) Σ_{j≠y} P_j log P_j
/// ```
public struct ComplementCrossEntropyLoss: ClassificationLoss {
  public let gamma: Float
  public init(gamma: Float) { self.gamma = gamma }

  public func lossAndGradient(
    logits: Tensor, labels: UnsafeBufferPointer<Int32>, imageWeights: UnsafeBufferPointer<Float>?,
    scale: Float, gradient: Tensor
  )
    -> Double
  {
    let weight = gamma / Float(logits.shape.perImage - 1)
    var complement = [Float](repeating: 0, count: logits.shape.perImage)
    return sumOverImages(
      logits: logits, labels: labels, imageWeights: imageWeights, scale: scale, gradient: gradient
    ) { z, g, y, classes, s in
      let f = complement.withUnsafeMutableBufferPointer {
        ComplementTerm.value(
          z, target: y, classes: classes, factor: s * weight, gradient: $0.baseAddress!)
      }
      let logSumExp = Softmax.probabilities(z, into: g, count: classes)
      for k in 0..<classes { g[k] = s * g[k] + complement[k] }
      g[y] -= s
      return Double(logSumExp - z[y] + weight * f)
    }
  }
}
