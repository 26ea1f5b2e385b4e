import Loader
import PRNG
import XCTest

/// Multilabel stratification (Sechidis et al. 2011) keeps every class of co-occurring labels at
/// its share in every part, far closer than a random split of the same sizes.
final class IterativeStratificationTests: XCTestCase {
  /// 900 images over 8 classes: class 0 (background) in all, class c ≥ 1 in each image with
  /// probability 0.5^c, and classes 3 and 4 together whenever 3 is present.
  private let classSets: [[Int]] = {
    var random = Xoshiro256(seed: 11, stream: [1])
    return (0..<900).map { _ in
      var set = [0]
      for c in 1..<8 where random.nextUnitDouble() < pow(0.5, Double(c)) { set.append(c) }
      if set.contains(3) && !set.contains(4) { set.append(4) }
      return set
    }
  }()
  private let shares = [0.8, 0.1, 0.1]

  /// Per part and class, |images of the class in the part − share × images of the class|.
  private func deviations(_ parts: [[Int]]) -> [[Double]] {
    parts.enumerated().map { p, members in
      (0..<8).map { c in
        let total = Double(classSets.filter { $0.contains(c) }.count)
        let held = Double(members.filter { classSets[$0].contains(c) }.count)
        return abs(held - shares[p] / shares.reduce(0, +) * total)
      }
    }
  }

  func testEveryClassKeepsItsShareInEveryPart() throws {
    let parts = IterativeStratification.parts(classSets: classSets, classes: 8, shares: shares, seed: 0)
    XCTAssertEqual(parts.flatMap { $0 }.sorted(), Array(0..<900), "a partition of every image")
    XCTAssertEqual(parts.map(\.count), [720, 90, 90])
    for part in parts { XCTAssertEqual(part, part.sorted(), "original order") }
    let stratified = deviations(parts)
    XCTAssertLessThanOrEqual(stratified.flatMap { $0 }.max()!, 1.0, "\(stratified)")
    // A random split of the same sizes, for scale: the stratified one is several times closer.
    var random = Xoshiro256(seed: 5, stream: [2])
    let order = Array(0..<900).shuffled(using: &random)
    let shuffled = [order[0..<720], order[720..<810], order[810...]].map { Array($0).sorted() }
    let (ours, theirs) = (
      stratified.flatMap { $0 }.reduce(0, +), deviations(shuffled).flatMap { $0 }.reduce(0, +)
    )
    XCTAssertLessThan(ours * 3, theirs, "stratified \(ours), random \(theirs)")
  }

  func testAPartOfShareZeroGetsNothingAndSeedsDecideOnlyTies() throws {
    let parts = IterativeStratification.parts(classSets: classSets, classes: 8, shares: [1, 0, 1], seed: 3)
    XCTAssertEqual(parts[1], [])
    XCTAssertEqual(parts[0].count + parts[2].count, 900)
    XCTAssertEqual(
      parts, IterativeStratification.parts(classSets: classSets, classes: 8, shares: [1, 0, 1], seed: 3))
    // Images of no class fill the parts that want the most images.
    let empty = IterativeStratification.parts(
      classSets: [[], [], [1], []], classes: 2, shares: [1, 1], seed: 0)
    XCTAssertEqual(empty.map(\.count), [2, 2])
  }
}
