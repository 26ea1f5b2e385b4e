import Model
import XCTest

/// Winograd F(2×2, 3×3) against finite differences and against the im2col lowering of the
/// same layer, including odd sizes (edge tiles half outside the image) and several chunks.
final class WinogradTests: XCTestCase {
  func testWinogradGradientsMatchFiniteDifferences() {
    let conv = Conv2D(name: "conv", inputChannels: 3, outputChannels: 4, lowering: .winograd)
    let network = Network(layers: [conv], channels: 3, height: 5, width: 7)
    randomize(network, seed: 1)
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 3, height: 5, width: 7), seed: 2))
  }

  /// Forward, weight, bias and input gradients of both lowerings agree to Float rounding.
  /// Batch 25 of 7×5 images is three chunks (21 + 4 images of 12 tiles), 6×6 a single one.
  func testWinogradEqualsIm2col() {
    for (height, width, batch) in [(7, 5, 25), (6, 6, 3), (1, 1, 2)] {
      let shape = Shape(batch: batch, channels: 9, height: height, width: width)
      var results: [[[Float]]] = []
      for lowering in [ConvolutionLowering.im2col, .winograd] {
        let network = Network(
          layers: [Conv2D(name: "conv", inputChannels: 9, outputChannels: 10, lowering: lowering)],
          channels: 9, height: height, width: width)
        randomize(network, seed: 3)
        let input = randomTensor(shape, seed: 4)
        let output = network.forward(input).toArray()
        let outputGradient = randomTensor(
          Shape(batch: batch, channels: 10, height: height, width: width), seed: 5)
        let inputGradient = Tensor(shape: shape)
        network.zeroGradients()
        network.backward(input: input, logitsGradient: outputGradient, inputGradient: inputGradient)
        results.append([output, Array(network.gradients.buffer), inputGradient.toArray()])
      }
      for (what, (reference, winograd)) in zip(
        ["output", "parameter gradients", "input gradient"], zip(results[0], results[1]))
      {
        let scale = reference.map { abs($0) }.max() ?? 0
        XCTAssertGreaterThan(scale, 0.1, "\(height)×\(width) \(what)")
        for (a, b) in zip(reference, winograd) {
          XCTAssertEqual(a, b, accuracy: 1e-5 * scale, "\(height)×\(width) \(what)")
        }
      }
    }
  }

  /// A convolution with its ReLU fused gives bit for bit what the convolution then a `ReLU`
  /// layer gives (output, parameter and input gradients), for both lowerings and a ReLU6-like
  /// cap; 25 images of 7×5 make the Winograd backward run over three chunks.
  func testFusedActivationEqualsConvolutionThenReLU() {
    for lowering in [ConvolutionLowering.im2col, .winograd] {
      for cap in [Float.infinity, 0.8] {
        let shape = Shape(batch: 25, channels: 9, height: 7, width: 5)
        func convolution(_ activationCap: Float?) -> Conv2D {
          Conv2D(
            name: "conv", inputChannels: 9, outputChannels: 10, lowering: lowering,
            activationCap: activationCap)
        }
        let fused = Network(layers: [convolution(cap)], channels: 9, height: 7, width: 5)
        let separate = Network(
          layers: [convolution(nil), ReLU(name: "relu", cap: cap)], channels: 9, height: 7, width: 5)
        randomize(fused, seed: 31)
        separate.parameters.base.update(from: fused.parameters.base, count: fused.parameters.count)
        let input = randomTensor(shape, seed: 32)
        let gradient = randomTensor(Shape(batch: 25, channels: 10, height: 7, width: 5), seed: 33)
        var results: [[Float]] = []
        for network in [fused, separate] {
          let y = network.forward(input).toArray()
          let dx = Tensor(shape: shape)
          network.zeroGradients()
          network.backward(input: input, logitsGradient: gradient, inputGradient: dx)
          results.append(y + dx.toArray() + Array(network.gradients.buffer))
        }
        XCTAssertEqual(results[0], results[1], "\(lowering), cap \(cap)")
        let outputs = results[0].prefix(gradient.shape.count)
        XCTAssertTrue(outputs.contains(0), "some outputs are clamped at 0")
        if cap < .infinity { XCTAssertTrue(outputs.contains(cap), "some outputs are clamped at the cap") }
      }
    }
  }

  func testFusedActivationGradientsMatchFiniteDifferences() {
    for lowering in [ConvolutionLowering.im2col, .winograd] {
      let conv = Conv2D(
        name: "conv", inputChannels: 3, outputChannels: 4, lowering: lowering, activationCap: .infinity)
      let network = Network(layers: [conv], channels: 3, height: 5, width: 6)
      randomize(network, seed: 41)
      GradientChecker().check(
        network, input: randomTensor(Shape(batch: 2, channels: 3, height: 5, width: 6), seed: 42))
    }
  }

  /// Winograd is chosen only where it applies (3×3, stride 1, "same") and pays (enough channels).
  func testDefaultLowering() {
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 32, outputChannels: 32).lowering, .winograd)
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 1, outputChannels: 32).lowering, .im2col)
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 32, outputChannels: 32, stride: 2).lowering, .im2col)
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 32, outputChannels: 32, kernelSize: 1).lowering, .im2col)
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 32, outputChannels: 32, padding: 0).lowering, .im2col)
  }
}
