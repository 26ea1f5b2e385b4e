import Foundation
import Model

/// The final result of a run on one split (`test.json`, and the last line rank 0 prints, as
/// one JSON object so scripts can read it): every metric, the per-class table and the
/// confusion matrix. Keys are snake_case and sorted.
public struct TestReport: Codable, Sendable, Equatable {
  public struct ClassRow: Codable, Sendable, Equatable {
    public var name: String
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int
  }

  public var split: String
  /// The checkpoint evaluated (`best.safetensors`) and the epoch it was saved at.
  public var checkpoint: String
  public var epoch: Int
  public var tta: TestTimeAugmentation
  public var accuracy: Double
  /// `nil` with 5 classes or fewer.
  public var top5: Double?
  public var macroF1: Double
  public var weightedF1: Double
  public var balancedAccuracy: Double
  public var gmean: Double
  /// Mean cross-entropy of the raw logits.
  public var loss: Double
  /// Recall per class (also in `perClass`; kept flat for one-line consumers).
  public var recall: [Double]
  public var perClass: [ClassRow]
  /// The confusion matrix `[truth][prediction]`, up to `denseLimit` classes.
  public var confusionMatrix: [[Int]]?
  /// Above `denseLimit` classes, the cells that occur as `[truth, prediction, count]`, by true
  /// class then prediction: exact, and as long as the cells that occur, not K².
  public var confusionMatrixSparse: [[Int]]?
  /// Many-, medium- and few-shot accuracy (absent in reports of older builds).
  public var shotGroups: ShotGroups?
  /// The post-hoc adjustment behind these predictions: `evaluate --logit-adjust` or `--tau-norm`.
  public var logitAdjustment: AdjustmentReport?
  public var tauNormalization: AdjustmentReport?
  /// A segmentation run's metrics of the pixel confusion matrix (`nil` for classifiers): every
  /// other field then counts pixels, not images.
  public var segmentation: SegmentationMetrics?
  /// Global training throughput over the run (all ranks, training steps only); 0 when the
  /// report comes from `imbal-dist evaluate`.
  public var imagesPerS: Double

  public init(
    split: String, evaluation: Evaluation, classNames: [String], checkpoint: String, epoch: Int,
    tta: TestTimeAugmentation, imagesPerSecond: Double, shotGroups: ShotGroups? = nil,
    adjustment: (method: ScoreAdjustment.Method, report: AdjustmentReport)? = nil, pixels: Bool = false
  ) {
    segmentation = pixels ? evaluation.segmentation : nil
    let metrics = evaluation.metrics
    self.split = split
    self.checkpoint = checkpoint
    self.epoch = epoch
    self.tta = tta
    accuracy = metrics.accuracy
    top5 = evaluation.top5Accuracy
    macroF1 = metrics.macroF1
    weightedF1 = metrics.weightedF1
    balancedAccuracy = metrics.balancedAccuracy
    gmean = metrics.geometricMeanRecall
    loss = evaluation.meanCrossEntropy
    recall = metrics.recall
    perClass = classNames.indices.map {
      ClassRow(
        name: classNames[$0], precision: metrics.precision[$0], recall: metrics.recall[$0],
        f1: metrics.f1[$0],
        support: metrics.support[$0])
    }
    let matrix = evaluation.counts.matrix
    if matrix.classes <= Self.denseLimit {
      confusionMatrix = matrix.counts
    } else {
      confusionMatrixSparse = matrix.entries.map { [$0.truth, $0.prediction, $0.count] }
    }
    imagesPerS = imagesPerSecond
    self.shotGroups = shotGroups
    logitAdjustment = adjustment?.method == .logitAdjustment ? adjustment?.report : nil
    tauNormalization = adjustment?.method == .tauNormalization ? adjustment?.report : nil
  }

  /// Each class's share of the evaluated samples (of the labelled pixels in a segmentation run).
  public var supportShares: [Double] {
    let total = Double(max(perClass.reduce(0) { $0 + $1.support }, 1))
    return perClass.map { Double($0.support) / total }
  }

  /// The most classes whose confusion matrix test.json writes as a K×K table.
  public static let denseLimit = 100

  /// The confusion matrix, from whichever form the report holds.
  public var confusion: ConfusionMatrix {
    if let confusionMatrix { return ConfusionMatrix(counts: confusionMatrix) }
    var matrix = ConfusionMatrix(classes: perClass.count)
    let classes = 0..<perClass.count
    for cell in confusionMatrixSparse ?? []
    where cell.count == 3 && classes.contains(cell[0]) && classes.contains(cell[1]) && cell[2] >= 0 {
      matrix.add(truth: cell[0], prediction: cell[1], count: cell[2])
    }
    return matrix
  }

  /// One line of JSON.
  public var json: String { String(data: try! RunJSON.encoder(pretty: false).encode(self), encoding: .utf8)! }

  /// The `test.json` file.
  public var file: Data { try! RunJSON.encoder().encode(self) }

  public init(contentsOf path: String) throws {
    self = try RunJSON.decode(TestReport.self, from: path, what: "a test report")
  }

  private var adjustmentNote: String {
    let adjusted = [("logits adjusted", logitAdjustment), ("classifier τ-normalised", tauNormalization)]
    guard let (what, report) = adjusted.first(where: { $0.1 != nil }).map({ ($0.0, $0.1!) }) else {
      return ""
    }
    let chosen = report.chosenBy.map { " chosen by \($0)" } ?? ""
    return ", \(what) with τ = \(report.tau)\(chosen)"
  }

  /// Human-readable lines: the headline metrics, then the per-class table.
  public var summaryLines: [String] {
    var lines = [
      "\(split) (\(checkpoint), epoch \(epoch)\(tta == .none ? "" : ", \(tta.rawValue) TTA")\(adjustmentNote))  accuracy \(fixed(accuracy, 4))  "
        + "macro-F1 \(fixed(macroF1, 4))  balanced accuracy \(fixed(balancedAccuracy, 4))  "
        + "weighted-F1 \(fixed(weightedF1, 4))  G-mean \(fixed(gmean, 4))"
        + (top5.map { "  top-5 \(fixed($0, 4))" } ?? "")
    ]
    if let shotGroups { lines.append(shotGroups.summary) }
    if let segmentation {
      lines.append(
        "  pixels: mIoU \(fixed(segmentation.meanIoU, 4))  pixel accuracy \(fixed(segmentation.pixelAccuracy, 4))  "
          + "frequency-weighted IoU \(fixed(segmentation.frequencyWeightedIoU, 4))")
    }
    let width = max(perClass.map(\.name.count).max() ?? 0, 5)
    lines.append(
      "  \("class".padding(toLength: width, withPad: " ", startingAt: 0))  precision  recall  f1      support"
        + (segmentation == nil ? "" : "  IoU")
    )
    let shown =
      perClass.count > RunReport.manyClasses
      ? Array(perClass.sorted { ($0.recall, $0.name) < ($1.recall, $1.name) }.prefix(10)) : perClass
    for row in shown {
      let iou = segmentation.map { metrics in
        perClass.firstIndex(of: row).flatMap { metrics.iou[$0] }.map { "  " + fixed($0, 4) } ?? "  -"
      }
      lines.append(
        "  \(row.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(fixed(row.precision, 4))     "
          + "\(fixed(row.recall, 4))  \(fixed(row.f1, 4))  \(row.support)\(iou ?? "")")
    }
    if shown.count < perClass.count {
      lines.append(
        "  (the 10 classes of lowest recall of \(perClass.count); the JSON line and the run's per_class.csv list all)"
      )
    }
    return lines
  }
}
