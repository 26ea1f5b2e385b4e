/// A classification loss at every pixel of `K` class maps (segmentation, as PyTorch's
/// `cross_entropy(logits, target, weight=w, ignore_index=255)` over `(batch, K, H, W)`): each
/// pixel's `K` scores are one row of the wrapped loss, and a pixel labelled `ignoreLabel` adds
/// nothing to the loss, the gradient or the normaliser. The normaliser is the labelled pixels'
/// count, or `Σ w_y` over them for a weighted mean, summed over ranks by the trainer, so the
/// mean does not depend on how pixels are split between ranks.
public final class PixelLoss {
  public static let ignoreLabel: UInt8 = 255
  /// The wrapped loss (an epoch's objective may replace it).
  public var loss: ClassificationLoss
  private let rows: Tensor
  private let rowGradient: Tensor
  private var labels: [Int32]
  private var weights: [Float]

  /// For logits of at most `capacity` (batch, K, H, W).
  public init(_ loss: ClassificationLoss, capacity: Shape) {
    self.loss = loss
    let pixels = capacity.batch * capacity.plane
    rows = Tensor(shape: Shape(batch: pixels, channels: capacity.channels))
    rowGradient = Tensor(shape: Shape(batch: pixels, channels: capacity.channels))
    labels = [Int32](repeating: 0, count: pixels)
    weights = [Float](repeating: 0, count: pixels)
  }

  /// Returns `Σ w_y ℓ` over the labelled pixels of `targets` (one label per pixel, image by
  /// image, row by row) and writes `scale · ∂/∂logits` into `gradient` (the logits' shape).
  public func lossAndGradient(
    logits: Tensor, targets: UnsafeBufferPointer<UInt8>, scale: Float, gradient: Tensor
  )
    -> Double
  {
    let (batch, classes, plane) = (logits.shape.batch, logits.shape.channels, logits.shape.plane)
    precondition(targets.count == batch * plane && gradient.shape == logits.shape)
    rows.resize(batch: batch * plane)
    rowGradient.resize(batch: batch * plane)
    for n in 0..<batch {
      for p in 0..<plane {
        let row = n * plane + p
        for k in 0..<classes {
          rows.pointer[row * classes + k] = logits.pointer[(n * classes + k) * plane + p]
        }
        let ignored = targets[row] == Self.ignoreLabel
        labels[row] = ignored ? 0 : Int32(targets[row])
        weights[row] = ignored ? 0 : 1
      }
    }
    let total = labels.withUnsafeBufferPointer { labels in
      weights.withUnsafeBufferPointer { weights in
        loss.lossAndGradient(
          logits: rows, labels: UnsafeBufferPointer(rebasing: labels[0..<(batch * plane)]),
          imageWeights: UnsafeBufferPointer(rebasing: weights[0..<(batch * plane)]), scale: scale,
          gradient: rowGradient)
      }
    }
    for n in 0..<batch {
      for k in 0..<classes {
        for p in 0..<plane {
          gradient.pointer[(n * classes + k) * plane + p] = rowGradient.pointer[(n * plane + p) * classes + k]
        }
      }
    }
    return total
  }

  /// The labelled pixels of `targets`, or `Σ w_y` over them when the loss is a weighted mean.
  public func normalizer(targets: UnsafeBufferPointer<UInt8>) -> Double {
    let weights = loss.normalizingWeights
    return targets.reduce(0) { total, label in
      label == Self.ignoreLabel ? total : total + (weights.map { Double($0[Int(label)]) } ?? 1)
    }
  }
}
