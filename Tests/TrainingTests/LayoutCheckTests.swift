import Dispatch
import Distributed
import Foundation
import Model
import Training
import XCTest

/// The start-up contract compares every rank's tensor names and shapes with rank 0's, not only
/// their count: two models of the same size that differ in a shape or a name are refused with
/// the rank and the first differing tensor (it used to say "58 parameters vs 58").
final class LayoutCheckTests: XCTestCase {
  /// Each rank of an in-process group checks the network `build` makes for it; rank 0's error.
  private func check(_ build: @escaping @Sendable (Int) -> Network) -> String {
    let group = InProcessGroup(size: 2)
    let communicators = group.communicators()
    nonisolated(unsafe) var messages = ["", ""]
    let lock = NSLock()
    let done = DispatchGroup()
    for rank in 0..<2 {
      nonisolated(unsafe) let communicator = communicators[rank]
      done.enter()
      Thread {
        var message = "same"
        do {
          try DataParallel(communicator: communicator).checkLayout(of: build(rank))
        } catch { message = "\(error)" }
        // The two threads write one array: without the lock, one write could be lost.
        lock.withLock { messages[rank] = message }
        done.leave()
      }.start()
    }
    done.wait()
    XCTAssertEqual(messages[1], "same", "only rank 0 compares")
    return messages[0]
  }

  /// Two dense layers 4 → 6 → 4 on rank 0, 6 → 4 → 6 on rank 1: 58 parameters each.
  func testASameSizedModelWithOtherShapesIsRefused() {
    let message = check { rank in
      let sizes = rank == 0 ? (4, 6) : (6, 4)
      return Network(
        layers: [
          Dense(name: "fc1", inputFeatures: sizes.0, outputFeatures: sizes.1),
          Dense(name: "fc2", inputFeatures: sizes.1, outputFeatures: sizes.0),
        ], channels: sizes.0, height: 1, width: 1)
    }
    XCTAssertEqual(
      message,
      "rank 1 built a different model than rank 0 (its tensor 1 is parameter fc1.weight [4, 6], rank 0's is parameter fc1.weight [6, 4]); every rank must run the same build and options"
    )
  }

  func testOtherNamesAndOtherCountsAreRefusedAndTheSameModelPasses() {
    let renamed = check { rank in
      Network(
        layers: [Dense(name: rank == 0 ? "fc" : "head", inputFeatures: 3, outputFeatures: 2)], channels: 3,
        height: 1, width: 1)
    }
    XCTAssertTrue(
      renamed.contains("its tensor 1 is parameter head.weight [2, 3], rank 0's is parameter fc.weight"))
    let longer = check { rank in
      Network(
        layers: [Dense(name: "fc", inputFeatures: 3, outputFeatures: 2)]
          + (rank == 1 ? [Dense(name: "extra", inputFeatures: 2, outputFeatures: 2)] : []), channels: 3,
        height: 1, width: 1)
    }
    XCTAssertTrue(longer.contains("it has 4 tensors, rank 0 has 2"), longer)
    let same = check { _ in
      try! Architecture.smallCNN.makeNetwork(channels: 1, height: 8, width: 8, classes: 3)
    }
    XCTAssertEqual(same, "same")
  }
}
