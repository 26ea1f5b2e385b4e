import Foundation

/// One row of `train.csv` or `valid.csv`: the metrics of one epoch on one split.
public struct MetricsRow: Equatable, Sendable {
  public static let columns = [
    "epoch", "step", "loss", "accuracy", "top5", "macro_f1", "balanced_accuracy", "lr", "recon_mse",
    "images_per_s", "many_shot_accuracy", "medium_shot_accuracy", "few_shot_accuracy", "miou", "fwiou",
  ]
  /// The column counts of logs written before the shot groups and before the segmentation
  /// columns (still read, for `--resume`).
  static let olderColumnCounts = [10, 13]

  public var epoch: Int
  public var step: Int
  public var loss: Double
  public var accuracy: Double
  /// `nil` with 5 classes or fewer (an empty cell).
  public var top5: Double?
  public var macroF1: Double
  public var balancedAccuracy: Double
  public var learningRate: Double
  public var imagesPerSecond: Double
  /// Mean squared error of the decoder's reconstruction (`nil`, an empty cell, without one).
  public var reconstructionMSE: Double?
  /// Many-, medium- and few-shot accuracy (`nil`, an empty cell, for a group without classes).
  public var shotAccuracies: [Double?] = [nil, nil, nil]
  /// A segmentation run's mIoU and frequency-weighted IoU over the split's pixels (`nil`, empty
  /// cells, for a classifier).
  public var meanIoU: Double?
  public var frequencyWeightedIoU: Double?

  /// `pixels`: the evaluation counts pixels (a segmentation run), so its IoUs are logged too.
  public init(
    epoch: Int, step: Int, loss: Double, evaluation: Evaluation, learningRate: Double,
    imagesPerSecond: Double,
    shotGroups: ShotGroups? = nil, pixels: Bool = false
  ) {
    self.epoch = epoch
    self.step = step
    self.loss = loss
    accuracy = evaluation.metrics.accuracy
    top5 = evaluation.top5Accuracy
    macroF1 = evaluation.metrics.macroF1
    balancedAccuracy = evaluation.metrics.balancedAccuracy
    self.learningRate = learningRate
    self.imagesPerSecond = imagesPerSecond
    if let shotGroups {
      shotAccuracies = [shotGroups.many, shotGroups.medium, shotGroups.few].map(\.accuracy)
    }
    if pixels {
      let metrics = evaluation.segmentation
      (meanIoU, frequencyWeightedIoU) = (metrics.meanIoU, metrics.frequencyWeightedIoU)
    }
  }

  private static let shotNames = ["many_shot_accuracy", "medium_shot_accuracy", "few_shot_accuracy"]

  /// The numeric columns by name, `top5` only when present (for TensorBoard and the plots).
  public var scalars: [(name: String, value: Double)] {
    [("loss", loss), ("accuracy", accuracy)] + (top5.map { [("top5", $0)] } ?? [])
      + [
        ("macro_f1", macroF1), ("balanced_accuracy", balancedAccuracy), ("lr", learningRate),
        ("images_per_s", imagesPerSecond),
      ] + (reconstructionMSE.map { [("recon_mse", $0)] } ?? [])
      + zip(Self.shotNames, shotAccuracies).compactMap { name, value in value.map { (name, $0) } }
      + [("miou", meanIoU), ("fwiou", frequencyWeightedIoU)].compactMap { name, value in
        value.map { (name, $0) }
      }
  }

  var csvLine: String {
    [
      "\(epoch)", "\(step)", "\(loss)", "\(accuracy)", top5.map { "\($0)" } ?? "", "\(macroF1)",
      "\(balancedAccuracy)", "\(learningRate)", reconstructionMSE.map { "\($0)" } ?? "", "\(imagesPerSecond)",
    ]
    .joined(separator: ",")
      + (shotAccuracies + [meanIoU, frequencyWeightedIoU]).map { "," + ($0.map { "\($0)" } ?? "") }.joined()
  }

  init?(csvLine line: String) {
    let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    guard ([Self.columns.count] + Self.olderColumnCounts).contains(cells.count), let epoch = Int(cells[0]),
      let step = Int(cells[1]),
      let numbers = Optional([2, 3, 5, 6, 7, 9].compactMap { Double(cells[$0]) }), numbers.count == 6
    else { return nil }
    self.epoch = epoch
    self.step = step
    (loss, accuracy) = (numbers[0], numbers[1])
    top5 = Double(cells[4])
    reconstructionMSE = Double(cells[8])
    let optional = (10..<15).map { cells.indices.contains($0) ? Double(cells[$0]) : nil }
    shotAccuracies = Array(optional[0..<3])
    (meanIoU, frequencyWeightedIoU) = (optional[3], optional[4])
    (macroF1, balancedAccuracy, learningRate, imagesPerSecond) = (
      numbers[2], numbers[3], numbers[4], numbers[5]
    )
  }
}

/// `train.csv` / `valid.csv`: a header line and one row per epoch, rewritten atomically after
/// every epoch (they are small), so a reader never sees a half-written line.
public struct MetricsLog: Sendable {
  public let path: String
  public private(set) var rows: [MetricsRow] = []

  public init(path: String) { self.path = path }

  /// Reads an existing log, keeping the rows of epochs up to `epochs` (a resumed run rewrites
  /// what came after its checkpoint).
  public init(path: String, keepingEpochsUpTo epochs: Int) throws {
    self.path = path
    guard let data = FileManager.default.contents(atPath: path),
      let text = String(data: data, encoding: .utf8)
    else { return }
    for (number, line) in text.split(separator: "\n").enumerated().dropFirst() {
      guard let row = MetricsRow(csvLine: String(line)) else {
        throw CheckpointError.malformed(path: path, reason: "line \(number + 1) is not a metrics row")
      }
      if row.epoch <= epochs { rows.append(row) }
    }
  }

  public mutating func append(_ row: MetricsRow) throws {
    rows.append(row)
    try write()
  }

  public func write() throws {
    let text =
      ([MetricsRow.columns.joined(separator: ",")] + rows.map(\.csvLine)).joined(separator: "\n") + "\n"
    try writeAtomically(Data(text.utf8), to: path)
  }
}
