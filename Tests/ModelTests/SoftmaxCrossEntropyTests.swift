import Model
import XCTest

final class SoftmaxCrossEntropyTests: XCTestCase {
  /// Reference values computed with numpy (float64):
  ///   z = [[1, 2, 3], [-1, 0.5, 0]]; y = [0, 1]
  ///   p = exp(z - z.max(1)) / sum; loss_i = -log p[i, y_i]
  ///   loss = [2.40760596444438, 0.6041306053367282]; sum = 3.0117365697811085
  ///   grad row 0 = p0 - [1,0,0] = [-0.9099694, 0.2447285, 0.6652410]
  ///   grad row 1 = p1 - [0,1,0] = [0.12195165, -0.45345061, 0.33149896]
  func testValueAndGradientAgainstNumpy() {
    let logits = Tensor(shape: Shape(batch: 2, channels: 3), values: [1, 2, 3, -1, 0.5, 0])
    let gradient = Tensor(shape: logits.shape)
    let labels: [Int32] = [0, 1]
    let loss = labels.withUnsafeBufferPointer {
      SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: $0, scale: 1, gradient: gradient)
    }
    XCTAssertEqual(loss, 3.0117365697811085, accuracy: 1e-5)
    let expected: [Float] = [-0.90996943, 0.24472847, 0.66524096, 0.12195165, -0.45345061, 0.33149896]
    for (g, e) in zip(gradient.toArray(), expected) { XCTAssertEqual(g, e, accuracy: 1e-5) }
  }

  func testScaleMultipliesTheGradientOnly() {
    let logits = Tensor(shape: Shape(batch: 1, channels: 4), values: [0.3, -0.2, 0.9, 0.1])
    let one = Tensor(shape: logits.shape)
    let quarter = Tensor(shape: logits.shape)
    let labels: [Int32] = [2]
    let lossOne = labels.withUnsafeBufferPointer {
      SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: $0, scale: 1, gradient: one)
    }
    let lossQuarter = labels.withUnsafeBufferPointer {
      SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: $0, scale: 0.25, gradient: quarter)
    }
    XCTAssertEqual(lossOne, lossQuarter)
    for (a, b) in zip(one.toArray(), quarter.toArray()) { XCTAssertEqual(a * 0.25, b, accuracy: 1e-7) }
  }

  /// Large logits must not overflow: the max is subtracted before exponentiating.
  func testStableForLargeLogits() {
    let logits = Tensor(shape: Shape(batch: 1, channels: 2), values: [1000, 0])
    let gradient = Tensor(shape: logits.shape)
    let loss = [Int32(1)].withUnsafeBufferPointer {
      SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: $0, scale: 1, gradient: gradient)
    }
    XCTAssertEqual(loss, 1000, accuracy: 1e-3)
    XCTAssertTrue(gradient.toArray().allSatisfy(\.isFinite))
  }

  /// Central differences of the summed loss against the analytic gradient.
  func testFiniteDifferences() {
    let values: [Float] = [0.2, -1.3, 0.7, 2.1, -0.4, 0.05, 1.5, -0.8, 0.3, 0.9, -2.0, 0.6]
    let shape = Shape(batch: 3, channels: 4)
    let labels: [Int32] = [3, 0, 2]
    let gradient = Tensor(shape: shape)
    let logits = Tensor(shape: shape, values: values)
    _ = labels.withUnsafeBufferPointer {
      SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: $0, scale: 1, gradient: gradient)
    }
    let scratch = Tensor(shape: shape)
    func loss(_ v: [Float]) -> Double {
      labels.withUnsafeBufferPointer {
        SoftmaxCrossEntropy.lossAndGradient(
          logits: Tensor(shape: shape, values: v), labels: $0, scale: 1, gradient: scratch)
      }
    }
    let epsilon: Float = 1e-2
    for i in values.indices {
      var plus = values
      var minus = values
      plus[i] += epsilon
      minus[i] -= epsilon
      let numeric = (loss(plus) - loss(minus)) / Double(2 * epsilon)
      XCTAssertEqual(Double(gradient.toArray()[i]), numeric, accuracy: 1e-3, "logit \(i)")
    }
  }
}
