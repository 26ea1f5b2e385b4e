import Model
import XCTest

/// Winograd F(4×4, 3×3) against finite differences and against the im2col lowering of the
/// same layer, including odd sizes (edge tiles partly outside the image) and several chunks.
final class WinogradTests: XCTestCase {
  func testWinogradGradientsMatchFiniteDifferences() {
    let conv = Conv2D(name: "conv", inputChannels: 3, outputChannels: 4, lowering: .winograd)
    let network = Network(layers: [conv], channels: 3, height: 5, width: 7)
    randomize(network, seed: 1)
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 3, height: 5, width: 7), seed: 2))
  }

  /// Batch 70 of 7×5 images is three chunks (32 + 32 + 6 images of 4 tiles), 6×6 a single
  /// one; rows of 6 and 9 tiles (21 and 33 pixels wide) end in a part of the four tiles
  /// transformed at once, and 33 pixels split into phases sixteen at a time and one by one.
  /// Two-tile rows go through the transforms two rows at a time: 7×5 and 6×6 in whole pairs,
  /// 9×7 and 12×8 (3 tile rows) with a last row alone, 9×7 over two chunks (21 + 4 images).
  /// A lane past the image's tiles would read back into its last column in the input
  /// gradient's adjoint transform where that is a multiple of four wide: 8×12 (three tiles a
  /// row, the fourth lane's tile starting at column 11) and 12×8 (the lanes below its last
  /// tile row starting at row 11).
  func testWinogradEqualsIm2col() {
    assertAgreesWithIm2col(
      .winograd, kernelSize: 3,
      images: [
        (7, 5, 70), (6, 6, 3), (1, 1, 2), (9, 21, 3), (12, 33, 2), (9, 7, 25), (12, 8, 3), (8, 12, 3),
      ])
  }

  /// At 64 channels a chunk is 32 tiles: eight 7×7 images (four tiles each), so 19 images run
  /// as chunks of 8, 8 and 3; a 13×13 image (16 tiles) two to a chunk, three images as 2 and 1.
  func testWinogradEqualsIm2colInSmallChunks() {
    assertAgreesWithIm2col(.winograd, kernelSize: 3, channels: (64, 48), images: [(7, 7, 19), (13, 13, 3)])
  }

  /// A convolution with its ReLU fused gives bit for bit what the convolution then a `ReLU`
  /// layer gives (output, parameter and input gradients), for both lowerings and a ReLU6-like
  /// cap; 70 images of 7×5 make the Winograd backward run over three chunks.
  func testFusedActivationEqualsConvolutionThenReLU() {
    for lowering in [ConvolutionLowering.im2col, .winograd] {
      for cap in [Float.infinity, 0.8] {
        let shape = Shape(batch: 70, channels: 9, height: 7, width: 5)
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
        let gradient = randomTensor(Shape(batch: 70, channels: 10, height: 7, width: 5), seed: 33)
        let results = [fused, separate].map { stepResults($0, input: input, outputGradient: gradient) }
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
    XCTAssertEqual(
      Conv2D(name: "c", inputChannels: 32, outputChannels: 32, kernelSize: 1).lowering, .pointwise)
    XCTAssertEqual(
      Conv2D(name: "c", inputChannels: 32, outputChannels: 32, kernelSize: 1, stride: 2).lowering, .im2col)
    XCTAssertEqual(Conv2D(name: "c", inputChannels: 32, outputChannels: 32, padding: 0).lowering, .im2col)
  }
}

/// The pointwise lowering (1×1, stride 1) against finite differences and against im2col.
final class PointwiseConvolutionTests: XCTestCase {
  /// (The fused activation's mask is shared with im2col and checked there; here it is compared
  /// with im2col's below.)
  func testPointwiseGradientsMatchFiniteDifferences() {
    let conv = Conv2D(name: "conv", inputChannels: 3, outputChannels: 4, kernelSize: 1, lowering: .pointwise)
    let network = Network(layers: [conv], channels: 3, height: 3, width: 2)
    randomize(network, seed: 21)
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 3, channels: 3, height: 3, width: 2), seed: 22))
  }

  /// 7×5 images are 7 to a chunk (25 images: 7 + 7 + 7 + 4), 40×40 images one each (used in
  /// place), 1×1 images all in one; with and without a bias and a fused ReLU6.
  func testPointwiseEqualsIm2col() {
    let images = [(7, 5, 25), (40, 40, 2), (1, 1, 3)]
    assertAgreesWithIm2col(.pointwise, kernelSize: 1, images: images)
    assertAgreesWithIm2col(.pointwise, kernelSize: 1, bias: false, activationCap: 6, images: images)
  }
}

extension XCTestCase {
  /// Forward, weight, bias and input gradients of a 9 → 10 channel convolution by `lowering`
  /// and by im2col agree to Float rounding (1e-5 of the largest value), for each
  /// (height, width, batch) of `images`.
  func assertAgreesWithIm2col(
    _ lowering: ConvolutionLowering, kernelSize: Int, bias: Bool = true, activationCap: Float? = nil,
    channels: (input: Int, output: Int) = (9, 10), images: [(Int, Int, Int)], file: StaticString = #filePath,
    line: UInt = #line
  ) {
    for (height, width, batch) in images {
      let shape = Shape(batch: batch, channels: channels.input, height: height, width: width)
      var results: [[[Float]]] = []
      for lowering in [ConvolutionLowering.im2col, lowering] {
        let conv = Conv2D(
          name: "conv", inputChannels: channels.input, outputChannels: channels.output,
          kernelSize: kernelSize, bias: bias, lowering: lowering, activationCap: activationCap)
        let network = Network(layers: [conv], channels: channels.input, height: height, width: width)
        randomize(network, seed: 3)
        let input = randomTensor(shape, seed: 4)
        let output = network.forward(input).toArray()
        let outputGradient = randomTensor(
          Shape(batch: batch, channels: channels.output, height: height, width: width), seed: 5)
        let inputGradient = Tensor(shape: shape)
        network.zeroGradients()
        network.backward(input: input, logitsGradient: outputGradient, inputGradient: inputGradient)
        results.append([output, Array(network.gradients.buffer), inputGradient.toArray()])
      }
      for (what, (reference, other)) in zip(
        ["output", "parameter gradients", "input gradient"], zip(results[0], results[1]))
      {
        let scale = reference.map { abs($0) }.max() ?? 0
        XCTAssertGreaterThan(scale, 0.1, "\(height)×\(width) \(what)", file: file, line: line)
        for (a, b) in zip(reference, other) {
          XCTAssertEqual(a, b, accuracy: 1e-5 * scale, "\(height)×\(width) \(what)", file: file, line: line)
        }
      }
    }
  }
}

/// The im2col lowering against the convolution written from its definition,
/// `y[co, oy, ox] = b[co] + Σ w[co, ci, ky, kx] · x[ci, oy·s − p + ky, ox·s − p + kx]`, and the
/// weight and input gradients against that sum's adjoints: same-size kernels (one shifted copy
/// per row of the column matrix, including shifts past a whole 1×2 plane, and planes of 64×64
/// and 40×48) and strided or unpadded ones (150×160 at stride 2 among them, and a 5×5 kernel at
/// stride 2 on odd widths). Three images: those with 400 output pixels (20×20) go two to a
/// product and one alone (`Conv2D.columnsPerChunk` 1024), smaller ones all three to one.
final class Im2colTests: XCTestCase {
  func testIm2colEqualsTheDirectConvolution() {
    let cases = [
      (3, 1, 1, 5, 4), (5, 1, 2, 6, 7), (5, 1, 2, 1, 2), (3, 1, 1, 1, 1), (3, 2, 1, 7, 6), (3, 1, 0, 5, 5),
      (3, 1, 1, 64, 64), (5, 1, 2, 40, 48), (3, 2, 1, 150, 160), (3, 2, 1, 13, 27), (5, 2, 2, 9, 23),
      (3, 2, 0, 6, 11), (3, 1, 1, 20, 20), (3, 2, 1, 40, 40),
    ]
    for (k, s, p, h, w) in cases {
      let (channels, filters, batch) = (3, 4, 3)
      let conv = Conv2D(
        name: "conv", inputChannels: channels, outputChannels: filters, kernelSize: k, stride: s, padding: p,
        lowering: .im2col)
      let network = Network(layers: [conv], channels: channels, height: h, width: w)
      randomize(network, seed: 21)
      let x = randomTensor(Shape(batch: batch, channels: channels, height: h, width: w), seed: 22)
      let y = network.forward(x).toArray()
      let out = network.nodes[0].shape
      let dy = randomTensor(out.with(batch: batch), seed: 23)
      let dx = Tensor(shape: x.shape)
      network.zeroGradients()
      network.backward(input: x, logitsGradient: dy, inputGradient: dx)
      let (weight, bias) = (network.parameter(named: "conv.weight")!, network.parameter(named: "conv.bias")!)
      let (inputs, gradients) = (x.toArray(), dy.toArray())
      var expectedY = [Double](repeating: 0, count: y.count)
      var expectedDx = [Double](repeating: 0, count: inputs.count)
      var expectedDw = [Double](repeating: 0, count: filters * channels * k * k)
      for n in 0..<batch {
        for co in 0..<filters {
          for oy in 0..<out.height {
            for ox in 0..<out.width {
              let o = ((n * filters + co) * out.height + oy) * out.width + ox
              expectedY[o] = Double(bias[co])
              for ci in 0..<channels {
                for ky in 0..<k {
                  for kx in 0..<k {
                    let (iy, ix) = (oy * s - p + ky, ox * s - p + kx)
                    guard iy >= 0 && iy < h && ix >= 0 && ix < w else { continue }
                    let i = ((n * channels + ci) * h + iy) * w + ix
                    let tap = ((co * channels + ci) * k + ky) * k + kx
                    expectedY[o] += Double(weight[tap]) * Double(inputs[i])
                    expectedDx[i] += Double(weight[tap]) * Double(gradients[o])
                    expectedDw[tap] += Double(gradients[o]) * Double(inputs[i])
                  }
                }
              }
            }
          }
        }
      }
      let what = "k \(k), stride \(s), padding \(p), \(h)×\(w)"
      for (actual, expected) in zip(y, expectedY) {
        XCTAssertEqual(Double(actual), expected, accuracy: 1e-5, what)
      }
      for (actual, expected) in zip(dx.toArray(), expectedDx) {
        XCTAssertEqual(Double(actual), expected, accuracy: 1e-5, what)
      }
      // The weight is the arena's first tensor, its gradient the gradients' first.
      for (actual, expected) in zip(network.gradients.buffer.prefix(expectedDw.count), expectedDw) {
        XCTAssertEqual(Double(actual), expected, accuracy: 1e-4 * max(1, abs(expected)), what)
      }
    }
  }
}
