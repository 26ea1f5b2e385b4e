/// The reconstruction objective of an autoencoder: squared error `Σ (y − t)²` over every
/// element, whose mean over the global batch's elements the trainer takes by passing
/// `scale = weight / (global batch · elements per image)`.
public enum MeanSquaredError {
  /// Returns `Σ (y − t)²` and writes `scale · 2(y − t)` into `gradient`.
  public static func lossAndGradient(output: Tensor, target: Tensor, scale: Float, gradient: Tensor) -> Double
  {
    precondition(
      output.shape == target.shape && gradient.shape == output.shape, "reconstruction shapes differ")
    let (y, t, g) = (output.pointer, target.pointer, gradient.pointer)
    var total = 0.0
    for n in 0..<output.shape.batch {
      var sum: Float = 0
      for i in (n * output.shape.perImage)..<((n + 1) * output.shape.perImage) {
        let d = y[i] - t[i]
        sum += d * d
        g[i] = scale * 2 * d
      }
      total += Double(sum)
    }
    return total
  }
}
