import Model
import XCTest

final class NetworkTests: XCTestCase {
  /// Hand count for the small CNN on 1×28×28, 10 classes:
  /// conv1 32·1·9+32 = 320, conv2 32·32·9+32 = 9,248, conv3 64·32·9+64 = 18,496,
  /// conv4 64·64·9+64 = 36,928, fc 64·10+10 = 650; total 65,642.
  /// Multiply–adds: 28²·32·9 + 28²·32·288 + 14²·64·288 + 14²·64·576 + 64·10
  ///   = 225,792 + 7,225,344 + 3,612,672 + 7,225,344 + 640 = 18,289,792 (36.6 MFLOP).
  func testSmallCNNParameterCountAndCost() {
    let network = Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    XCTAssertEqual(network.layout.count, 65_642)
    XCTAssertEqual(network.forwardFLOPsPerImage, 18_289_792)
    XCTAssertEqual(
      network.layout.entries.map(\.name),
      [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias",
        "conv4.weight", "conv4.bias", "fc.weight", "fc.bias",
      ])
    XCTAssertEqual(network.shapes(batch: 5).last, Shape(batch: 5, channels: 10))
  }

  /// Parameters live in one arena: the layers' views are contiguous and cover it exactly.
  func testLayoutTilesTheArena() {
    let network = Architecture.smallCNN.makeNetwork(channels: 3, height: 32, width: 32, classes: 7)
    var expectedOffset = 0
    for entry in network.layout.entries {
      XCTAssertEqual(entry.offset, expectedOffset, entry.name)
      expectedOffset += entry.count
    }
    XCTAssertEqual(expectedOffset, network.parameters.count)
    XCTAssertEqual(network.gradients.count, network.parameters.count)
  }

  /// A smaller batch after a larger one reuses the planned buffers and gives the same logits
  /// for the same images, up to rounding: OpenBLAS picks its sgemm kernel by matrix shape, so
  /// the dense layer's sums for a batch of 1 and of 4 may differ in the last bit.
  func testForwardIsIndependentOfBatchPlanning() {
    let network = Architecture.smallCNN.makeNetwork(channels: 1, height: 12, width: 12, classes: 3)
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

  func testSameSeedSameParametersDifferentSeedDifferent() {
    let a = Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    let b = Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    let c = Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    a.initializeParameters(seed: 1)
    b.initializeParameters(seed: 1)
    c.initializeParameters(seed: 2)
    XCTAssertEqual(a.parameters.bitHash(), b.parameters.bitHash())
    XCTAssertNotEqual(a.parameters.bitHash(), c.parameters.bitHash())
  }
}
