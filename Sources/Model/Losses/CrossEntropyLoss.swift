/// Softmax cross-entropy on adjusted logits, the one implementation behind several losses:
/// ```
/// z'_k = s · (z_k + o_k − m_y·[k = y]);   ℓ = w_y · (−log softmax(z')_y)
/// ∂ℓ/∂z_k = s · w_y · (softmax(z')_k − [k = y])
/// ```
/// - `ce`: no weights, offsets or margins, `s = 1`.
/// - `weighted-ce`: class weights `w`, mean `Σ w_y ℓ / Σ w_y` (PyTorch's weighted mean).
/// - `cb-softmax` (Cui et al. 2019): effective-number weights, mean over images.
/// - `balanced-softmax` / `logit-adjust` (Ren et al. 2020; Menon et al. 2021): `o_k = τ log π_k`.
/// - `ldam` (Cao et al. 2019): margins `m_c ∝ n_c^{−1/4}` on the target logit, scale `s`;
///   with DRW the weights switch on later, and the mean is PyTorch's weighted one.
public struct CrossEntropyLoss: ClassificationLoss {
  public var classWeights: [Float]?
  /// Divide by `Σ w_y` (PyTorch's weighted mean) rather than by the number of images.
  public var normalizeByWeights: Bool
  public var logitOffsets: [Float]?
  public var targetMargins: [Float]?
  public var scale: Float

  public init(
    classWeights: [Float]? = nil, normalizeByWeights: Bool = false, logitOffsets: [Float]? = nil,
    targetMargins: [Float]? = nil, scale: Float = 1
  ) {
    self.classWeights = classWeights
    self.normalizeByWeights = normalizeByWeights
    self.logitOffsets = logitOffsets
    self.targetMargins = targetMargins
    self.scale = scale
  }

  public var normalizingWeights: [Float]? { normalizeByWeights ? classWeights : nil }

  public func lossAndGradient(
    logits: Tensor, labels: UnsafeBufferPointer<Int32>, imageWeights: UnsafeBufferPointer<Float>?,
    scale gradientScale: Float, gradient: Tensor
  ) -> Double {
    var adjusted = [Float](repeating: 0, count: logits.shape.perImage)
    return sumOverImages(
      logits: logits, labels: labels, imageWeights: imageWeights, scale: gradientScale, gradient: gradient
    ) { z, g, y, classes, s in
      for k in 0..<classes { adjusted[k] = scale * (z[k] + (logitOffsets?[k] ?? 0)) }
      adjusted[y] -= scale * (targetMargins?[y] ?? 0)
      let logSumExp = adjusted.withUnsafeBufferPointer {
        Softmax.probabilities($0.baseAddress!, into: g, count: classes)
      }
      let weight = classWeights?[y] ?? 1
      let factor = s * weight * scale
      for k in 0..<classes { g[k] *= factor }
      g[y] -= factor
      return Double(weight * (logSumExp - adjusted[y]))
    }
  }
}
