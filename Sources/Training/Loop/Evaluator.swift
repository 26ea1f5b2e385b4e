import Loader
import Model

/// Test-time augmentation of `--tta`: `flip` averages the logits of each image and of its
/// mirror image (left–right), as torchvision-based evaluation scripts commonly do.
public enum TestTimeAugmentation: String, CaseIterable, Codable, Sendable {
  case none
  case flip
}

/// Runs a network over a whole split, in fixed-size batches, and tallies its predictions
/// against the labels. Used on rank 0 only.
public struct Evaluator {
  public let batchSize: Int
  public let augmentation: TestTimeAugmentation

  public init(batchSize: Int = 128, augmentation: TestTimeAugmentation = .none) {
    self.batchSize = batchSize
    self.augmentation = augmentation
  }

  public func evaluate(network: Network, images: LabeledImages, normalization: Normalization)
    -> Evaluation
  {
    var counts = PredictionCounts(classes: images.classCount)
    forEachBatch(of: images, normalization: normalization, network: network) { logits, labels, count in
      counts.add(logits: logits.pointer, labels: labels, count: count)
    }
    return Evaluation(counts)
  }

  /// The classifier's input features (the output of the layer before the last) of `limit`
  /// images spread evenly over the split, row by row, with their labels: what t-SNE embeds.
  public func features(network: Network, images: LabeledImages, normalization: Normalization, limit: Int)
    -> (features: [[Float]], labels: [Int32])
  {
    let step = max(1, images.count / max(limit, 1))
    let subset = images.subset(Array(stride(from: 0, to: images.count, by: step).prefix(limit)))
    var features: [[Float]] = []
    var allLabels: [Int32] = []
    forEachBatch(of: subset, normalization: normalization, network: network, augment: false) {
      _, labels, count in
      let activation = network.activation(ofLayer: network.layers.count - 2)
      let width = activation.shape.perImage
      for n in 0..<count {
        features.append(Array(UnsafeBufferPointer(start: activation.image(n), count: width)))
        allLabels.append(labels[n])
      }
    }
    return (features, allLabels)
  }

  /// Calls `body` with the logits (averaged over the augmentation), labels and image count of
  /// each batch.
  private func forEachBatch(
    of images: LabeledImages, normalization: Normalization, network: Network, augment: Bool = true,
    _ body: (Tensor, UnsafePointer<Int32>, Int) -> Void
  ) {
    let input = Tensor(shape: network.inputShape.with(batch: batchSize))
    var labels = [Int32](repeating: 0, count: batchSize)
    var averaged: Tensor?
    for start in stride(from: 0, to: images.count, by: batchSize) {
      let count = min(batchSize, images.count - start)
      input.resize(batch: count)
      labels.withUnsafeMutableBufferPointer { labelBuffer in
        BatchAssembler.copy(
          start..<(start + count), of: images, normalization: normalization,
          into: input.pointer, labels: labelBuffer.baseAddress!, offset: 0)
      }
      var logits = network.forward(input)
      if augment && augmentation == .flip {
        let sum = averaged ?? Tensor(shape: logits.shape.with(batch: batchSize))
        averaged = sum
        sum.resize(batch: count)
        sum.pointer.update(from: logits.pointer, count: logits.shape.count)
        mirrorLeftRight(input)
        logits = network.forward(input)
        for i in 0..<logits.shape.count { sum.pointer[i] = (sum.pointer[i] + logits.pointer[i]) / 2 }
        logits = sum
      }
      labels.withUnsafeBufferPointer { body(logits, $0.baseAddress!, count) }
    }
  }
}

/// Reverses every row of every plane of `images` in place (a left–right flip).
func mirrorLeftRight(_ images: Tensor) {
  let width = images.shape.width
  let rows = images.shape.count / width
  for r in 0..<rows {
    let row = images.pointer + r * width
    var (i, j) = (0, width - 1)
    while i < j {
      (row[i], row[j]) = (row[j], row[i])
      i += 1
      j -= 1
    }
  }
}
