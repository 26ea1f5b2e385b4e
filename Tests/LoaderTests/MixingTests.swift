import Loader
import PRNG
import XCTest

/// Mixup, CutMix and Remix: the Beta draw, the pixels, the box, the label rule.
final class MixingTests: XCTestCase {
  /// Kolmogorov–Smirnov distance between 20,000 Beta(α, α) draws and the closed-form CDF:
  /// uniform for α = 1, the arcsine law `(2/π) asin √x` for α = ½, `3x² − 2x³` for α = 2.
  /// The 99.9 % critical value at n = 20,000 is 1.95/√n = 0.0138; a wrong sampler (e.g.
  /// Beta(α, 2α), or Gamma without the α < 1 boost) is far beyond it.
  func testBetaDrawsFollowTheirDistribution() {
    let n = 20_000
    let cdfs: [(Double, (Double) -> Double)] = [
      (1, { $0 }), (0.5, { 2 / Double.pi * asin($0.squareRoot()) }), (2, { 3 * $0 * $0 - 2 * $0 * $0 * $0 }),
    ]
    for (alpha, cdf) in cdfs {
      var rng = Xoshiro256(seed: 5, stream: [UInt64(alpha * 10)])
      let draws = (0..<n).map { _ in rng.nextBeta(alpha, alpha) }.sorted()
      XCTAssertTrue(draws.allSatisfy { (0...1).contains($0) })
      var distance = 0.0
      for (i, x) in draws.enumerated() {
        distance = max(distance, abs(cdf(x) - Double(i) / Double(n)), abs(cdf(x) - Double(i + 1) / Double(n)))
      }
      XCTAssertLessThan(distance, 0.0138, "α = \(alpha)")
    }
    var rng = Xoshiro256(seed: 1)
    let gammas = (0..<n).map { _ in rng.nextGamma(shape: 0.3) }
    XCTAssertEqual(gammas.reduce(0, +) / Double(n), 0.3, accuracy: 0.01, "Gamma(k) has mean k")
  }

  /// Mixup: `x = λ x_a + (1 − λ) x_b` for every pixel, with the originals as partners.
  func testMixupBlendsEachImageWithItsPartner() {
    let mixing = Mixing(kind: .mixup)
    var images: [Float] = (0..<24).map(Float.init)  // 3 images of 2×2×2
    let original = images
    var scratch = [Float](repeating: 0, count: 24)
    mixing.mix(
      &images, count: 3, channels: 2, height: 2, width: 2, partners: [2, 0, 1],
      draw: Mixing.Draw(lambda: 0.25), scratch: &scratch)
    for (i, j) in [(0, 2), (1, 0), (2, 1)] {
      for k in 0..<8 {
        XCTAssertEqual(
          images[i * 8 + k], 0.25 * original[i * 8 + k] + 0.75 * original[j * 8 + k], "image \(i)")
      }
    }
  }

  /// CutMix: the partner's box (both channels) replaces the image's; outside it nothing changes;
  /// λ is the share of pixels kept. The box is Yun et al.'s: sides ⌊8·√(1 − λ)⌋ about the centre,
  /// clipped (a box about a corner is cut to the image).
  func testCutMixPastesThePartnersBox() {
    var mixing = Mixing(kind: .cutmix)
    mixing.alpha = 1
    let (height, width) = (6, 8)
    var images: [Float] = (0..<(2 * 2 * height * width)).map(Float.init)
    let original = images
    var scratch = [Float](repeating: 0, count: images.count)
    let box = Augmentation.Box(x: 5, y: 0, width: 3, height: 2)
    mixing.mix(
      &images, count: 2, channels: 2, height: height, width: width, partners: [1, 0],
      draw: Mixing.Draw(lambda: 1 - 6.0 / 48, box: box), scratch: &scratch)
    let size = 2 * height * width
    for i in 0..<2 {
      for c in 0..<2 {
        for y in 0..<height {
          for x in 0..<width {
            let k = (c * height + y) * width + x
            let inside = x >= 5 && y < 2
            XCTAssertEqual(images[i * size + k], original[(inside ? 1 - i : i) * size + k])
          }
        }
      }
    }
    for step in 0..<200 {
      let draw = mixing.draw(seed: 3, epoch: 0, step: step, height: height, width: width)
      let b = try! XCTUnwrap(draw.box)
      XCTAssertTrue(b.x >= 0 && b.y >= 0 && b.x + b.width <= width && b.y + b.height <= height)
      XCTAssertEqual(draw.lambda, 1 - Double(b.width * b.height) / 48, accuracy: 1e-12)
    }
  }

  /// Remix's rule (Chou et al. 2020, eq. 4) at κ = 3, τ = 0.5, checked by hand: a majority
  /// image (≥ 3× the partner's class count) with pixel share λ < τ gives its whole label to
  /// the minority (λ_y = 0); a minority image whose partner's share 1 − λ < τ takes it all
  /// (λ_y = 1); otherwise λ_y = λ. Mixup and CutMix keep λ.
  func testRemixLabelRule() {
    let remix = Mixing(kind: .remix)
    let cases: [(Double, Int, Int, Float)] = [
      (0.4, 300, 100, 0), (0.6, 300, 100, 0.6), (0.6, 100, 300, 1), (0.4, 100, 300, 0.4),
      (0.1, 200, 100, 0.1), (0.9, 100, 200, 0.9), (0.49, 3000, 10, 0), (0.51, 10, 3000, 1),
    ]
    for (lambda, a, b, expected) in cases {
      XCTAssertEqual(
        remix.labelWeight(Mixing.Draw(lambda: lambda), counts: (a, b)), expected, accuracy: 1e-7,
        "\(lambda) \(a) \(b)")
      XCTAssertEqual(
        Mixing(kind: .mixup).labelWeight(Mixing.Draw(lambda: lambda), counts: (a, b)), Float(lambda),
        accuracy: 1e-7)
    }
  }

  /// Partners are a permutation drawn from (seed, epoch, step, shard); λ from (seed, epoch, step).
  func testDrawsAreAFunctionOfTheirCoordinates() {
    let mixing = Mixing(kind: .mixup, alpha: 0.5)
    let partners = mixing.partners(seed: 1, epoch: 2, step: 3, shard: 4, count: 32)
    XCTAssertEqual(partners.sorted(), Array(0..<32))
    XCTAssertEqual(partners, mixing.partners(seed: 1, epoch: 2, step: 3, shard: 4, count: 32))
    for other in [(2, 2, 3, 4), (1, 3, 3, 4), (1, 2, 4, 4), (1, 2, 3, 5)] {
      XCTAssertNotEqual(
        partners,
        mixing.partners(seed: UInt64(other.0), epoch: other.1, step: other.2, shard: other.3, count: 32))
    }
    let lambdas = (0..<2000).map { mixing.draw(seed: 1, epoch: 0, step: $0, height: 8, width: 8).lambda }
    XCTAssertEqual(lambdas.reduce(0, +) / 2000, 0.5, accuracy: 0.02, "Beta(α, α) has mean ½")
    XCTAssertEqual(
      mixing.draw(seed: 1, epoch: 0, step: 7, height: 8, width: 8),
      mixing.draw(seed: 1, epoch: 0, step: 7, height: 8, width: 8))
  }
}
