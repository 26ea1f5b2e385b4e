import Model

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What a pass over labelled images tallies from the logits: the confusion matrix (arg-max),
/// how often the label is among the 5 largest logits, and the summed cross-entropy
/// `−log softmax(z)_y` of the raw logits. Counts add, so ranks can sum theirs.
public struct PredictionCounts: Sendable, Equatable {
  public private(set) var matrix: ConfusionMatrix
  public private(set) var top5Correct = 0
  public private(set) var crossEntropySum = 0.0

  public init(classes: Int) { matrix = ConfusionMatrix(classes: classes) }

  public var classes: Int { matrix.classes }
  public var images: Int { matrix.total }

  /// Tallies `count` images whose logits are rows of `classes` floats.
  public mutating func add(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int) {
    let k = classes
    for n in 0..<count {
      let row = logits + n * k
      let label = Int(labels[n])
      var best = 0
      var largest = row[0]
      var above = 0  // logits strictly larger than the label's: the label is in the top 5 iff < 5
      for j in 0..<k {
        if row[j] > largest { (best, largest) = (j, row[j]) }
        if row[j] > row[label] { above += 1 }
      }
      var sum = 0.0
      for j in 0..<k { sum += exp(Double(row[j] - largest)) }
      crossEntropySum += log(sum) - Double(row[label] - largest)
      if above < 5 { top5Correct += 1 }
      matrix.add(truth: label, prediction: best)
    }
  }

  /// Tallies every labelled pixel of class maps `(batch, K, H, W)` as one sample, against its
  /// label in `masks` (image by image, row by row); pixels labelled 255 count nowhere.
  public mutating func addPixels(maps: Tensor, masks: UnsafeBufferPointer<UInt8>) {
    let (batch, k, plane) = (maps.shape.batch, maps.shape.channels, maps.shape.plane)
    precondition(masks.count == batch * plane && k == classes, "one label per pixel, one map per class")
    var rows: [Float] = []
    var labels: [Int32] = []
    for n in 0..<batch {
      (rows, labels) = ([], [])
      for p in 0..<plane where masks[n * plane + p] != PixelLoss.ignoreLabel {
        labels.append(Int32(masks[n * plane + p]))
        for c in 0..<k { rows.append(maps.pointer[(n * k + c) * plane + p]) }
      }
      add(logits: rows, labels: labels, count: labels.count)
    }
  }

  /// The counts as one flat array: top-5, cross-entropy, then each cell that occurs as
  /// (truth, prediction, count); its length grows with the cells, not with K².
  public var flattened: [Double] {
    [Double(top5Correct), crossEntropySum]
      + matrix.entries.flatMap { [Double($0.truth), Double($0.prediction), Double($0.count)] }
  }

  /// The inverse of `flattened`; `nil` for values that no counts flatten to.
  public init?(flattened values: some Collection<Double>, classes: Int) {
    let values = Array(values)
    guard values.count >= 2, (values.count - 2) % 3 == 0 else { return nil }
    self.init(classes: classes)
    top5Correct = Int(values[0].rounded())
    crossEntropySum = values[1]
    for cell in stride(from: 2, to: values.count, by: 3) {
      let (truth, prediction, count) = (values[cell], values[cell + 1], values[cell + 2])
      guard [truth, prediction, count].allSatisfy({ $0.isFinite && $0 >= 0 && $0 == $0.rounded() }),
        Int(truth) < classes, Int(prediction) < classes
      else { return nil }
      matrix.add(truth: Int(truth), prediction: Int(prediction), count: Int(count))
    }
  }

  /// Adds another rank's counts.
  public mutating func merge(_ other: PredictionCounts) {
    matrix.merge(other.matrix)
    top5Correct += other.top5Correct
    crossEntropySum += other.crossEntropySum
  }
}

/// The metrics of one split at one moment: the classification metrics of the confusion matrix,
/// top-5 accuracy (only when there are more than 5 classes) and the mean cross-entropy.
public struct Evaluation: Sendable, Equatable {
  public let counts: PredictionCounts
  public let metrics: ClassificationMetrics
  /// Mean squared error of the decoder's reconstruction of the split's pixels, for models with one.
  public var reconstructionMSE: Double?

  public init(_ counts: PredictionCounts) {
    self.counts = counts
    metrics = ClassificationMetrics(counts.matrix)
  }

  public var top5Accuracy: Double? {
    counts.classes > 5 && counts.images > 0 ? Double(counts.top5Correct) / Double(counts.images) : nil
  }

  /// The segmentation metrics of the confusion matrix (IoU, Dice, mIoU; for pixels, or for
  /// images as the Jaccard index of each class).
  public var segmentation: SegmentationMetrics { SegmentationMetrics(counts.matrix) }

  public var meanCrossEntropy: Double {
    counts.images == 0 ? 0 : counts.crossEntropySum / Double(counts.images)
  }

  /// The value of `metric` (higher is better for all of them but `loss`).
  public func value(of metric: SelectionMetric) -> Double {
    switch metric {
    case .macroF1: return metrics.macroF1
    case .accuracy: return metrics.accuracy
    case .balancedAccuracy: return metrics.balancedAccuracy
    case .weightedF1: return metrics.weightedF1
    case .gmean: return metrics.geometricMeanRecall
    case .loss: return meanCrossEntropy
    case .meanIoU: return segmentation.meanIoU
    }
  }
}

/// The validation metric that picks the best checkpoint (`--select-by`).
public enum SelectionMetric: String, CaseIterable, Codable, Sendable {
  case macroF1 = "macro-f1"
  case accuracy
  case balancedAccuracy = "balanced-accuracy"
  case weightedF1 = "weighted-f1"
  case gmean
  /// Mean validation cross-entropy; the only one where lower is better.
  case loss
  /// Mean IoU over the classes (the default of `--task segmentation`).
  case meanIoU = "miou"

  /// Whether `candidate` beats `incumbent` (strictly: ties keep the earlier checkpoint).
  public func improves(_ candidate: Double, on incumbent: Double?) -> Bool {
    guard let incumbent else { return true }
    return self == .loss ? candidate < incumbent : candidate > incumbent
  }
}
