#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The metrics of imbalanced classification, from a confusion matrix, as scikit-learn
/// defines them with `zero_division=0`: a precision, recall or F1 whose denominator is zero
/// counts as 0, never NaN. Macro averages run over every class (support 0 included).
public struct ClassificationMetrics: Sendable, Equatable {
  public let accuracy: Double
  public let precision: [Double]
  public let recall: [Double]
  public let f1: [Double]
  public let support: [Int]
  /// Unweighted mean of per-class F1.
  public let macroF1: Double
  /// Mean of per-class recall (sklearn's `balanced_accuracy_score`, over classes present).
  public let balancedAccuracy: Double
  /// Support-weighted mean of per-class F1 (sklearn's `f1_score(average="weighted")`).
  public let weightedF1: Double
  /// Geometric mean of per-class recall over classes present (imbalanced-learn's
  /// `geometric_mean_score`, no correction): 0 as soon as one class is never recognised.
  public let geometricMeanRecall: Double

  public init(_ matrix: ConfusionMatrix) {
    let support = matrix.support
    let predicted = matrix.predicted
    func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
    let precision = (0..<matrix.classes).map { ratio(matrix.diagonal[$0], predicted[$0]) }
    let recall = (0..<matrix.classes).map { ratio(matrix.diagonal[$0], support[$0]) }
    let f1 = zip(precision, recall).map { p, r in p + r == 0 ? 0 : 2 * p * r / (p + r) }
    let presentRecalls = (0..<matrix.classes).filter { support[$0] > 0 }.map { recall[$0] }
    self.precision = precision
    self.recall = recall
    self.f1 = f1
    self.support = support
    accuracy = ratio(matrix.correct, matrix.total)
    macroF1 = f1.isEmpty ? 0 : f1.reduce(0, +) / Double(f1.count)
    balancedAccuracy = presentRecalls.isEmpty ? 0 : presentRecalls.reduce(0, +) / Double(presentRecalls.count)
    let total = support.reduce(0, +)
    weightedF1 = total == 0 ? 0 : zip(f1, support).reduce(0) { $0 + $1.0 * Double($1.1) } / Double(total)
    geometricMeanRecall =
      presentRecalls.isEmpty || presentRecalls.contains(0)
      ? 0 : exp(presentRecalls.reduce(0) { $0 + log($1) } / Double(presentRecalls.count))
  }
}
