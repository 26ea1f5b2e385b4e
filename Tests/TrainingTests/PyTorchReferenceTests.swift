import Foundation
import Model
import XCTest

/// A whole training step of the small CNN (batch norm in training mode, ReLU, max pooling,
/// global pooling, dense; mean cross-entropy; SGD with momentum and weight decay) against the
/// same step in PyTorch, as llm.c's test compares its step with reference tensors.
///
/// The numbers below were printed by `scripts/reference/small_cnn_step.py` (torch 2.15.0, CPU,
/// float32, one thread), which states the formulas for the parameters, the input and the
/// labels; this test evaluates the same formulas. Per gradient tensor: L2 norm, sum and entries
/// 0, n/2, n−1; then the parameters' norm after the update and each batch norm's running
/// statistics (PyTorch's unbiased running variance).
final class PyTorchReferenceTests: XCTestCase {
  private let loss = 1.11237264
  private let gradients: [(name: String, norm: Double, sum: Double, entries: [Double])] = [
    ("conv1.weight", 0.658376688, 0.043543423, [-0.00185260852, 0.0121150045, -0.0193371791]),
    ("bn1.weight", 0.226015033, -0.00146054197, [0.0491151176, -0.0456062667, -0.0569914989]),
    ("bn1.bias", 0.201047087, -0.0210796464, [0.0494864918, -0.0303050224, -0.0550224856]),
    ("conv2.weight", 3.53588034, 4.19024625, [0.0024370912, -0.0224583652, -0.00424683234]),
    ("bn2.weight", 0.139250218, -0.016399474, [0.0127799669, -0.00309047871, -0.010697918]),
    ("bn2.bias", 0.0481113993, 0.0277831081, [0.00371162547, 0.0195876863, 0.00803252496]),
    ("conv3.weight", 9.46768973, 19.6367565, [0.0176307987, -0.0366880037, -0.074253194]),
    ("bn3.weight", 0.104520629, 0.0151054485, [0.00381313404, 0.00427681115, 0.00920912158]),
    ("bn3.bias", 0.0855993565, 0.00690116477, [0.00926179625, 0.0138620185, 0.011229449]),
    ("conv4.weight", 12.1488961, -2.52397193, [-0.0641207173, -0.0260203052, -0.0418857783]),
    ("bn4.weight", 0.0849191102, 0.0152749592, [0.0119768241, -0.0123192621, 0.00907038897]),
    ("bn4.bias", 0.255328456, 0.0333346073, [0.0380368493, -0.00902770646, 0.0312847979]),
    ("fc.weight", 1.20252381, -1.09401299e-07, [0.0853545368, -0.145690888, 0.0489446223]),
    ("fc.bias", 0.268683158, -1.49011612e-08, [0.161235273, 0.0482144505, -0.209449738]),
  ]
  private let parameterNormAfterStep = 17.142304
  private let runningStatistics: [(layer: String, meanNorm: Double, varianceNorm: Double)] = [
    ("bn1", 0.00145362527, 5.29070282), ("bn2", 0.0137372514, 5.62371549),
    ("bn3", 0.012286584, 7.20953857), ("bn4", 0.00149073696, 7.21954392),
  ]

  /// The script's formula for entry `i` of tensor `t` (0-based, arena order).
  private func value(_ name: String, shape: [Int], tensor t: Int, index i: Int) -> Float {
    let (t, x) = (Double(t), Double(i))
    if name.hasPrefix("bn") {
      return Float(name.hasSuffix("weight") ? 1 + 0.1 * sin(0.9 * x + t) : 0.1 * cos(1.1 * x + t))
    }
    if name == "fc.bias" { return Float(0.1 * sin(1.3 * x + 0.7 * t)) }
    return Float(sin(1.3 * x + 0.7 * t) / Double(shape.dropFirst().reduce(1, *)).squareRoot())
  }

  func testOneStepOfTheSmallCNNMatchesPyTorch() throws {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 8, width: 8, classes: 3)
    XCTAssertEqual(network.layout.entries.map(\.name), gradients.map(\.name))
    for (t, entry) in network.layout.entries.enumerated() {
      for i in 0..<entry.count {
        network.parameters.base[entry.offset + i] = value(entry.name, shape: entry.shape, tensor: t, index: i)
      }
    }
    let input = Tensor(
      shape: network.inputShape.with(batch: 4), values: (0..<256).map { Float(sin(0.37 * Double($0))) })
    let labels: [Int32] = [0, 2, 1, 2]
    let logitsGradient = Tensor(shape: Shape(batch: 4, channels: 3))
    network.setTraining(true)
    network.zeroGradients()
    let logits = network.forward(input)
    let total = labels.withUnsafeBufferPointer {
      CrossEntropyLoss().lossAndGradient(logits: logits, labels: $0, scale: 1 / 4, gradient: logitsGradient)
    }
    network.backward(input: input, logitsGradient: logitsGradient)
    XCTAssertEqual(total / 4, loss, accuracy: 1e-6)

    for (entry, reference) in zip(network.layout.entries, gradients) {
      let g = UnsafeBufferPointer(start: network.gradients.base + entry.offset, count: entry.count).map(
        Double.init)
      // Everything is compared against the tensor's own norm: sums of a zero-mean gradient are
      // near zero, and float32 summation order differs between the two libraries. Winograd
      // F(4×4, 3×3) in conv2–4 rounds more than PyTorch's direct convolution: the largest
      // deviation is 2.9e-5 of the norm (conv3.weight's sum; under 2e-5 with F(2×2, 3×3)).
      let tolerance = 5e-5 * reference.norm
      XCTAssertEqual(
        g.reduce(0) { $0 + $1 * $1 }.squareRoot(), reference.norm, accuracy: tolerance, entry.name)
      XCTAssertEqual(g.reduce(0, +), reference.sum, accuracy: tolerance, entry.name)
      for (index, expected) in zip([0, g.count / 2, g.count - 1], reference.entries) {
        XCTAssertEqual(g[index], expected, accuracy: tolerance, "\(entry.name)[\(index)]")
      }
    }

    SGD(parameterCount: network.layout.count, momentum: 0.9, weightDecay: 5e-4)
      .step(parameters: network.parameters, gradients: network.gradients, learningRate: 0.1)
    let norm = network.parameters.buffer.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
    XCTAssertEqual(norm, parameterNormAfterStep, accuracy: 1e-6 * parameterNormAfterStep)
    for reference in runningStatistics {
      for (suffix, expected) in [
        ("running_mean", reference.meanNorm), ("running_var", reference.varianceNorm),
      ] {
        let entry = try XCTUnwrap(
          network.bufferLayout.entries.first { $0.name == "\(reference.layer).\(suffix)" })
        let values = UnsafeBufferPointer(start: network.buffers.base + entry.offset, count: entry.count)
        let actual = values.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        // Largest deviation 1.7e-5 (bn4's running mean; under 1e-5 with F(2×2, 3×3)).
        XCTAssertEqual(actual, expected, accuracy: 5e-5 * expected, entry.name)
      }
    }
  }
}
