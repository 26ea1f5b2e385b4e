import Foundation
import Loader
import Model

/// One image's prediction: the top classes, best first, with their softmax probabilities,
/// and (when asked for) every class's score.
public struct Prediction: Sendable {
  public let index: Int
  public let top: [(classIndex: Int, probability: Double)]
  public let logits: [Float]?
}

/// Applies a classifier to a range of inputs in batches (`predict`): images decoded and
/// prepared as the training records were, `evaluator`'s test-time augmentation and logit
/// adjustment on the scores, probabilities `softmax(scoreScale · scores)`.
public struct Predictor {
  public let classifier: Classifier
  public let evaluator: Evaluator
  public let topK: Int
  public let keepLogits: Bool
  /// Skip (and report) an image file that cannot be decoded instead of stopping.
  public let skipUnreadable: Bool

  public init(classifier: Classifier, evaluator: Evaluator, topK: Int, keepLogits: Bool, skipUnreadable: Bool)
  {
    self.classifier = classifier
    self.evaluator = evaluator
    self.topK = min(topK, classifier.classNames.count)
    self.keepLogits = keepLogits
    self.skipUnreadable = skipUnreadable
  }

  /// The predictions for `inputs[range]`, in order, and the errors of the images skipped;
  /// `progress` gets the count done after each batch.
  public func predict(_ inputs: PredictionInputs, range: Range<Int>, progress: (Int) -> Void = { _ in })
    throws
    -> (predictions: [Prediction], skipped: [Error])
  {
    var predictions: [Prediction] = []
    var skipped: [Error] = []
    var failed = Set<Int>()
    var done = 0
    let reader = RecordReader()
    let image = classifier.image
    let size = image.channels * image.height * image.width
    var pixels = [UInt8](repeating: 0, count: size)
    try evaluator.run(
      count: range.count, network: classifier.network, normalization: classifier.normalization,
      fill: { positions, input, labels in
        let indices = positions.map { range.lowerBound + $0 }
        switch inputs {
        case .records(let store, _):
          try BatchAssembler.copy(
            indices, of: store, normalization: classifier.normalization, into: input.pointer, labels: labels,
            offset: 0, reader: reader)
        case .files(let paths):
          for (slot, index) in indices.enumerated() {
            labels[slot] = 0
            let target = input.pointer + slot * size
            do {
              pixels = try classifier.preparation.record(path: paths[index], as: image)
            } catch  where skipUnreadable {
              skipped.append(error)
              failed.insert(index)
              target.update(repeating: 0, count: size)
              continue
            }
            BatchAssembler.normalize(
              pixels, channels: image.channels, plane: image.height * image.width,
              normalization: classifier.normalization, into: target)
          }
        }
      },
      { logits, _, count, _ in
        let classes = logits.shape.perImage
        for n in 0..<count {
          let index = range.lowerBound + done + n
          guard !failed.contains(index) else { continue }
          let row = UnsafeBufferPointer(start: logits.pointer + n * classes, count: classes)
          predictions.append(Prediction(index: index, top: top(row), logits: keepLogits ? Array(row) : nil))
        }
        done += count
        progress(done)
      })
    return (predictions, skipped)
  }

  /// The `topK` classes of one row of scores by `softmax(scoreScale · scores)`, best first
  /// (ties: the lower class index first).
  func top(_ scores: UnsafeBufferPointer<Float>) -> [(classIndex: Int, probability: Double)] {
    let probabilities = Self.probabilities(scores, scale: classifier.scoreScale)
    let order = probabilities.indices.sorted {
      probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1)
    }
    return order.prefix(topK).map { ($0, probabilities[$0]) }
  }

  /// `softmax(scale · scores)`, in Double.
  public static func probabilities(_ scores: some Collection<Float>, scale: Double) -> [Double] {
    let largest = Double(scores.max()!)
    let weights = scores.map { exp(scale * (Double($0) - largest)) }
    let total = weights.reduce(0, +)
    return weights.map { $0 / total }
  }
}
