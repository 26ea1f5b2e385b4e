import Model
import XCTest

final class NetworkTests: XCTestCase {
  /// Hand count for the small CNN without batch norm on 1×28×28, 10 classes:
  /// conv1 32·1·9+32 = 320, conv2 32·32·9+32 = 9,248, conv3 64·32·9+64 = 18,496,
  /// conv4 64·64·9+64 = 36,928, fc 64·10+10 = 650; total 65,642.
  /// Multiply–adds: 28²·32·9 + 28²·32·288 + 14²·64·288 + 14²·64·576 + 64·10
  ///   = 225,792 + 7,225,344 + 3,612,672 + 7,225,344 + 640 = 18,289,792 (36.6 MFLOP).
  func testSmallCNNWithoutBatchNormParameterCountAndCost() throws {
    let network = try Architecture.smallCNNNoBN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    XCTAssertEqual(network.layout.count, 65_642)
    XCTAssertEqual(network.forwardFLOPsPerImage(), 18_289_792)
    XCTAssertEqual(
      network.layout.entries.map(\.name),
      [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias",
        "conv4.weight", "conv4.bias", "fc.weight", "fc.bias",
      ])
    XCTAssertEqual(network.bufferLayout.count, 0)
    XCTAssertEqual(network.shapes(batch: 5).last, Shape(batch: 5, channels: 10))
  }

  /// With batch norm the convolutions lose their bias (β replaces it): weights 288 + 9,216 +
  /// 18,432 + 36,864 = 64,800, γ and β 2·(32 + 32 + 64 + 64) = 384, fc 650; total 65,834, and
  /// 384 running statistics. Multiply–adds: 18,289,792 − 640 + 640 (fc) plus one per
  /// normalised element, 2·32·784 + 2·64·196 = 75,264: 18,365,056.
  func testSmallCNNParameterCountAndCost() throws {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    XCTAssertEqual(network.layout.count, 65_834)
    XCTAssertEqual(network.bufferLayout.count, 384)
    XCTAssertEqual(network.forwardFLOPsPerImage(), 18_365_056)
    XCTAssertEqual(
      Array(network.layout.entries.map(\.name).prefix(4)),
      ["conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight"])
    XCTAssertEqual(
      Array(network.bufferLayout.entries.map(\.name).prefix(2)), ["bn1.running_mean", "bn1.running_var"])
  }

  /// He et al. 2016 (§4.2) give 0.27 M parameters for ResNet-20 and 0.46 M for ResNet-32 with
  /// option-A shortcuts. Hand count, 3×32×32 input, 10 classes: conv1 3·16·9 = 432; stage 1,
  /// 6 convs of 16·16·9 = 13,824; stage 2, 16·32·9 + 5·32·32·9 = 50,688; stage 3, 32·64·9 +
  /// 5·64·64·9 = 202,752; γ, β of 19 BNs 2·(16·7 + 32·6 + 64·6) = 1,376; fc 650: 269,722.
  /// ResNet-32 has two more blocks (four convs) per stage: 4·(2,304 + 9,216 + 36,864) = 193,536
  /// weights and 4·2·(16 + 32 + 64) = 896 γ, β more: 464,154.
  func testResNetParameterCountsMatchTheHandCount() throws {
    let resnet20 = try Architecture.resnet20.makeNetwork(channels: 3, height: 32, width: 32, classes: 10)
    XCTAssertEqual(resnet20.layout.count, 269_722)
    XCTAssertEqual(resnet20.bufferLayout.count, 1_376)
    // One input channel: conv1 has 1·16·9 = 144 weights instead of 432.
    XCTAssertEqual(
      try Architecture.resnet20.makeNetwork(channels: 1, height: 28, width: 28, classes: 10).layout.count,
      269_434
    )
    XCTAssertEqual(
      try Architecture.resnet32.makeNetwork(channels: 3, height: 32, width: 32, classes: 10).layout.count,
      464_154
    )
  }

  /// Parameters live in one arena: the tensors are contiguous and cover it exactly, and each
  /// part is one range, encoder before decoder before classifier.
  func testLayoutTilesTheArenaByPart() throws {
    for architecture in Architecture.allCases {
      let network = try architecture.makeNetwork(
        channels: 3, height: 32, width: 32, classes: 7, decoder: architecture.hasDecoder)
      var expectedOffset = 0
      for entry in network.layout.entries {
        XCTAssertEqual(entry.offset, expectedOffset, entry.name)
        expectedOffset += entry.count
      }
      XCTAssertEqual(expectedOffset, network.parameters.count)
      XCTAssertEqual(network.gradients.count, network.parameters.count)
      let ranges = ModelPart.allCases.compactMap { network.partRanges[$0] }
      XCTAssertEqual(ranges.first?.lowerBound, 0)
      XCTAssertEqual(ranges.last?.upperBound, network.parameters.count)
      for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
    }
  }

  /// A smaller batch after a larger one reuses the planned buffers and gives the same logits
  /// for the same images, up to rounding: OpenBLAS picks its sgemm kernel by matrix shape, so
  /// the dense layer's sums for a batch of 1 and of 4 may differ in the last bit.
  func testForwardIsIndependentOfBatchPlanning() throws {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 12, width: 12, classes: 3)
    network.initializeParameters(seed: 4)
    let large = randomTensor(Shape(batch: 4, channels: 1, height: 12, width: 12), seed: 5)
    let logitsLarge = network.forward(large).toArray()
    let small = Tensor(
      shape: Shape(batch: 1, channels: 1, height: 12, width: 12), values: Array(large.toArray()[0..<144]))
    let logitsSmall = network.forward(small).toArray()
    for (small, large) in zip(logitsSmall, logitsLarge[0..<3]) {
      XCTAssertEqual(small, large, accuracy: 1e-6 * max(1, abs(large)))
    }
  }

  func testSameSeedSameParametersDifferentSeedDifferent() throws {
    let a = try Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    let b = try Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    let c = try Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    a.initializeParameters(seed: 1)
    b.initializeParameters(seed: 1)
    c.initializeParameters(seed: 2)
    XCTAssertEqual(a.parameters.bitHash(), b.parameters.bitHash())
    XCTAssertNotEqual(a.parameters.bitHash(), c.parameters.bitHash())
  }

  /// The classifier's row norms and MaxNorm's projection, by hand: rows [3, 4, 0…] (norm 5) and
  /// [0.6, 0.8, 0…] (norm 1) capped at radius 2 become [1.2, 1.6, 0…] (norm 2) and stay as they
  /// are; the bias and every other parameter are untouched.
  func testMaxNormScalesOnlyTheClassifierRowsAboveTheRadius() throws {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 2)
    network.initializeParameters(seed: 1)
    let weights = try XCTUnwrap(network.classifierWeight)
    let features = weights.count / 2
    weights.update(repeating: 0)
    (weights[0], weights[1], weights[features], weights[features + 1]) = (3, 4, 0.6, 0.8)
    let before = network.parameters.bitHash()
    let bias = Array(try XCTUnwrap(network.classifierBias))
    XCTAssertEqual(network.classifierRowNorms[0], 5, accuracy: 1e-6)
    XCTAssertEqual(network.classifierRowNorms[1], 1, accuracy: 1e-6)
    network.capClassifierRows(radius: 2)
    XCTAssertEqual(weights[0], 1.2, accuracy: 1e-6)
    XCTAssertEqual(weights[1], 1.6, accuracy: 1e-6)
    XCTAssertEqual(weights[features], 0.6)
    XCTAssertEqual(weights[features + 1], 0.8)
    XCTAssertEqual(Array(try XCTUnwrap(network.classifierBias)), bias)
    network.capClassifierRows(radius: 5)
    XCTAssertNotEqual(network.parameters.bitHash(), before)
    (weights[0], weights[1]) = (3, 4)
    XCTAssertEqual(network.parameters.bitHash(), before, "only the capped row changed")
  }
}
