import Foundation
import Model

/// `report.html` and the SVG plots of a run, rebuilt from the files of its directory alone
/// (hparams.json, train.csv, valid.csv, test.json, tsne.csv): one XHTML page with the
/// hyper-parameters, the metric tables, the plots inline and the class distribution. Past
/// `manyClasses` classes the page summarises instead of listing (the top confusions instead of
/// the heat map, the classes of lowest recall), and `per_class.csv` holds every class.
public enum RunReport {
  /// The most classes the page shows one by one (a K×K heat map, every class's row).
  public static let manyClasses = 50

  /// Writes every plot the run's files allow, then `report.html`; returns the files written.
  @discardableResult
  public static func build(_ run: RunDirectory) throws -> [String] {
    let hparams = try HyperParameters(run: run)
    let train = try MetricsLog(path: run.trainLog, keepingEpochsUpTo: .max).rows
    let valid = try MetricsLog(path: run.validLog, keepingEpochsUpTo: .max).rows
    let test =
      FileManager.default.fileExists(atPath: run.testResult)
      ? try TestReport(contentsOf: run.testResult) : nil
    let embedding = try readEmbedding(run.embedding)
    let names = hparams.dataset.classNames

    var plots: [(name: String, svg: String)] = []
    let pixels = hparams.configuration.model.task == .segmentation
    if !train.isEmpty || !valid.isEmpty {
      plots.append(
        (
          RunPlot.loss.rawValue,
          Plots.learningCurve(
            title: "loss (train: objective, valid: cross-entropy)", train: train.map { ($0.epoch, $0.loss) },
            valid: valid.map { ($0.epoch, $0.loss) })
        ))
      plots.append(
        (
          RunPlot.macroF1.rawValue,
          Plots.learningCurve(
            title: "macro-F1", train: train.map { ($0.epoch, $0.macroF1) },
            valid: valid.map { ($0.epoch, $0.macroF1) })
        ))
    }
    if pixels && !valid.isEmpty {
      plots.append(
        (
          RunPlot.meanIoU.rawValue,
          Plots.learningCurve(
            title: "mIoU", train: train.compactMap { row in row.meanIoU.map { (row.epoch, $0) } },
            valid: valid.compactMap { row in row.meanIoU.map { (row.epoch, $0) } })
        ))
    }
    if let test {
      try writeAtomically(Data(perClassCSV(test, hparams.dataset).utf8), to: run.perClassTable)
      if names.count <= manyClasses {
        plots.append(
          (RunPlot.confusionMatrix.rawValue, Plots.confusionMatrix(test.confusion, classNames: names)))
      }
      // A segmentation run's classes by pixel share (its image counts go by rarest class).
      if let segmentation = test.segmentation {
        plots.append(
          (
            RunPlot.iouByPixelShare.rawValue,
            Plots.iouByPixelShare(iou: segmentation.iou, pixelShare: test.supportShares, classNames: names)
          ))
      } else {
        plots.append(
          (
            RunPlot.recallByClass.rawValue,
            Plots.recallByClassCount(
              recall: test.recall, trainCounts: hparams.dataset.trainCounts, classNames: names)
          ))
      }
    }
    if let embedding, !embedding.points.isEmpty {
      plots.append(
        (
          RunPlot.tsne.rawValue,
          Plots.embedding(embedding.points, labels: embedding.labels, classNames: names)
        ))
    }
    var written: [String] = []
    for plot in plots {
      try writeAtomically(Data(plot.svg.utf8), to: run.plot(plot.name))
      written.append(run.plot(plot.name))
    }
    let page = html(run: run, hparams: hparams, valid: valid, test: test, plots: plots)
    try writeAtomically(Data(page.utf8), to: run.report)
    return written + [run.report] + (test == nil ? [] : [run.perClassTable])
  }

  /// `per_class.csv`: every class's index, name, images per split, test precision, recall,
  /// F1 and shot group (and for segmentation IoU, Dice and share of the test pixels), one row
  /// each, to sort in a spreadsheet or pandas.
  static func perClassCSV(_ test: TestReport, _ dataset: HyperParameters.Dataset) -> String {
    func group(_ c: Int) -> String {
      guard let groups = test.shotGroups else { return "" }
      return groups.many.classes.contains(c) ? "many" : groups.few.classes.contains(c) ? "few" : "medium"
    }
    let shares = test.supportShares
    func pixelCells(_ c: Int) -> [String] {
      guard let metrics = test.segmentation else { return [] }
      return [metrics.iou[c].map { "\($0)" } ?? "", metrics.dice[c].map { "\($0)" } ?? "", "\(shares[c])"]
    }
    let rows = test.perClass.enumerated().map { c, row in
      ([
        "\(c)", PredictionFormat.csvField(row.name), "\(dataset.trainCounts[c])", "\(dataset.valCounts[c])",
        "\(dataset.testCounts[c])", "\(row.precision)", "\(row.recall)", "\(row.f1)", group(c),
      ] + pixelCells(c)).joined(separator: ",")
    }
    let header =
      "class,name,train,val,test,precision,recall,f1,shot_group"
      + (test.segmentation == nil ? "" : ",iou,dice,pixel_share")
    return ([header] + rows).joined(separator: "\n") + "\n"
  }

  /// `tsne.csv`: `x,y,label` per test image.
  public static func writeEmbedding(_ points: [(x: Double, y: Double)], labels: [Int32], to path: String)
    throws
  {
    let lines = ["x,y,label"] + zip(points, labels).map { "\($0.0.x),\($0.0.y),\($0.1)" }
    try writeAtomically(Data((lines.joined(separator: "\n") + "\n").utf8), to: path)
  }

  static func readEmbedding(_ path: String) throws -> (points: [(x: Double, y: Double)], labels: [Int32])? {
    guard let data = FileManager.default.contents(atPath: path),
      let text = String(data: data, encoding: .utf8)
    else { return nil }
    var points: [(x: Double, y: Double)] = []
    var labels: [Int32] = []
    for (number, line) in text.split(separator: "\n").enumerated().dropFirst() {
      let cells = line.split(separator: ",")
      guard cells.count == 3, let x = Double(cells[0]), let y = Double(cells[1]), let label = Int32(cells[2])
      else {
        throw CheckpointError.malformed(path: path, reason: "line \(number + 1) is not x,y,label")
      }
      points.append((x, y))
      labels.append(label)
    }
    return (points, labels)
  }

  static func html(
    run: RunDirectory, hparams: HyperParameters, valid: [MetricsRow], test: TestReport?,
    plots: [(name: String, svg: String)]
  ) -> String {
    let title = "imbal-dist run \(run.path)"
    var page = [
      "<!DOCTYPE html>", "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">",
      "<head><meta charset=\"utf-8\"/><title>\(xmlEscaped(title))</title>",
      "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        + "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        + "th{background:#f3f3f3}td.l,th.l{text-align:left}figure{display:inline-block;margin:0.5em}</style></head>",
      "<body>", "<h1>\(xmlEscaped(title))</h1>",
      "<p>Dataset <code>\(xmlEscaped(hparams.dataset.path))</code> (\(xmlEscaped(hparams.dataset.source)), imbalance "
        + "\(xmlEscaped(hparams.dataset.imbalance)), id <code>\(xmlEscaped(hparams.dataset.id))</code>), "
        + "\(hparams.ranks) rank(s).</p>",
    ]
    page += testSection(test)
    if FileManager.default.fileExists(atPath: run.maskOverlays) {
      page += overlaysSection(hparams.dataset.classNames)
    }
    if let last = valid.last {
      let miou = last.meanIoU.map { [("mIoU", $0)] } ?? []
      let cells =
        [("accuracy", last.accuracy), ("macro-F1", last.macroF1)] + miou
        + [("balanced accuracy", last.balancedAccuracy), ("cross-entropy", last.loss)]
      page += [
        "<h2>Validation, last evaluated epoch (\(last.epoch))</h2>",
        "<table><tr>" + cells.map { "<th>\($0.0)</th>" }.joined() + "</tr>"
          + "<tr>" + cells.map { "<td>\(fixed($0.1, 4))</td>" }.joined() + "</tr></table>",
      ]
    }
    if !plots.isEmpty {
      page += ["<h2>Plots</h2>"] + plots.map { "<figure id=\"\($0.name)\">\($0.svg)</figure>" }
    }
    page += classSection(hparams.dataset)
    page += [
      "<h2>Hyper-parameters</h2>", "<table><tr><th class=\"l\">option</th><th class=\"l\">value</th></tr>",
    ]
    page += flattened(hparams).map {
      "<tr><td class=\"l\">\(xmlEscaped($0.0))</td><td class=\"l\">\(xmlEscaped($0.1))</td></tr>"
    }
    page += ["</table>", "</body></html>"]
    return page.joined(separator: "\n") + "\n"
  }

  /// The test metrics, overall and per class.
  private static func testSection(_ test: TestReport?) -> [String] {
    guard let test else { return ["<p>No test result yet: the run has not finished.</p>"] }
    var headline: [(String, Double)] = [
      ("accuracy", test.accuracy), ("macro-F1", test.macroF1), ("weighted-F1", test.weightedF1),
      ("balanced accuracy", test.balancedAccuracy), ("G-mean of recalls", test.gmean),
    ]
    if let top5 = test.top5 { headline.append(("top-5 accuracy", top5)) }
    headline.append(("cross-entropy", test.loss))
    return [
      "<h2>Test metrics</h2>",
      "<p>Evaluated with <code>\(xmlEscaped(test.checkpoint))</code> (epoch \(test.epoch))"
        + test.tta.averaging + ".</p>",
      "<table><tr>" + headline.map { "<th>\(xmlEscaped($0.0))</th>" }.joined() + "</tr>",
      "<tr>" + headline.map { "<td>\(fixed($0.1, 4))</td>" }.joined() + "</tr></table>",
    ] + segmentationTable(test.segmentation)
      + shotGroupsTable(test.shotGroups, names: test.perClass.map(\.name))
      + classRows(test)
  }

  /// `test-masks.png` at a fixed width, scaled without smoothing, with the colour of each class.
  private static func overlaysSection(_ classNames: [String]) -> [String] {
    let legend = classNames.enumerated().dropFirst().map { c, name in
      "<span style=\"display:inline-block;margin-right:1em\"><span style=\"display:inline-block;width:0.9em;"
        + "height:0.9em;vertical-align:middle;background:\(classColor(c))\"></span> \(xmlEscaped(name))</span>"
    }
    return [
      "<h3>Test images: ground truth and prediction</h3>",
      "<p>Left to right: a test image, its ground-truth mask, the prediction of the tested checkpoint. "
        + "From the top, the first test image whose rarest class is each of the \(MaskOverlays.rows) classes "
        + "with the fewest training images. Class 0 (\(xmlEscaped(classNames.first ?? ""))) is left "
        + "unpainted, ignored pixels are white.</p>",
      "<p>" + legend.joined() + "</p>",
      "<img src=\"test-masks.png\" alt=\"test images with their true and predicted masks\" "
        + "style=\"width:480px;image-rendering:pixelated\"/>",
    ]
  }

  /// A segmentation run's pixel metrics (every metric of the page counts labelled pixels).
  private static func segmentationTable(_ metrics: SegmentationMetrics?) -> [String] {
    guard let metrics else { return [] }
    return [
      "<p>Every metric counts the labelled pixels (255 ignored) as samples.</p>",
      "<table><tr><th>mIoU</th><th>pixel accuracy</th><th>frequency-weighted IoU</th></tr>",
      "<tr><td>\(fixed(metrics.meanIoU, 4))</td><td>\(fixed(metrics.pixelAccuracy, 4))</td>"
        + "<td>\(fixed(metrics.frequencyWeightedIoU, 4))</td></tr></table>",
    ]
  }

  /// Every class's test metrics, or past `manyClasses` the top confusions and the 20 classes of
  /// lowest recall (the rest in per_class.csv).
  private static func classRows(_ test: TestReport) -> [String] {
    var rows = test.perClass
    var lines: [String] = []
    if rows.count > manyClasses {
      let names = test.perClass.map(\.name)
      lines += [
        "<h3>Top confusions</h3>",
        "<table><tr><th class=\"l\">true class</th><th class=\"l\">predicted as</th><th>images</th><th>share of the class</th></tr>",
      ]
      lines += test.confusion.topConfusions(20).map { cell in
        "<tr><td class=\"l\">\(xmlEscaped(names[cell.truth]))</td><td class=\"l\">\(xmlEscaped(names[cell.prediction]))</td>"
          + "<td>\(cell.count)</td><td>\(fixed(Double(cell.count) / Double(max(test.perClass[cell.truth].support, 1)), 4))</td></tr>"
      }
      lines += [
        "</table>",
        "<h3>The 20 classes of lowest recall</h3><p>All \(rows.count) classes: <a href=\"per_class.csv\">per_class.csv</a>.</p>",
      ]
      rows = Array(rows.sorted { ($0.recall, $0.name) < ($1.recall, $1.name) }.prefix(20))
    }
    // Segmentation: each class's IoU and Dice beside its share of the labelled pixels.
    let shares = test.supportShares
    let segmentationCells = { (row: TestReport.ClassRow) -> String in
      guard let metrics = test.segmentation, let k = test.perClass.firstIndex(of: row) else { return "" }
      return [metrics.iou[k], metrics.dice[k], shares[k]].map {
        "<td>\($0.map { fixed($0, 4) } ?? "–")</td>"
      }.joined()
    }
    return lines + [
      "<table><tr><th class=\"l\">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
        + (test.segmentation == nil ? "" : "<th>IoU</th><th>Dice</th><th>pixel share</th>") + "</tr>"
    ]
      + rows.map { row in
        "<tr><td class=\"l\">\(xmlEscaped(row.name))</td><td>\(fixed(row.precision, 4))</td><td>\(fixed(row.recall, 4))</td>"
          + "<td>\(fixed(row.f1, 4))</td><td>\(row.support)</td>\(segmentationCells(row))</tr>"
      } + ["</table>"]
  }

  /// Accuracy per shot group, with the classes in each.
  private static func shotGroupsTable(_ groups: ShotGroups?, names: [String]) -> [String] {
    guard let groups else { return [] }
    let rows = [
      ("many-shot", "more than \(groups.manyAbove)", groups.many),
      ("medium-shot", "\(groups.fewBelow) to \(groups.manyAbove)", groups.medium),
      ("few-shot", "fewer than \(groups.fewBelow)", groups.few),
    ]
    return [
      "<table><tr><th class=\"l\">shot group</th><th>training images</th><th>accuracy</th><th class=\"l\">classes</th></tr>"
    ]
      + rows.map { name, range, group in
        "<tr><td class=\"l\">\(name)</td><td>\(range)</td><td>\(group.accuracy.map { fixed($0, 4) } ?? "–")</td>"
          + "<td class=\"l\">\(xmlEscaped(listed(group.classes.map { names[$0] })))</td></tr>"
      } + ["</table>"]
  }

  /// Up to 20 names, then how many more.
  private static func listed(_ names: [String]) -> String {
    names.count <= 20
      ? names.joined(separator: ", ")
      : names.prefix(20).joined(separator: ", ") + ", … (\(names.count) classes)"
  }

  /// Images per class in each split (past `manyClasses`, the 10 largest and 10 smallest
  /// training classes), and the training split's imbalance ratio.
  private static func classSection(_ dataset: HyperParameters.Dataset) -> [String] {
    let trainTotal = max(dataset.trainCounts.reduce(0, +), 1)
    let largest = dataset.trainCounts.max() ?? 0
    let smallest = dataset.trainCounts.filter { $0 > 0 }.min() ?? 0
    return [
      "<h2>Class distribution</h2>",
      "<table><tr><th class=\"l\">class</th><th>train</th><th>share</th><th>val</th><th>test</th></tr>",
    ]
      + shownClasses(dataset).map { c in
        let name = dataset.classNames[c]
        return
          "<tr><td class=\"l\">\(xmlEscaped(name))</td><td>\(dataset.trainCounts[c])</td>"
          + "<td>\(fixed(100 * Double(dataset.trainCounts[c]) / Double(trainTotal), 2))%</td>"
          + "<td>\(dataset.valCounts[c])</td><td>\(dataset.testCounts[c])</td></tr>"
      } + [
        "</table>",
        "<p>Imbalance ratio of the training split: \(smallest == 0 ? "n/a" : fixed(Double(largest) / Double(smallest), 1))"
          + (dataset.classNames.count > manyClasses
            ? "; the 10 largest and 10 smallest of its \(dataset.classNames.count) classes are shown, all are in <a href=\"per_class.csv\">per_class.csv</a>"
            : "") + ".</p>",
      ]
  }

  /// The classes the distribution table lists: all, or the 10 largest and 10 smallest.
  private static func shownClasses(_ dataset: HyperParameters.Dataset) -> [Int] {
    let all = Array(dataset.classNames.indices)
    guard all.count > manyClasses else { return all }
    let bySize = all.sorted { (dataset.trainCounts[$0], $1) > (dataset.trainCounts[$1], $0) }
    return Array(bySize.prefix(10)) + Array(bySize.suffix(10))
  }

  /// `hparams.json` as sorted `a.b.c = value` pairs, for the table.
  static func flattened(_ hparams: HyperParameters) -> [(String, String)] {
    guard let object = try? JSONSerialization.jsonObject(with: hparams.encoded()) else { return [] }
    var pairs: [(String, String)] = []
    func walk(_ value: Any, _ key: String) {
      if let dictionary = value as? [String: Any] {
        for name in dictionary.keys.sorted() {
          walk(dictionary[name]!, key.isEmpty ? name : "\(key).\(name)")
        }
      } else if let array = value as? [Any] {
        pairs.append((key, array.map { "\($0)" }.joined(separator: ", ")))
      } else {
        pairs.append((key, "\(value)"))
      }
    }
    walk(object, "")
    return pairs
  }
}

/// The plots a run's report draws, by file name (`NAME.svg` in the run directory).
public enum RunPlot: String, CaseIterable, Sendable {
  case loss
  case macroF1 = "macro-f1"
  case confusionMatrix = "confusion-matrix"
  case recallByClass = "recall-by-class"
  case meanIoU = "miou"
  case iouByPixelShare = "iou-by-pixel-share"
  case tsne
}
