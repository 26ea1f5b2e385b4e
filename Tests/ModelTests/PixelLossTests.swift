import Model
import XCTest

/// Losses at every pixel of class maps (segmentation): values against PyTorch, ignored pixels
/// adding nothing, each pixel exactly its row of the wrapped loss, and the analytic gradient
/// against central differences.
///
/// Reference: logits `z` of shape (1, 3, 2, 2) below, targets [[0, 255], [2, 1]], class weights
/// [0.5, 1, 2]; from the venv's PyTorch 2 in float64: `F.cross_entropy(z, y, ignore_index=255)`
/// = 0.9655451549514523, with `weight=w` 0.8052265894675029, and `Σ −(1 − p_t)² log p_t` over the
/// three labelled pixels (focal, γ = 2) 1.507176680401919.
final class PixelLossTests: XCTestCase {
  let shape = Shape(batch: 1, channels: 3, height: 2, width: 2)
  let logits: [Float] = [1, -0.5, 0.3, 2, 0.2, 0.1, -1.2, 0.4, 0.7, -0.3, 1.5, -2]
  let targets: [UInt8] = [0, 255, 2, 1]

  private func run(_ loss: ClassificationLoss, _ values: [Float]? = nil) -> (
    sum: Double, normalizer: Double, gradient: [Float]
  ) {
    let pixelLoss = PixelLoss(loss, capacity: shape)
    let gradient = Tensor(shape: shape)
    let sum = targets.withUnsafeBufferPointer {
      pixelLoss.lossAndGradient(
        logits: Tensor(shape: shape, values: values ?? logits), targets: $0, scale: 1, gradient: gradient)
    }
    return (sum, targets.withUnsafeBufferPointer { pixelLoss.normalizer(targets: $0) }, gradient.toArray())
  }

  func testValuesMatchPyTorchWithTheIgnoreLabel() {
    let plain = run(CrossEntropyLoss())
    XCTAssertEqual(plain.normalizer, 3)
    XCTAssertEqual(plain.sum / plain.normalizer, 0.9655451549514523, accuracy: 1e-6)
    let weighted = run(CrossEntropyLoss(classWeights: [0.5, 1, 2], normalizeByWeights: true))
    XCTAssertEqual(weighted.normalizer, 0.5 + 2 + 1)
    XCTAssertEqual(weighted.sum / weighted.normalizer, 0.8052265894675029, accuracy: 1e-6)
    XCTAssertEqual(run(FocalLoss(gamma: 2)).sum, 1.507176680401919, accuracy: 1e-6)
    // The ignored pixel (index 1 of each class map) has no gradient.
    for loss in [CrossEntropyLoss(), FocalLoss(gamma: 2)] as [ClassificationLoss] {
      XCTAssertEqual([1, 5, 9].map { run(loss).gradient[$0] }, [0, 0, 0])
    }
  }

  /// Each labelled pixel is its own row of the wrapped loss, value and gradient.
  func testEveryPixelIsARowOfTheWrappedLoss() {
    let loss = FocalLoss(gamma: 1.5, classWeights: [0.5, 1, 2])
    let result = run(loss)
    var total = 0.0
    for p in [0, 2, 3] {
      let row = Tensor(shape: Shape(batch: 1, channels: 3), values: (0..<3).map { logits[$0 * 4 + p] })
      let rowGradient = Tensor(shape: row.shape)
      total += [Int32(targets[p])].withUnsafeBufferPointer {
        loss.lossAndGradient(logits: row, labels: $0, scale: 1, gradient: rowGradient)
      }
      for k in 0..<3 { XCTAssertEqual(result.gradient[k * 4 + p], rowGradient.pointer[k], accuracy: 1e-7) }
    }
    XCTAssertEqual(result.sum, total, accuracy: 1e-9)
  }

  func testGradientsMatchCentralDifferences() {
    for loss in [
      CrossEntropyLoss(classWeights: [0.5, 1, 2], normalizeByWeights: true), FocalLoss(gamma: 2),
      CrossEntropyLoss(logitOffsets: [-0.2, -1.1, -2.3]),
    ] as [ClassificationLoss] {
      let analytic = run(loss).gradient
      let epsilon: Float = 1e-2
      var (difference, norm) = (0.0, 0.0)
      for i in logits.indices {
        var (plus, minus) = (logits, logits)
        plus[i] += epsilon
        minus[i] -= epsilon
        let numeric = (run(loss, plus).sum - run(loss, minus).sum) / Double(2 * epsilon)
        difference += (numeric - Double(analytic[i])) * (numeric - Double(analytic[i]))
        norm += numeric * numeric
      }
      XCTAssertLessThan(difference.squareRoot() / norm.squareRoot(), 1e-3, "\(loss)")
    }
  }
}
