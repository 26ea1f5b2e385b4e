import PRNG

/// Multilabel stratification (Sechidis, Tsoumakas and Vlahavas, "On the stratification of
/// multi-label data", ECML PKDD 2011, Algorithm 1), for images holding several classes (the
/// classes of a mask): the class with the fewest images left is dealt first, each of its images
/// to the part that still wants the most of that class, then the most images overall, then a
/// seeded draw; images of no class go to the parts that want the most images. Every part ends
/// close to its share of every class even when classes occur together.
public enum IterativeStratification {
  /// The parts of `images`, stratified by the classes of their masks.
  public static func parts(of images: LabeledImages, shares: [Double], seed: UInt64) -> [[Int]] {
    parts(
      classSets: (0..<images.count).map { images.maskClasses(of: $0).map { Int($0.label) } },
      classes: images.classCount, shares: shares, seed: seed)
  }

  /// Indices of the examples of each part, in their original order; `shares` (non-negative,
  /// not all 0) are the parts' relative sizes, a part of share 0 gets nothing; `classes`
  /// bounds the class indices.
  public static func parts(classSets: [[Int]], classes: Int, shares: [Double], seed: UInt64) -> [[Int]] {
    let total = shares.reduce(0, +)
    precondition(!shares.isEmpty && total > 0)
    let fractions = shares.map { $0 / total }
    var wantedImages = fractions.map { $0 * Double(classSets.count) }
    var holders = [[Int]](repeating: [], count: classes)
    for (index, set) in classSets.enumerated() { for c in Set(set) { holders[c].append(index) } }
    var left = holders.map(\.count)
    var wanted = holders.map { members in fractions.map { $0 * Double(members.count) } }
    var part = [Int?](repeating: nil, count: classSets.count)
    var random = Xoshiro256(seed: seed, stream: [0x1751])
    let open = fractions.indices.filter { fractions[$0] > 0 }
    func most(_ candidates: [Int], by key: (Int) -> Double) -> [Int] {
      let best = candidates.map(key).max()!
      return candidates.filter { key($0) == best }
    }
    func pick(_ candidates: [Int]) -> Int { candidates[random.nextIndex(below: candidates.count)] }
    func assign(_ index: Int, to chosen: Int) {
      part[index] = chosen
      wantedImages[chosen] -= 1
      for c in Set(classSets[index]) {
        wanted[c][chosen] -= 1
        left[c] -= 1
      }
    }
    while let fewest = left.filter({ $0 > 0 }).min() {
      let label = pick(left.indices.filter { left[$0] == fewest })
      for index in holders[label] where part[index] == nil {
        let byClass = most(open) { wanted[label][$0] }
        assign(index, to: pick(most(byClass) { wantedImages[$0] }))
      }
    }
    for index in classSets.indices where part[index] == nil {
      assign(index, to: pick(most(open) { wantedImages[$0] }))
    }
    var result = [[Int]](repeating: [], count: shares.count)
    for (index, chosen) in part.enumerated() { result[chosen!].append(index) }
    return result
  }
}
