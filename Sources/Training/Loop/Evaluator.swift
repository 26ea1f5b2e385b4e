import Loader
import Model

/// Runs a network over a whole split, in fixed-size batches, and counts its predictions
/// (arg-max of the logits) against the labels. Used on rank 0 only.
public struct Evaluator {
  public let batchSize: Int
  public init(batchSize: Int = 128) { self.batchSize = batchSize }

  public func confusionMatrix(network: Network, images: LabeledImages, normalization: Normalization)
    -> ConfusionMatrix
  {
    var matrix = ConfusionMatrix(classes: images.classCount)
    let input = Tensor(shape: network.inputShape.with(batch: batchSize))
    var labels = [Int32](repeating: 0, count: batchSize)
    for start in stride(from: 0, to: images.count, by: batchSize) {
      let count = min(batchSize, images.count - start)
      input.resize(batch: count)
      labels.withUnsafeMutableBufferPointer { labelBuffer in
        BatchAssembler.copy(
          start..<(start + count), of: images, normalization: normalization,
          into: input.pointer, labels: labelBuffer.baseAddress!, offset: 0)
      }
      let logits = network.forward(input)
      let classes = logits.shape.perImage
      for n in 0..<count {
        let row = logits.pointer + n * classes
        var best = 0
        for k in 1..<classes where row[k] > row[best] { best = k }
        matrix.add(truth: Int(labels[n]), prediction: best)
      }
    }
    return matrix
  }
}
