import Model
import PRNG
import XCTest

/// The soft batch Dice loss: value and gradient against PyTorch's autograd, central differences,
/// the ignore label, and the same loss and gradients whichever way the pixels are split between
/// ranks.
///
/// Reference: logits `z` (1, 3, 2, 2) and targets [[0, 255], [2, 1]] as in PixelLossTests; from
/// the venv's PyTorch 2 in float64, `p = softmax(z, 1)` zeroed at ignored pixels, one-hot `y`
/// likewise, `I = Σ p·y`, `S = Σ p + Σ y` over (batch, H, W), `L = 1 − mean((2I + 1)/(S + 1))`,
/// `L.backward()`.
final class DiceLossTests: XCTestCase {
  let shape = Shape(batch: 1, channels: 3, height: 2, width: 2)
  let logits: [Float] = [1, -0.5, 0.3, 2, 0.2, 0.1, -1.2, 0.4, 0.7, -0.3, 1.5, -2]
  let targets: [UInt8] = [0, 255, 2, 1]

  /// The loss and `∂L/∂z` of one rank holding every pixel.
  private func run(_ logits: [Float], _ targets: [UInt8], shape: Shape) -> (loss: Double, gradient: [Float]) {
    let dice = DiceLoss(capacity: shape)
    let z = Tensor(shape: shape, values: logits)
    let gradient = Tensor(shape: shape)
    let global = targets.withUnsafeBufferPointer { dice.statistics(logits: z, targets: $0) }
    targets.withUnsafeBufferPointer {
      dice.gradient(targets: $0, global: global, scale: 1, gradient: gradient)
    }
    return (dice.loss(global: global), gradient.toArray())
  }

  func testValueAndGradientMatchPyTorch() {
    let result = run(logits, targets, shape: shape)
    XCTAssertEqual(result.loss, 0.36819936285917276, accuracy: 1e-6)
    let expected = [
      -0.054787501726, 0.0, 0.029030915961, 0.033740063894, 0.019343876699, 0.0, 0.007636632563,
      -0.034869824253, 0.035443625027, 0.0, -0.036667548523, 0.00112976036,
    ]
    for (a, e) in zip(result.gradient, expected) { XCTAssertEqual(Double(a), e, accuracy: 1e-6) }
  }

  /// A perfect prediction is Dice 1 for every class present and nearly so for absent ones.
  func testConfidentCorrectMapsHaveNearlyZeroLoss() {
    let labels: [UInt8] = [0, 1, 1, 255]
    var z = [Float](repeating: -20, count: 12)
    for (pixel, label) in labels.enumerated() where label != 255 { z[Int(label) * 4 + pixel] = 20 }
    XCTAssertEqual(run(z, labels, shape: shape).loss, 0, accuracy: 1e-6)
  }

  func testGradientMatchesCentralDifferences() {
    let shape = Shape(batch: 2, channels: 4, height: 3, width: 3)
    var rng = Xoshiro256(seed: 9)
    let z = (0..<shape.count).map { _ in Float(rng.nextGaussian()) }
    let labels: [UInt8] = (0..<18).map { (i: Int) -> UInt8 in i % 5 == 4 ? 255 : UInt8((i * 7) % 4) }
    let analytic = run(z, labels, shape: shape).gradient
    let epsilon: Float = 1e-2
    var (difference, norm) = (0.0, 0.0)
    for i in z.indices {
      var (plus, minus) = (z, z)
      plus[i] += epsilon
      minus[i] -= epsilon
      let (up, down) = (run(plus, labels, shape: shape).loss, run(minus, labels, shape: shape).loss)
      let numeric = (up - down) / Double(2 * epsilon)
      difference += (numeric - Double(analytic[i])) * (numeric - Double(analytic[i]))
      norm += numeric * numeric
    }
    XCTAssertGreaterThan(norm, 0)
    XCTAssertLessThan(difference.squareRoot() / norm.squareRoot(), 1e-3)
  }

  /// Two "ranks" with one image each, their statistics summed, give the one-rank loss and each
  /// image's gradient of the one-rank run.
  func testSplittingThePixelsBetweenRanksChangesNothing() {
    let shape = Shape(batch: 2, channels: 3, height: 2, width: 2)
    let z: [Float] = logits + logits.map { 0.5 - $0 }
    let labels: [UInt8] = targets + [1, 1, 255, 0]
    let whole = run(z, labels, shape: shape)
    let half = Shape(batch: 1, channels: 3, height: 2, width: 2)
    let ranks = (0..<2).map { _ in DiceLoss(capacity: half) }
    let parts = (0..<2).map { Tensor(shape: half, values: Array(z[($0 * 12)..<(($0 + 1) * 12)])) }
    let partLabels = (0..<2).map { Array(labels[($0 * 4)..<(($0 + 1) * 4)]) }
    let local = (0..<2).map { r in
      partLabels[r].withUnsafeBufferPointer { ranks[r].statistics(logits: parts[r], targets: $0) }
    }
    let global = zip(local[0], local[1]).map { $0 + $1 }
    XCTAssertEqual(ranks[0].loss(global: global), whole.loss, accuracy: 1e-12)
    for r in 0..<2 {
      let gradient = Tensor(shape: half)
      partLabels[r].withUnsafeBufferPointer {
        ranks[r].gradient(targets: $0, global: global, scale: 1, gradient: gradient)
      }
      XCTAssertEqual(gradient.toArray(), Array(whole.gradient[(r * 12)..<((r + 1) * 12)]))
    }
  }
}
