/// Splits a split into `P` shards with the same class proportions (±1 image per class): the
/// j-th image of class c, in order, goes to shard `j mod P`, so a rank's shards look like
/// the whole.
public enum StratifiedPartitioning {
  /// Indices of the images of each partition, in their original order.
  public static func indices(labels: [Int32], classes: Int, partitions: Int) -> [[Int]] {
    precondition(partitions > 0)
    var seen = [Int](repeating: 0, count: classes)
    var result = [[Int]](repeating: [], count: partitions)
    for (index, label) in labels.enumerated() {
      let c = Int(label)
      result[seen[c] % partitions].append(index)
      seen[c] += 1
    }
    return result
  }
}
