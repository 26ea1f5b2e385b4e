import Distributed
import Model
import Training
import XCTest

/// The gradient buckets keep PyTorch DDP's checks: a step whose backward reports a node twice,
/// reports a node it was not expected to reach, or never reports an expected node fails with
/// the names of the node's tensors, instead of reducing a bucket before (or without) its
/// final gradients.
final class GradientBucketsTests: XCTestCase {
  private func buckets() throws -> (Network, GradientBuckets) {
    let network = try Architecture.smallCNNNoBN.makeNetwork(channels: 1, height: 8, width: 8, classes: 3)
    let buckets = GradientBuckets(
      network: network, trainable: network.trainableRange, communicator: SingleProcessCommunicator(),
      bucketFloats: 4096)
    return (network, buckets)
  }

  private func failure(_ body: () throws -> Void) -> String {
    do {
      try body()
      return "no error"
    } catch { return "\(error)" }
  }

  func testAWholeBackwardCompletesEveryBucket() throws {
    let (network, buckets) = try buckets()
    XCTAssertGreaterThan(buckets.bucketCount, 1)
    network.initializeParameters(seed: 1)
    network.setTraining(true)
    let input = Tensor(shape: network.inputShape.with(batch: 2))
    for step in 0..<2 {
      buckets.expect(Set(network.trainableNodesReached(from: [.logits])))
      let logits = network.forward(input)
      network.backward(
        input: input, outputGradients: [(.logits, Tensor(shape: logits.shape, values: [1, 0, -1, 0, 1, 0]))],
        gradientsReady: buckets.nodeReady)
      XCTAssertEqual(failure { try buckets.finish() }, "no error", "step \(step)")
    }
  }

  func testANodeReportedTwiceIsAnError() throws {
    let (network, buckets) = try buckets()
    let conv2 = try XCTUnwrap(network.nodes.firstIndex { $0.operation.name == "conv2" })
    buckets.expect(Set(network.trainableNodesReached(from: [.logits])))
    buckets.nodeReady(conv2)
    buckets.nodeReady(conv2)
    XCTAssertEqual(
      failure { try buckets.finish() },
      "the gradient of conv2.weight, conv2.bias was reported twice in one backward pass; its bucket would be reduced before it is final"
    )
  }

  func testAnExpectedNodeNeverReportedIsAnError() throws {
    let (network, buckets) = try buckets()
    let reached = network.trainableNodesReached(from: [.logits])
    buckets.expect(Set(reached))
    for node in reached where network.nodes[node].operation.name != "conv3" { buckets.nodeReady(node) }
    XCTAssertEqual(
      failure { try buckets.finish() },
      "backward never produced the gradient of conv3.weight, conv3.bias; its bucket was never reduced")
  }

  func testANodeOutsideTheExpectedSetIsAnError() throws {
    let (network, buckets) = try buckets()
    let fc = try XCTUnwrap(network.nodes.firstIndex { $0.operation.name == "fc" })
    buckets.expect(Set(network.trainableNodesReached(from: [.logits])).subtracting([fc]))
    buckets.nodeReady(fc)
    XCTAssertTrue(
      failure { try buckets.finish() }.hasPrefix("backward produced the gradient of fc.weight, fc.bias,"))
  }
}
