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

  /// Width 11: per output row one group of four windows, one window alone, a dropped column.
  func testMaxPool2D() {
    let network = Network(layers: [MaxPool2D(size: 2)], channels: 2, height: 4, width: 11)
    // Distinct values 0.1 apart, shuffled: ±ε never changes a window's winner.
    let shape = Shape(batch: 2, channels: 2, height: 4, width: 11)
    var values = (0..<shape.count).map { Float($0) * 0.1 }
    var rng = Xoshiro256(seed: 6)
    values.shuffle(using: &rng)
    GradientChecker().check(network, input: Tensor(shape: shape, values: values))
  }

  /// Ties go to the first maximum in reading order, in the four-window path (windows 0–3)
  /// as in the single-window one (window 4): the gradient lands on exactly that pixel.
  func testMaxPoolTiesGoToTheFirstMaximum() {
    let network = Network(layers: [MaxPool2D(size: 2)], channels: 1, height: 2, width: 10)
    // Windows: all equal; top-right = bottom-left; bottom-left = bottom-right; a
    // plain maximum bottom-right; then the single window with top-left = bottom-right.
    let top: [Float] = [1, 1, 0, 5, 0, 0, 0, 1, 7, 0]
    let bottom: [Float] = [1, 1, 5, 0, 3, 3, 0, 2, 0, 7]
    let input = Tensor(shape: Shape(batch: 1, channels: 1, height: 2, width: 10), values: top + bottom)
    XCTAssertEqual(network.forward(input).toArray(), [1, 5, 3, 2, 7])
    let inputGradient = Tensor(shape: input.shape)
    network.backward(
      input: input,
      logitsGradient: Tensor(
        shape: Shape(batch: 1, channels: 1, height: 1, width: 5), values: [1, 2, 3, 4, 5]),
      inputGradient: inputGradient)
    XCTAssertEqual(
      inputGradient.toArray(),
      [1, 0, 0, 2, 0, 0, 0, 0, 5, 0] + [0, 0, 0, 0, 3, 0, 0, 4, 0, 0])
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
  /// this proves the wiring (every layer reached in order with the right buffers). A wiring
  /// error is off by order 1; Float rounding of the forward passes alone gives up to 3.1e-3 at
  /// this ε (bn1's bias, through conv2's input gradient: Winograd F(4×4, 3×3) rounds ten times
  /// more than F(2×2, 3×3) did, whose worst was 1.2e-3; the error falls as 1/ε, to 5e-4 at
  /// ε = 4e-3), hence the tolerance of 5e-3.
  func testSmallCNNEndToEnd() throws {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 8, width: 8, classes: 4)
    network.initializeParameters(seed: 11)
    network.scaleConvolutionsToHe()
    randomizeBiases(network)
    GradientChecker(epsilon: 1e-3, tolerance: 5e-3).checkAlongGradient(
      network, input: randomTensor(Shape(batch: 2, channels: 1, height: 8, width: 8), seed: 12))
  }

  /// Biases start at zero; give them values so that their gradients are tested on general ground.
  private func randomizeBiases(_ network: Network) {
    for entry in network.layout.entries where entry.name.hasSuffix(".bias") {
      for i in 0..<entry.count { network.parameters.base[entry.offset + i] = Float(i % 3) * 0.05 - 0.05 }
    }
  }
}

/// The layers of the seeds' architectures (issue 5), each against finite differences.
final class ArchitectureLayerGradientTests: XCTestCase {
  func testBatchNormTrainingModeUsesBatchStatistics() {
    let network = Network(layers: [BatchNorm2D(name: "bn", channels: 3)], channels: 3, height: 3, width: 2)
    randomize(network, seed: 1)
    network.setTraining(true)
    let input = randomTensor(Shape(batch: 4, channels: 3, height: 3, width: 2), seed: 2)
    GradientChecker(epsilon: 1e-2, tolerance: 2e-3).check(network, input: input)
    // Each channel of the output has mean β and (biased) variance γ²·σ²/(σ² + ε) ≈ γ².
    let output = network.forward(input)
    let plane = 6
    for c in 0..<3 {
      var values: [Double] = []
      for n in 0..<4 { values += (0..<plane).map { Double(output.image(n)[c * plane + $0]) } }
      let mean = values.reduce(0, +) / Double(values.count)
      let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
      XCTAssertEqual(mean, Double(network.parameter(named: "bn.bias")![c]), accuracy: 1e-5)
      XCTAssertEqual(
        variance.squareRoot(), abs(Double(network.parameter(named: "bn.weight")![c])), accuracy: 1e-3)
    }
  }

  /// The running statistics move by `momentum` towards the batch's (unbiased variance).
  func testBatchNormRunningStatistics() {
    let network = Network(
      layers: [BatchNorm2D(name: "bn", channels: 1, momentum: 0.25)], channels: 1, height: 1, width: 4)
    network.setTraining(true)
    network.forward(Tensor(shape: Shape(batch: 1, channels: 1, height: 1, width: 4), values: [1, 2, 3, 6]))
    // mean 3, unbiased variance (4 + 1 + 0 + 9)/3 = 14/3.
    XCTAssertEqual(network.buffers.base[0], 0.75 * 0 + 0.25 * 3, accuracy: 1e-6)
    XCTAssertEqual(network.buffers.base[1], 0.75 * 1 + 0.25 * 14 / 3, accuracy: 1e-6)
  }

  func testBatchNormInferenceModeUsesRunningStatistics() {
    let network = Network(layers: [BatchNorm2D(name: "bn", channels: 2)], channels: 2, height: 2, width: 2)
    randomize(network, seed: 3)
    (network.buffers.base[0], network.buffers.base[1]) = (0.3, -0.2)
    (network.buffers.base[2], network.buffers.base[3]) = (1.7, 0.4)
    network.setTraining(false)
    let input = randomTensor(Shape(batch: 2, channels: 2, height: 2, width: 2), seed: 4)
    GradientChecker().check(network, input: input)
    let y = network.forward(input)
    let (gamma, beta) = (network.parameter(named: "bn.weight")![1], network.parameter(named: "bn.bias")![1])
    let expected = gamma * (input.pointer[4] - -0.2) / (0.4 + 1e-5).squareRoot() + beta
    XCTAssertEqual(y.pointer[4], expected, accuracy: 1e-5)
  }

  /// Batch norm with a fused ReLU / ReLU6 computes exactly what batch norm followed by the
  /// activation layer computes, forward and backward, in training and inference mode.
  func testBatchNormWithFusedActivationEqualsBatchNormThenReLU() {
    for cap in [Float.infinity, 1.5] {
      for training in [true, false] {
        let fused = Network(
          layers: [BatchNorm2D(name: "bn", channels: 3, activationCap: cap)], channels: 3, height: 4, width: 5
        )
        let separate = Network(
          layers: [BatchNorm2D(name: "bn", channels: 3), ReLU(name: "relu", cap: cap)], channels: 3,
          height: 4, width: 5)
        randomize(fused, seed: 21)
        separate.parameters.base.update(from: fused.parameters.base, count: fused.parameters.count)
        for network in [fused, separate] {
          (network.buffers.base[1], network.buffers.base[4]) = (0.2, 1.3)
          network.setTraining(training)
        }
        let input = randomTensor(Shape(batch: 2, channels: 3, height: 4, width: 5), seed: 22)
        let gradient = randomTensor(Shape(batch: 2, channels: 3, height: 4, width: 5), seed: 23)
        let results = [fused, separate].map { stepResults($0, input: input, outputGradient: gradient) }
        XCTAssertEqual(results[0], results[1], "cap \(cap), training \(training)")
        // Some elements are clamped at each end, so the masks are exercised.
        XCTAssertTrue(results[0].prefix(120).contains(0))
        if cap < .infinity { XCTAssertTrue(results[0].prefix(120).contains(cap)) }
      }
    }
  }

  func testPointwiseConvolutionWithoutBias() {
    let conv = Conv2D(name: "conv", inputChannels: 3, outputChannels: 4, kernelSize: 1, bias: false)
    let network = Network(layers: [conv], channels: 3, height: 3, width: 3)
    network.initializeParameters(seed: 5)
    XCTAssertEqual(network.layout.entries.map(\.name), ["conv.weight"])
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 3, height: 3, width: 3), seed: 6))
  }

  func testConvolutionStrideTwoPaddingOne() {
    let conv = Conv2D(name: "conv", inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 2, padding: 1)
    let network = Network(layers: [conv], channels: 2, height: 7, width: 6)
    network.initializeParameters(seed: 7)
    XCTAssertEqual(network.nodes[0].shape, Shape(batch: 1, channels: 3, height: 4, width: 3))
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 2, height: 7, width: 6), seed: 8))
  }

  /// Strides 1–3, with and without padding, kernels 3 and 5, odd and even sizes (an unread
  /// last row or column at stride 2 without padding).
  func testDepthwiseConvolution() {
    let cases: [(kernel: Int, stride: Int, padding: Int, bias: Bool, height: Int, width: Int)] = [
      (3, 1, 1, true, 5, 6), (3, 2, 1, false, 5, 6), (3, 2, 0, true, 6, 7), (5, 1, 2, false, 6, 5),
      (3, 3, 1, true, 7, 7),
    ]
    for c in cases {
      let layer = DepthwiseConv2D(
        name: "dw", channels: 3, kernelSize: c.kernel, stride: c.stride, padding: c.padding, bias: c.bias)
      let network = Network(layers: [layer], channels: 3, height: c.height, width: c.width)
      randomize(network, seed: 9)
      GradientChecker().check(
        network, input: randomTensor(Shape(batch: 2, channels: 3, height: c.height, width: c.width), seed: 10)
      )
    }
  }

  /// Depthwise = a grouped convolution: channel c of the output, and channel c's weight and
  /// input gradients, are those of a one-channel `Conv2D` (im2col) with channel c's filter.
  func testDepthwiseConvolutionMatchesAPerChannelConvolution() {
    for (stride, padding) in [(1, 1), (2, 1), (2, 0)] {
      let (height, width) = (7, 6)
      let depthwise = Network(
        layers: [DepthwiseConv2D(name: "dw", channels: 2, stride: stride, padding: padding)], channels: 2,
        height: height, width: width)
      randomize(depthwise, seed: 11)
      let input = randomTensor(Shape(batch: 1, channels: 2, height: height, width: width), seed: 12)
      let y = depthwise.forward(input).toArray()
      let outputShape = depthwise.nodes[0].shape.with(batch: 1)
      let gradient = randomTensor(outputShape, seed: 13)
      let dx = Tensor(shape: input.shape)
      depthwise.zeroGradients()
      depthwise.backward(input: input, logitsGradient: gradient, inputGradient: dx)
      let (inPlane, outPlane) = (height * width, outputShape.plane)
      for c in 0..<2 {
        let single = Network(
          layers: [
            Conv2D(
              name: "conv", inputChannels: 1, outputChannels: 1, stride: stride, padding: padding, bias: false
            )
          ], channels: 1, height: height, width: width)
        for i in 0..<9 { single.parameters.base[i] = depthwise.parameters.base[c * 9 + i] }
        let plane = Tensor(
          shape: Shape(batch: 1, channels: 1, height: height, width: width),
          values: Array(input.toArray()[(c * inPlane)..<((c + 1) * inPlane)]))
        let expected = single.forward(plane).toArray()
        let planeGradient = Tensor(
          shape: Shape(batch: 1, channels: 1, height: outputShape.height, width: outputShape.width),
          values: Array(gradient.toArray()[(c * outPlane)..<((c + 1) * outPlane)]))
        let expectedDx = Tensor(shape: plane.shape)
        single.zeroGradients()
        single.backward(input: plane, logitsGradient: planeGradient, inputGradient: expectedDx)
        let what = "stride \(stride), padding \(padding), channel \(c)"
        for i in 0..<outPlane { XCTAssertEqual(y[c * outPlane + i], expected[i], accuracy: 1e-5, what) }
        for i in 0..<9 {
          XCTAssertEqual(depthwise.gradients.base[c * 9 + i], single.gradients.base[i], accuracy: 1e-4, what)
        }
        let (actualDx, referenceDx) = (dx.toArray(), expectedDx.toArray())
        for i in 0..<inPlane {
          XCTAssertEqual(actualDx[c * inPlane + i], referenceDx[i], accuracy: 1e-5, what)
        }
      }
    }
  }

  func testTransposedConvolution() {
    for (kernel, stride, padding, outputPadding, size) in [(3, 2, 1, 1, 3), (2, 2, 0, 0, 3), (3, 1, 1, 0, 4)]
    {
      let layer = ConvTranspose2D(
        name: "up", inputChannels: 2, outputChannels: 3, kernelSize: kernel, stride: stride, padding: padding,
        outputPadding: outputPadding)
      let network = Network(layers: [layer], channels: 2, height: size, width: size)
      randomize(network, seed: 13)
      let expected = (size - 1) * stride - 2 * padding + kernel + outputPadding
      XCTAssertEqual(network.nodes[0].shape, Shape(batch: 1, channels: 3, height: expected, width: expected))
      GradientChecker().check(
        network, input: randomTensor(Shape(batch: 2, channels: 2, height: size, width: size), seed: 14))
    }
  }

  /// A 2×2 stride-2 transposed convolution writes `x·W[ky, kx]` into each 2×2 output block.
  func testTransposedConvolutionByHand() {
    let layer = ConvTranspose2D(name: "up", inputChannels: 1, outputChannels: 1, kernelSize: 2, stride: 2)
    let network = Network(layers: [layer], channels: 1, height: 1, width: 2)
    for (i, w) in [1, 2, 3, 4, 0.5].enumerated() { network.parameters.base[i] = Float(w) }
    let y = network.forward(
      Tensor(shape: Shape(batch: 1, channels: 1, height: 1, width: 2), values: [10, -1]))
    XCTAssertEqual(y.toArray(), [10.5, 20.5, -0.5, -1.5, 30.5, 40.5, -2.5, -3.5])
  }

  func testAveragePooling() {
    let network = Network(layers: [AvgPool2D(size: 2)], channels: 2, height: 4, width: 5)
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 2, height: 4, width: 5), seed: 15))
    let y = Network(layers: [AvgPool2D(size: 2)], channels: 1, height: 2, width: 2).forward(
      Tensor(shape: Shape(batch: 1, channels: 1, height: 2, width: 2), values: [1, 2, 3, 6]))
    XCTAssertEqual(y.toArray(), [3])
  }

  func testSigmoidTanhAndReLU6() {
    for layer in [Sigmoid(), Tanh(), ReLU(name: "relu6", cap: 6)] as [Layer] {
      let network = Network(layers: [layer], channels: 2, height: 3, width: 3)
      // ReLU6: values 0.1 away from its kinks at 0 and 6, scaled up so some exceed 6.
      let input = randomTensor(Shape(batch: 2, channels: 2, height: 3, width: 3), seed: 16, margin: 0.1)
      if layer is ReLU {
        for i in 0..<input.shape.count {
          input.pointer[i] *= 4
          if abs(input.pointer[i] - 6) < 0.1 { input.pointer[i] += 0.2 }
        }
      }
      GradientChecker().check(network, input: input)
    }
    let capped = Network(layers: [ReLU(name: "r", cap: 6)], channels: 1, height: 1, width: 3)
    XCTAssertEqual(
      capped.forward(Tensor(shape: Shape(batch: 1, channels: 1, height: 1, width: 3), values: [-1, 3, 9]))
        .toArray(), [0, 3, 6])
  }

  /// Training-mode dropout with a fixed stream is a fixed linear map (checked); about `rate` of
  /// the elements are zero, the rest scaled by 1/(1 − rate); inference mode is the identity.
  func testDropout() {
    let network = Network(layers: [Dropout(name: "drop", rate: 0.25)], channels: 4, height: 8, width: 8)
    network.setTraining(true)
    network.seedStochasticLayers(seed: 3, step: 7, rank: 0)
    let input = randomTensor(Shape(batch: 2, channels: 4, height: 8, width: 8), seed: 17)
    GradientChecker().check(network, input: input)
    let y = network.forward(input).toArray()
    let x = input.toArray()
    let zeros = y.filter { $0 == 0 }.count
    XCTAssertEqual(Double(zeros) / Double(y.count), 0.25, accuracy: 0.06)
    for (a, b) in zip(x, y) where b != 0 { XCTAssertEqual(b, a / 0.75, accuracy: 1e-5) }
    // Same (seed, step, rank), same mask; another step, another mask.
    XCTAssertEqual(network.forward(input).toArray(), y)
    network.seedStochasticLayers(seed: 3, step: 8, rank: 0)
    XCTAssertNotEqual(network.forward(input).toArray(), y)
    network.setTraining(false)
    XCTAssertEqual(network.forward(input).toArray(), x)
  }

  func testOptionAShortcut() {
    let network = Network(
      layers: [IdentityShortcut(name: "s", outputChannels: 4, stride: 2)], channels: 2, height: 5, width: 4)
    let input = randomTensor(Shape(batch: 2, channels: 2, height: 5, width: 4), seed: 18)
    GradientChecker().check(network, input: input)
    let y = network.forward(input)
    XCTAssertEqual(y.shape, Shape(batch: 2, channels: 4, height: 3, width: 2))
    XCTAssertEqual(y.image(1)[1 * 6 + 2 * 2 + 1], input.image(1)[1 * 20 + 4 * 4 + 2])
    XCTAssertEqual(y.image(1)[3 * 6 + 5], 0)
  }

  /// A graph with a residual sum, a channel concatenation and a tensor read by three nodes:
  /// the fan-out gradients must add up.
  func testResidualAddAndConcatenation() {
    let builder = NetworkBuilder(channels: 2, height: 4, width: 4)
    let a = builder.add(Conv2D(name: "a", inputChannels: 2, outputChannels: 2))
    let b = builder.add(Conv2D(name: "b", inputChannels: 2, outputChannels: 2), after: a)
    let sum = builder.merge(Add(name: "add"), [b, a])
    let joined = builder.merge(Concat(name: "cat"), [sum, a, NetworkBuilder.input])
    builder.add(Conv2D(name: "c", inputChannels: 6, outputChannels: 3, kernelSize: 1), after: joined)
    builder.output(.logits, builder.last)
    let network = builder.build()
    randomize(network, seed: 19)
    XCTAssertEqual(network.nodes[joined].shape, Shape(batch: 1, channels: 6, height: 4, width: 4))
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 2, height: 4, width: 4), seed: 20))
  }

  /// A residual sum with its ReLU fused (ResNet's `Add+ReLU`) against finite differences: the
  /// input (at least 0.2 from the kink) plus a 1×1 convolution of it small enough (weights
  /// scaled to 5 %) that no sum crosses the kink under ±ε.
  func testAddWithFusedReLU() {
    let builder = NetworkBuilder(channels: 2, height: 4, width: 3)
    let a = builder.add(Conv2D(name: "a", inputChannels: 2, outputChannels: 2, kernelSize: 1))
    builder.merge(Add(name: "add", activationCap: .infinity), [a, NetworkBuilder.input])
    builder.output(.logits, builder.last)
    let network = builder.build()
    randomize(network, seed: 25)
    for i in 0..<network.parameters.count { network.parameters.base[i] *= 0.05 }
    let input = randomTensor(Shape(batch: 2, channels: 2, height: 4, width: 3), seed: 26, margin: 0.2)
    GradientChecker().check(network, input: input)
    XCTAssertTrue(network.forward(input).toArray().contains(0), "some sums are clamped")
  }

  /// The fused sum gives bit for bit what the sum then a `ReLU` layer give (output, parameter
  /// and input gradients), for ReLU and a ReLU6-like cap.
  func testAddWithFusedActivationEqualsAddThenReLU() {
    for cap in [Float.infinity, 0.8] {
      func network(fused: Bool) -> Network {
        let builder = NetworkBuilder(channels: 2, height: 4, width: 3)
        let a = builder.add(Conv2D(name: "a", inputChannels: 2, outputChannels: 3))
        let b = builder.add(Conv2D(name: "b", inputChannels: 3, outputChannels: 3), after: a)
        builder.merge(Add(name: "add", activationCap: fused ? cap : nil), [b, a])
        if !fused { builder.add(ReLU(name: "relu", cap: cap)) }
        builder.output(.logits, builder.last)
        return builder.build()
      }
      let (fused, separate) = (network(fused: true), network(fused: false))
      randomize(fused, seed: 27)
      separate.parameters.base.update(from: fused.parameters.base, count: fused.parameters.count)
      let input = randomTensor(Shape(batch: 2, channels: 2, height: 4, width: 3), seed: 28)
      let gradient = randomTensor(Shape(batch: 2, channels: 3, height: 4, width: 3), seed: 29)
      let results = [fused, separate].map { stepResults($0, input: input, outputGradient: gradient) }
      XCTAssertEqual(results[0], results[1], "cap \(cap)")
      let sums = results[0].prefix(gradient.shape.count)
      XCTAssertTrue(sums.contains(0) && sums.contains { $0 > 0 }, "some sums are clamped at 0, some pass")
      if cap < .infinity { XCTAssertTrue(sums.contains(cap), "some sums are clamped at the cap") }
    }
  }

  /// A sum of three tensors: the third is added after the first two, and backward hands `dy` to
  /// an odd number of inputs.
  func testThreeWaySum() {
    let builder = NetworkBuilder(channels: 2, height: 3, width: 3)
    let a = builder.add(Conv2D(name: "a", inputChannels: 2, outputChannels: 2))
    let b = builder.add(Conv2D(name: "b", inputChannels: 2, outputChannels: 2), after: a)
    let c = builder.add(Conv2D(name: "c", inputChannels: 2, outputChannels: 2, kernelSize: 1), after: a)
    builder.merge(Add(name: "add"), [a, b, c])
    builder.add(Conv2D(name: "d", inputChannels: 2, outputChannels: 3, kernelSize: 1))
    builder.output(.logits, builder.last)
    let network = builder.build()
    randomize(network, seed: 23)
    GradientChecker().check(
      network, input: randomTensor(Shape(batch: 2, channels: 2, height: 3, width: 3), seed: 24))
  }
}
