import Loader
import XCTest

/// Exact weights on counts [100, 50, 10, 5] (N = 165, K = 4), from numpy (float64):
///   inverse   1/n                       = [0.01, 0.02, 0.1, 0.2]
///   balanced  N/(K n)                   = [0.4125, 0.825, 4.125, 8.25]
///   effective (1−β)/(1−β^n), Σ = K, β = 0.9999
///             = [0.12174538282132114, 0.2428835277260656, 1.2119923214754234, 2.42337876797719]
///   log       log(1 + (100/n)²)         = [0.6931471805599453, 1.6094379124341003, 4.61512051684126, 5.993961427306569]
final class ClassWeightTests: XCTestCase {
  let counts = [100, 50, 10, 5]

  private func assertClose(_ a: [Double], _ b: [Double], _ message: String) {
    XCTAssertEqual(a.count, b.count, message)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-12 * max(1, abs(y)), message) }
  }

  func testEverySchemeOnASmallCountVector() {
    assertClose(ClassWeightScheme.none.weights(counts: counts, beta: 0.9999), [1, 1, 1, 1], "none")
    assertClose(
      ClassWeightScheme.inverse.weights(counts: counts, beta: 0.9999), [0.01, 0.02, 0.1, 0.2], "inverse")
    assertClose(
      ClassWeightScheme.balanced.weights(counts: counts, beta: 0.9999), [0.4125, 0.825, 4.125, 8.25],
      "balanced")
    assertClose(
      ClassWeightScheme.effective.weights(counts: counts, beta: 0.9999),
      [0.12174538282132114, 0.2428835277260656, 1.2119923214754234, 2.42337876797719], "effective")
    assertClose(
      ClassWeightScheme.log.weights(counts: counts, beta: 0.9999),
      [0.6931471805599453, 1.6094379124341003, 4.61512051684126, 5.993961427306569], "log")
  }

  /// β = 0 gives equal weights (every class counts as one sample); β → 1 approaches 1/n.
  func testEffectiveNumberLimits() {
    assertClose(EffectiveNumber.weights(counts: counts, beta: 0), [1, 1, 1, 1], "β = 0")
    let nearOne = EffectiveNumber.weights(counts: counts, beta: 0.999999999)
    let inverse = counts.map { 1 / Double($0) }
    let scale = 4 / inverse.reduce(0, +)
    for (w, i) in zip(nearOne, inverse) { XCTAssertEqual(w, i * scale, accuracy: 1e-4) }
  }
}
