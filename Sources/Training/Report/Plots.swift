import Foundation

/// The SVG figures of a run: learning curves, the confusion matrix as a heat map, per-class
/// recall against class count, and the t-SNE map of the encoder's features.
public enum Plots {
  /// One metric per epoch for the training and validation logs.
  public static func learningCurve(
    title: String, train: [(epoch: Int, value: Double)], valid: [(epoch: Int, value: Double)]
  ) -> String {
    var svg = SVG(width: 480, height: 300)
    let (left, right, top, bottom) = (56.0, 460.0, 36.0, 250.0)
    let all = train + valid
    let lastEpoch = Double(max(all.map(\.epoch).max() ?? 1, 2))
    let firstEpoch = Double(min(all.map(\.epoch).min() ?? 1, 1))
    var low = all.map(\.value).min() ?? 0
    var high = all.map(\.value).max() ?? 1
    if high - low < 1e-9 { (low, high) = (low - 0.5, high + 0.5) }
    let pad = (high - low) * 0.05
    (low, high) = (low - pad, high + pad)
    func x(_ epoch: Int) -> Double {
      left + (Double(epoch) - firstEpoch) / (lastEpoch - firstEpoch) * (right - left)
    }
    func y(_ value: Double) -> Double { bottom - (value - low) / (high - low) * (bottom - top) }
    svg.text(title, x: (left + right) / 2, y: 20, size: 14, anchor: "middle")
    for k in 0...4 {
      let value = low + Double(k) / 4 * (high - low)
      svg.line(x1: left, y1: y(value), x2: right, y2: y(value), stroke: "#e4e4e4")
      svg.text(String(format: "%.3g", value), x: left - 6, y: y(value) + 4, size: 10, anchor: "end")
    }
    let epochs = Set(all.map(\.epoch)).sorted()
    let every = max(1, epochs.count / 10)
    for (i, epoch) in epochs.enumerated() where i % every == 0 {
      svg.text("\(epoch)", x: x(epoch), y: bottom + 16, size: 10, anchor: "middle")
    }
    svg.line(x1: left, y1: bottom, x2: right, y2: bottom, stroke: "#444")
    svg.line(x1: left, y1: top, x2: left, y2: bottom, stroke: "#444")
    svg.text("epoch", x: (left + right) / 2, y: bottom + 34, size: 11, anchor: "middle")
    for (series, name, color) in [(train, "train", classColor(0)), (valid, "valid", classColor(1))]
    where !series.isEmpty {
      svg.polyline(series.map { (x($0.epoch), y($0.value)) }, stroke: color)
      for point in series { svg.circle(x: x(point.epoch), y: y(point.value), radius: 2.5, fill: color) }
      let legendY = name == "train" ? top + 4 : top + 20
      svg.rect(x: right - 70, y: legendY - 8, width: 10, height: 10, fill: color)
      svg.text(name, x: right - 55, y: legendY + 1, size: 11)
    }
    return svg.document
  }

  /// Rows are true classes, columns predictions; each cell is shaded by the row's share (the
  /// per-class recall on the diagonal) and shows the count.
  public static func confusionMatrix(_ matrix: ConfusionMatrix, classNames: [String]) -> String {
    let k = matrix.classes
    let cell = max(18.0, min(48.0, 480.0 / Double(max(k, 1))))
    let labelWidth = 8.0 * Double(classNames.map(\.count).max() ?? 4) + 16
    let (left, top) = (labelWidth + 24, 40.0)
    var svg = SVG(width: left + cell * Double(k) + 20, height: top + cell * Double(k) + labelWidth + 30)
    svg.text("confusion matrix (rows: true class, shade: share of the row)", x: 10, y: 22, size: 14)
    let support = matrix.support
    for t in 0..<k {
      for p in 0..<k {
        let count = matrix[t, p]
        let share = support[t] == 0 ? 0 : Double(count) / Double(support[t])
        let shade = Int((1 - share) * 235) + 20
        svg.rect(
          x: left + Double(p) * cell, y: top + Double(t) * cell, width: cell - 1, height: cell - 1,
          fill: "rgb(\(shade),\(shade + (255 - shade) / 3),255)",
          title: "\(classNames[t]) → \(classNames[p]): \(count)")
        if cell >= 24 {
          svg.text(
            compactCount(count), x: left + (Double(p) + 0.5) * cell, y: top + (Double(t) + 0.5) * cell + 4,
            size: 10,
            anchor: "middle", fill: share > 0.5 ? "#fff" : "#222")
        }
      }
      svg.text(classNames[t], x: left - 6, y: top + (Double(t) + 0.5) * cell + 4, size: 11, anchor: "end")
      let columnX = left + (Double(t) + 0.5) * cell
      let columnY = top + Double(k) * cell + 8
      svg.text(classNames[t], x: columnX, y: columnY, size: 11, anchor: "end", rotate: -60)
    }
    svg.text("true", x: 12, y: top + Double(k) * cell / 2, size: 11, rotate: -90)
    svg.text("predicted", x: left + Double(k) * cell / 2, y: svg.height - 8, size: 11, anchor: "middle")
    return svg.document
  }

  /// A count in at most 5 characters, as a cell shows it (pixel counts run to millions):
  /// 9999, 12k, 340k, 3.4M, 12M.
  static func compactCount(_ count: Int) -> String {
    switch count {
    case ..<10_000: return "\(count)"
    case ..<999_500: return "\(Int((Double(count) / 1e3).rounded()))k"
    case ..<9_950_000: return String(format: "%.1fM", Double(count) / 1e6)
    default: return "\(Int((Double(count) / 1e6).rounded()))M"
    }
  }

  /// Recall of every class as bars, classes ordered from the most to the least frequent in
  /// training, each labelled with its training count: where the tail is lost.
  public static func recallByClassCount(recall: [Double], trainCounts: [Int], classNames: [String]) -> String
  {
    classBars(
      title: "test recall per class, by training count (most frequent first)", metric: "recall",
      values: recall,
      sizes: trainCounts.map(Double.init), sizeLabels: trainCounts.map { "\($0)" },
      sizeUnit: "training images", classNames: classNames)
  }

  /// A segmentation run's IoU of every class as bars, classes ordered by their share of the
  /// labelled test pixels, each labelled with it (a class in neither truth nor prediction: 0).
  public static func iouByPixelShare(iou: [Double?], pixelShare: [Double], classNames: [String]) -> String {
    classBars(
      title: "test IoU per class, by share of the labelled test pixels (largest first)", metric: "IoU",
      values: iou.map { $0 ?? 0 }, sizes: pixelShare,
      sizeLabels: pixelShare.map { String(format: $0 < 0.001 ? "%.3f%%" : "%.1f%%", 100 * $0) },
      sizeUnit: "of the test pixels", classNames: classNames)
  }

  /// A bar per class of `values` in [0, 1], ordered by `sizes` (largest first) and labelled with
  /// `sizeLabels`: where the tail is lost.
  private static func classBars(
    title: String, metric: String, values: [Double], sizes: [Double], sizeLabels: [String], sizeUnit: String,
    classNames: [String]
  ) -> String {
    let k = values.count
    let order = (0..<k).sorted { sizes[$0] > sizes[$1] || (sizes[$0] == sizes[$1] && $0 < $1) }
    // Past `manyClasses` the bars share 800 px without labels (each still names itself on hover).
    let labelled = k <= RunReport.manyClasses
    let bar = labelled ? max(16.0, min(48.0, 560.0 / Double(max(k, 1)))) : 800 / Double(k)
    let (left, top, chartHeight) = (50.0, 40.0, 200.0)
    let labelWidth = labelled ? 8.0 * Double(classNames.map(\.count).max() ?? 4) + 20 : 0
    var svg = SVG(width: left + bar * Double(k) + 20, height: top + chartHeight + 30 + labelWidth)
    svg.text(title, x: 10, y: 22, size: 14)
    for tick in 0...4 {
      let value = Double(tick) / 4
      let y = top + chartHeight * (1 - value)
      svg.line(x1: left, y1: y, x2: left + bar * Double(k), y2: y, stroke: "#e4e4e4")
      svg.text(String(format: "%.2f", value), x: left - 6, y: y + 4, size: 10, anchor: "end")
    }
    for (slot, c) in order.enumerated() {
      let x = left + Double(slot) * bar
      let height = chartHeight * min(max(values[c], 0), 1)
      let gap = labelled ? 2.0 : 0
      svg.rect(
        x: x + gap, y: top + chartHeight - height, width: bar - 2 * gap, height: height, fill: classColor(c),
        title:
          "\(classNames[c]): \(metric) \(String(format: "%.4f", values[c])), \(sizeLabels[c]) \(sizeUnit)")
      guard labelled else { continue }
      svg.text(sizeLabels[c], x: x + bar / 2, y: top + chartHeight + 14, size: 10, anchor: "middle")
      svg.text(classNames[c], x: x + bar / 2, y: top + chartHeight + 26, size: 11, anchor: "end", rotate: -60)
    }
    return svg.document
  }

  /// The 2-D t-SNE embedding, a dot per image coloured by its true class, with a legend.
  public static func embedding(_ points: [(x: Double, y: Double)], labels: [Int32], classNames: [String])
    -> String
  {
    let (size, margin, legendWidth) = (480.0, 20.0, 8.0 * Double(classNames.map(\.count).max() ?? 4) + 40)
    var svg = SVG(width: size + legendWidth, height: size + 30)
    svg.text("t-SNE of the classifier's input features (test images)", x: 10, y: 20, size: 14)
    let xs = points.map(\.x)
    let ys = points.map(\.y)
    let (xLow, xHigh) = (xs.min() ?? 0, xs.max() ?? 1)
    let (yLow, yHigh) = (ys.min() ?? 0, ys.max() ?? 1)
    func scale(_ v: Double, _ low: Double, _ high: Double) -> Double {
      high - low < 1e-12 ? 0.5 : (v - low) / (high - low)
    }
    for (point, label) in zip(points, labels) {
      svg.circle(
        x: margin + scale(point.x, xLow, xHigh) * (size - 2 * margin),
        y: 30 + margin + (1 - scale(point.y, yLow, yHigh)) * (size - 2 * margin), radius: 2.5,
        fill: classColor(Int(label)), opacity: 0.8)
    }
    for (c, name) in classNames.enumerated() where classNames.count <= RunReport.manyClasses {
      svg.circle(x: size + 8, y: 44 + Double(c) * 18, radius: 5, fill: classColor(c))
      svg.text(name, x: size + 18, y: 48 + Double(c) * 18, size: 11)
    }
    return svg.document
  }
}
