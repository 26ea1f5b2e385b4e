/// Counts of (true class, predicted class) pairs, kept sparse: only the cells that occur (at
/// most one new cell per image) with row sums, column sums and the diagonal kept as images are
/// added, so thousands of classes cost memory in proportion to the images, not to K².
public struct ConfusionMatrix: Sendable, Equatable {
  /// One cell that occurs.
  public struct Entry: Sendable, Equatable {
    public let truth: Int
    public let prediction: Int
    public let count: Int
  }

  public let classes: Int
  /// The cells that occur, keyed `truth · classes + prediction`.
  private var cells: [Int: Int] = [:]
  /// Images of each true class (row sums).
  public private(set) var support: [Int]
  /// Images predicted as each class (column sums).
  public private(set) var predicted: [Int]
  /// Images of each class predicted as it.
  public private(set) var diagonal: [Int]

  public init(classes: Int) {
    self.classes = classes
    support = [Int](repeating: 0, count: classes)
    predicted = support
    diagonal = support
  }

  /// From a dense K×K table `counts[truth][prediction]`.
  public init(counts: [[Int]]) {
    precondition(counts.allSatisfy { $0.count == counts.count }, "a confusion matrix is square")
    self.init(classes: counts.count)
    for (truth, row) in counts.enumerated() {
      for (prediction, count) in row.enumerated() where count > 0 {
        add(truth: truth, prediction: prediction, count: count)
      }
    }
  }

  public mutating func add(truth: Int, prediction: Int, count: Int = 1) {
    cells[truth * classes + prediction, default: 0] += count
    support[truth] += count
    predicted[prediction] += count
    if truth == prediction { diagonal[truth] += count }
  }

  public subscript(truth: Int, prediction: Int) -> Int { cells[truth * classes + prediction] ?? 0 }

  public var total: Int { support.reduce(0, +) }
  public var correct: Int { diagonal.reduce(0, +) }

  /// The cells that occur, by true class, then predicted class.
  public var entries: [Entry] {
    cells.keys.sorted().map { Entry(truth: $0 / classes, prediction: $0 % classes, count: cells[$0]!) }
  }

  /// The dense K×K table (for a heat map or a small test.json; K² cells).
  public var counts: [[Int]] {
    var table = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    for (key, count) in cells { table[key / classes][key % classes] = count }
    return table
  }

  /// The `limit` largest cells off the diagonal (ties: by true class, then predicted class).
  public func topConfusions(_ limit: Int) -> [Entry] {
    Array(
      entries.filter { $0.truth != $0.prediction }.sorted {
        ($0.count, -$0.truth, -$0.prediction) > ($1.count, -$1.truth, -$1.prediction)
      }.prefix(limit))
  }

  /// Adds every cell of `other` (another rank's, the same classes).
  public mutating func merge(_ other: ConfusionMatrix) {
    precondition(other.classes == classes)
    for entry in other.entries { add(truth: entry.truth, prediction: entry.prediction, count: entry.count) }
  }
}
