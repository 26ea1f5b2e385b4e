/// The soft Dice loss of class maps (Milletari et al. 2016, V-Net; multiclass over the whole
/// batch as nnU-Net's batch Dice): with `p` the pixels' softmax and `y` their one-hot labels,
/// `L = 1 − (1/K) Σ_c (2 I_c + s) / (S_c + s)`, `I_c = Σ p_c y_c`, `S_c = Σ p_c + Σ y_c`, over
/// the pixels not labelled `ignoreLabel`. The sums are global: each rank computes its share
/// (`statistics`), the trainer sums them over ranks, and each rank's gradient is then its own
/// pixels' part of the global loss's, so the result does not depend on the split.
public final class DiceLoss {
  /// `s`: keeps a class absent from the batch at Dice 1 while it is not predicted.
  public let smooth: Double
  private let probabilities: Tensor

  /// For logits of at most `capacity` (batch, K, H, W).
  public init(smooth: Double = 1, capacity: Shape) {
    self.smooth = smooth
    probabilities = Tensor(shape: capacity)
  }

  /// This rank's `[I_0, …, I_{K−1}, S_0, …, S_{K−1}]`, keeping the softmax for `lossAndGradient`.
  public func statistics(logits: Tensor, targets: UnsafeBufferPointer<UInt8>) -> [Double] {
    let (batch, classes, plane) = (logits.shape.batch, logits.shape.channels, logits.shape.plane)
    precondition(targets.count == batch * plane, "one label per pixel")
    probabilities.resize(batch: batch)
    var sums = [Double](repeating: 0, count: 2 * classes)
    var scores = [Float](repeating: 0, count: classes)
    var p = [Float](repeating: 0, count: classes)
    for n in 0..<batch {
      for pixel in 0..<plane {
        let label = targets[n * plane + pixel]
        guard label != PixelLoss.ignoreLabel else {
          for k in 0..<classes { probabilities.pointer[(n * classes + k) * plane + pixel] = 0 }
          continue
        }
        precondition(Int(label) < classes, "label \(label) outside 0..<\(classes)")
        for k in 0..<classes { scores[k] = logits.pointer[(n * classes + k) * plane + pixel] }
        _ = Softmax.probabilities(scores, into: &p, count: classes)
        for k in 0..<classes {
          probabilities.pointer[(n * classes + k) * plane + pixel] = p[k]
          sums[classes + k] += Double(p[k])
        }
        sums[Int(label)] += Double(p[Int(label)])
        sums[classes + Int(label)] += 1
      }
    }
    return sums
  }

  /// The loss from the statistics summed over every rank.
  public func loss(global: [Double]) -> Double {
    let classes = global.count / 2
    let dice = (0..<classes).reduce(0.0) { $0 + (2 * global[$1] + smooth) / (global[classes + $1] + smooth) }
    return 1 - dice / Double(classes)
  }

  /// Writes `scale · ∂L/∂z` for this rank's pixels into `gradient` (0 at ignored pixels), from
  /// the `global` statistics and the softmax of the last `statistics` call on these targets:
  /// `∂L/∂p_c = −(2 y_c (S_c + s) − (2 I_c + s)) / (K (S_c + s)²)`, then through the softmax.
  public func gradient(
    targets: UnsafeBufferPointer<UInt8>, global: [Double], scale: Float, gradient: Tensor
  ) {
    let (batch, classes, plane) = (gradient.shape.batch, gradient.shape.channels, gradient.shape.plane)
    precondition(global.count == 2 * classes && probabilities.shape == gradient.shape)
    let denominators = (0..<classes).map { Double(classes) * (global[classes + $0] + smooth) }
    let miss = (0..<classes).map {
      (2 * global[$0] + smooth) * Double(classes) / (denominators[$0] * denominators[$0])
    }
    let hit = (0..<classes).map { miss[$0] - 2 / denominators[$0] }
    var g = [Double](repeating: 0, count: classes)
    for n in 0..<batch {
      for pixel in 0..<plane {
        let label = targets[n * plane + pixel]
        let p = { (k: Int) in Double(self.probabilities.pointer[(n * classes + k) * plane + pixel]) }
        var mean = 0.0
        for k in 0..<classes {
          g[k] = label == PixelLoss.ignoreLabel ? 0 : (Int(label) == k ? hit[k] : miss[k])
          mean += p(k) * g[k]
        }
        for k in 0..<classes {
          gradient.pointer[(n * classes + k) * plane + pixel] = Float(Double(scale) * p(k) * (g[k] - mean))
        }
      }
    }
  }
}
