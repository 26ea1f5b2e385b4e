/// Splits a training set into `P` partitions with the same class proportions (±1 image per
/// class): the j-th image of class c, in order, goes to partition `j mod P`.
///
/// Partitions are the unit of data ownership and of sampling: rank `r` of `R` owns
/// partitions `r, r+R, r+2R, …` and draws each one's images from that partition's own
/// random stream, so the union of all ranks' draws does not depend on the rank count.
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

  /// The partitions rank `rank` of `ranks` owns.
  public static func owned(byRank rank: Int, of ranks: Int, partitions: Int) -> [Int] {
    Array(stride(from: rank, to: partitions, by: ranks))
  }
}
