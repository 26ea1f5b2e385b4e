/// Counts of (true class, predicted class) pairs: `counts[t][p]`.
public struct ConfusionMatrix: Sendable, Equatable {
  public private(set) var counts: [[Int]]

  public init(classes: Int) {
    counts = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
  }

  public init(counts: [[Int]]) {
    precondition(counts.allSatisfy { $0.count == counts.count }, "a confusion matrix is square")
    self.counts = counts
  }

  public var classes: Int { counts.count }

  public mutating func add(truth: Int, prediction: Int) { counts[truth][prediction] += 1 }

  /// Images of each true class (row sums).
  public var support: [Int] { counts.map { $0.reduce(0, +) } }
  /// Images predicted as each class (column sums).
  public var predicted: [Int] { (0..<classes).map { p in counts.reduce(0) { $0 + $1[p] } } }
  public var total: Int { support.reduce(0, +) }
  public var correct: Int { (0..<classes).reduce(0) { $0 + counts[$1][$1] } }
}
