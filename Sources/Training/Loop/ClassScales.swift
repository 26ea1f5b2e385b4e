import Model

/// LWS, learnable weight scaling (Kang et al., ICLR 2020): one scale `f_k` per class on the
/// frozen classifier, `z_k = f_k (w⁰_k·x + b⁰_k)`, trained by SGD with momentum and weight decay
/// in PyTorch's form. The scales stay folded into the classifier (`w_k = f_k w⁰_k`,
/// `b_k = f_k b⁰_k`), so every forward pass, checkpoint and export is the scaled model without
/// an extra layer, and the scales' gradient comes from the classifier's own:
/// `∂L/∂f_k = (∂L/∂w_k · w_k + ∂L/∂b_k · b_k) / f_k`.
public struct ClassScales: Sendable, Equatable {
  public var scales: [Double]
  public var velocity: [Double]

  /// Every scale 1, no momentum yet.
  public init(classes: Int) {
    scales = [Double](repeating: 1, count: classes)
    velocity = [Double](repeating: 0, count: classes)
  }

  public init(scales: [Double], velocity: [Double]) {
    precondition(scales.count == velocity.count)
    (self.scales, self.velocity) = (scales, velocity)
  }

  /// One SGD step on the scales from the classifier's gradients in `network` (already summed
  /// over the ranks), rescaling each class's row and bias to the new scale.
  public mutating func step(network: Network, learningRate: Double, momentum: Double, weightDecay: Double) {
    guard let weights = network.classifierWeight,
      let weightGradient = network.classifierGradient(of: "weight")
    else { return }
    let (bias, biasGradient) = (network.classifierBias, network.classifierGradient(of: "bias"))
    let features = weights.count / scales.count
    for k in scales.indices where abs(scales[k]) > 1e-12 {
      var gradient = Double(biasGradient?[k] ?? 0) * Double(bias?[k] ?? 0)
      for i in (k * features)..<((k + 1) * features) {
        gradient += Double(weightGradient[i]) * Double(weights[i])
      }
      velocity[k] = momentum * velocity[k] + gradient / scales[k] + weightDecay * scales[k]
      let updated = scales[k] - learningRate * velocity[k]
      let ratio = Float(updated / scales[k])
      for i in (k * features)..<((k + 1) * features) { weights[i] *= ratio }
      bias?[k] *= ratio
      scales[k] = updated
    }
  }
}
