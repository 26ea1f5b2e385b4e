import Model
import PRNG
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

  /// Winograd is chosen only where it applies (3×3, stride 1, "same") and pays (enough channels).
  func testDefaultLowering() {
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 32, outputChannels: 32).lowering, .winograd)
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 1, outputChannels: 32).lowering, .im2col)
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 32, outputChannels: 32, stride: 2).lowering, .im2col)
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 32, outputChannels: 32, kernelSize: 1).lowering, .im2col)
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 32, outputChannels: 32, padding: 0).lowering, .im2col)
  }

  private func randomize(_ network: Network, seed: UInt64) {
    var rng = Xoshiro256(seed: seed)
    for i in 0..<network.parameters.count { network.parameters.base[i] = Float(rng.nextGaussian()) * 0.5 }
  }
}
