import Foundation

/// The output of `predict`, one line per image in input order.
/// `csv`: a header, then `image[,label],class_1,probability_1,…,class_k,probability_k[,logit columns]`
/// (RFC 4180 quoting); `jsonl`: one JSON object per line with the same fields (`top` a list).
public enum PredictionFormat: String, CaseIterable, Sendable {
  case csv, jsonl

  /// The header line, if the format has one.
  public func header(topK: Int, labelled: Bool, logitsOf classNames: [String]?) -> String? {
    guard self == .csv else { return nil }
    let columns =
      ["image"] + (labelled ? ["label"] : [])
      + (1...max(topK, 1)).flatMap { ["class_\($0)", "probability_\($0)"] }
      + (classNames ?? []).map { "logit_\($0)" }
    return columns.map(Self.csvField).joined(separator: ",")
  }

  /// One prediction's line; `label` is the true class where known.
  public func line(_ prediction: Prediction, image: String, label: Int?, classNames: [String]) -> String {
    let top = prediction.top.map { (classNames[$0.classIndex], $0.probability) }
    switch self {
    case .csv:
      let fields =
        [image] + (label.map { [classNames[$0]] } ?? []) + top.flatMap { [$0.0, "\($0.1)"] }
        + (prediction.logits ?? []).map { "\($0)" }
      return fields.map(Self.csvField).joined(separator: ",")
    case .jsonl:
      var object: [String: Any] = [
        "image": image, "top": top.map { ["class": $0.0, "probability": $0.1] as [String: Any] },
      ]
      if let label { object["label"] = classNames[label] }
      if let logits = prediction.logits { object["logits"] = logits.map(Double.init) }
      return (try? RunJSON.text(object)) ?? "{}"
    }
  }

  /// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
  static func csvField(_ text: String) -> String {
    guard text.contains(where: { ",\"\n\r".contains($0) }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}
