import Model
import PRNG
import XCTest

/// Invariant 5 of DESIGN.md: every layer's backward matches finite differences.
final class LayerGradientTests: XCTestCase {
  func testConv2DSamePadding() {
    let conv = Conv2D(name: "conv", inputChannels: 2, outputChannels: 3)
    let network = Network(layers: [conv], channels: 2, height: 5, width: 4)
    network.initializeParameters(seed: 1)
    randomizeBiases(network)
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 2, height: 5, width: 4), seed: 2))
  }

  func testConv2DStrideTwoNoPadding() {
    let conv = Conv2D(name: "conv", inputChannels: 3, outputChannels: 2, kernelSize: 3, stride: 2, padding: 0)
    let network = Network(layers: [conv], channels: 3, height: 7, width: 6)
    network.initializeParameters(seed: 3)
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 3, height: 7, width: 6), seed: 4))
  }

  func testReLU() {
    let network = Network(layers: [ReLU()], channels: 2, height: 3, width: 3)
    // Inputs at least 0.1 from the kink, so ±ε never changes which side they are on.
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 3, channels: 2, height: 3, width: 3), seed: 5, margin: 0.1))
  }

  func testMaxPool2D() {
    let network = Network(layers: [MaxPool2D(size: 2)], channels: 2, height: 4, width: 5)
    // Distinct values 0.1 apart, shuffled: ±ε never changes a window's winner.
    let shape = Shape(batch: 2, channels: 2, height: 4, width: 5)
    var values = (0..<shape.count).map { Float($0) * 0.1 }
    var rng = Xoshiro256(seed: 6)
    values.shuffle(using: &rng)
    GradientChecker().check(network, input: Tensor(shape: shape, values: values))
  }

  func testGlobalAvgPool() {
    let network = Network(layers: [GlobalAvgPool()], channels: 3, height: 4, width: 2)
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 3, height: 4, width: 2), seed: 8))
  }

  func testDense() {
    let dense = Dense(name: "fc", inputFeatures: 12, outputFeatures: 5)
    let network = Network(layers: [dense], channels: 3, height: 2, width: 2)
    network.initializeParameters(seed: 9)
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 3, channels: 3, height: 2, width: 2), seed: 10))
  }

  func testCosineDense() {
    let network = Network(
      layers: [CosineDense(name: "fc", inputFeatures: 6, outputFeatures: 4)], channels: 6, height: 1, width: 1
    )
    network.initializeParameters(seed: 13)
    GradientChecker(epsilon: 1e-3).check(network, input: randomTensor(Shape(batch: 3, channels: 6), seed: 14))
    // Cosines lie in [−1, 1].
    let output = network.forward(randomTensor(Shape(batch: 3, channels: 6), seed: 15)).toArray()
    XCTAssertTrue(output.allSatisfy { abs($0) <= 1.0001 })
  }

  /// The whole small CNN, end to end (on 8×8 inputs), checked along each tensor's gradient:
  /// this proves the wiring (every layer reached in order with the right buffers).
  func testSmallCNNEndToEnd() {
    let network = Architecture.smallCNN.makeNetwork(channels: 1, height: 8, width: 8, classes: 4)
    network.initializeParameters(seed: 11)
    randomizeBiases(network)
    GradientChecker(epsilon: 1e-3, tolerance: 1e-3).checkAlongGradient(
      network, input: randomTensor(Shape(batch: 2, channels: 1, height: 8, width: 8), seed: 12))
  }

  /// Biases start at zero; give them values so that their gradients are tested on general ground.
  private func randomizeBiases(_ network: Network) {
    for entry in network.layout.entries where entry.name.hasSuffix(".bias") {
      for i in 0..<entry.count { network.parameters.base[entry.offset + i] = Float(i % 3) * 0.05 - 0.05 }
    }
  }
}
