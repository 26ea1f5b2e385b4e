import Model
import Training
import XCTest

/// LWS's scales: their gradient from the classifier's, checked by central differences of the
/// loss in the scales, and one SGD step rescaling each class's row and bias.
final class ClassScalesTests: XCTestCase {
  private func setUp(classes: Int) throws -> (Network, Tensor, [Int32]) {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 12, width: 12, classes: classes)
    network.initializeParameters(seed: 9)
    network.setTraining(false)
    let input = Tensor(
      shape: network.inputShape.with(batch: 6), values: (0..<(6 * 144)).map { Float(($0 * 37) % 23) / 11 - 1 }
    )
    return (network, input, (0..<6).map { Int32($0 % classes) })
  }

  /// The summed cross-entropy, with its gradients in the network's arena.
  private func loss(_ network: Network, _ input: Tensor, _ labels: [Int32]) -> Double {
    network.zeroGradients()
    let logits = network.forward(input)
    let gradient = Tensor(shape: logits.shape)
    let value = labels.withUnsafeBufferPointer {
      CrossEntropyLoss().lossAndGradient(logits: logits, labels: $0, scale: 1, gradient: gradient)
    }
    network.backward(input: input, outputGradients: [(.logits, gradient)])
    return value
  }

  /// ∂L/∂f_k at f = 1 from `step` (lr 1, no momentum or decay: the scale moves by −∂L/∂f_k)
  /// against (L(f_k = 1 + ε) − L(f_k = 1 − ε)) / 2ε with row k and its bias scaled; and after the
  /// step each row and bias is the old one times its new scale.
  func testScaleGradientAndStep() throws {
    let (network, input, labels) = try setUp(classes: 4)
    let weights = try XCTUnwrap(network.classifierWeight)
    let bias = try XCTUnwrap(network.classifierBias)
    let (rows, biases) = (Array(weights), Array(bias))
    let features = weights.count / 4
    func scaled(_ k: Int, _ factor: Float) -> Double {
      weights.update(from: rows.indices.map { rows[$0] * ($0 / features == k ? factor : 1) })
      bias.update(from: biases.indices.map { biases[$0] * ($0 == k ? factor : 1) })
      defer {
        weights.update(from: rows)
        bias.update(from: biases)
      }
      return loss(network, input, labels)
    }
    let epsilon: Float = 1e-2
    let numeric = (0..<4).map { (scaled($0, 1 + epsilon) - scaled($0, 1 - epsilon)) / Double(2 * epsilon) }
    _ = loss(network, input, labels)
    var scales = ClassScales(classes: 4)
    scales.step(network: network, learningRate: 1, momentum: 0, weightDecay: 0)
    for k in 0..<4 {
      XCTAssertEqual(1 - scales.scales[k], numeric[k], accuracy: 2e-3 * max(1, abs(numeric[k])), "class \(k)")
      for i in (k * features)..<((k + 1) * features) {
        XCTAssertEqual(weights[i], rows[i] * Float(scales.scales[k]), accuracy: 1e-6)
      }
      XCTAssertEqual(bias[k], biases[k] * Float(scales.scales[k]), accuracy: 1e-6)
    }
    XCTAssertGreaterThan(numeric.map(abs).max()!, 1e-3, "the check needs a gradient")
  }

  /// Momentum and weight decay in PyTorch's form on the scales: v ← μv + g + λf; f ← f − ηv.
  func testMomentumAndWeightDecay() throws {
    let (network, input, labels) = try setUp(classes: 3)
    _ = loss(network, input, labels)
    var plain = ClassScales(classes: 3)
    plain.step(network: network, learningRate: 1, momentum: 0, weightDecay: 0)
    let gradient = plain.scales.map { 1 - $0 }
    let (next, _, _) = try setUp(classes: 3)
    _ = loss(next, input, labels)
    var scales = ClassScales(scales: [1, 1, 1], velocity: [0.5, -0.25, 0])
    scales.step(network: next, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
    for k in 0..<3 {
      let velocity = 0.9 * [0.5, -0.25, 0][k] + gradient[k] + 0.01
      XCTAssertEqual(scales.velocity[k], velocity, accuracy: 1e-9)
      XCTAssertEqual(scales.scales[k], 1 - 0.1 * velocity, accuracy: 1e-9)
    }
  }
}
