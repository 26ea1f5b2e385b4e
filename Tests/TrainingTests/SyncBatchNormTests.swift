import Dispatch
import Distributed
import Foundation
import Model
import PRNG
import XCTest

/// SyncBatchNorm's gradient check. Batch norm on one process passes central differences
/// (LayerGradientTests); over two in-process ranks holding half a batch each, with its sums
/// taken by the group, it must compute exactly what one batch norm computes on the whole batch:
/// each rank's rows of the output and of the input gradient, and γ, β gradients that sum to the
/// whole batch's. Without the reducer (the negative control) the outputs differ.
final class SyncBatchNormTests: XCTestCase {
  /// Sums over an in-process group, as the trainer's reducer sums over MPI.
  private final class GroupReducer: BatchStatisticsReducer {
    let communicator: Communicator
    var failed = false
    init(_ communicator: Communicator) { self.communicator = communicator }
    func sumOverReplicas(_ values: UnsafeMutableBufferPointer<Double>) {
      do { try communicator.allreduceSum(values) } catch { failed = true }
    }
  }

  private struct Result {
    var output: [Float] = []
    var inputGradient: [Float] = []
    var parameterGradient: [Float] = []
  }

  private static let shape = Shape(batch: 4, channels: 3, height: 3, width: 2)

  private static func gaussian(_ count: Int, seed: UInt64) -> [Float] {
    var rng = Xoshiro256(seed: seed)
    return (0..<count).map { _ in Float(rng.nextGaussian()) }
  }

  /// Batch norm (+ fused ReLU) on `images` of the batch, with the loss `Σ r·y` over them.
  private static func run(images: Range<Int>, reducer: BatchStatisticsReducer?) -> Result {
    let perImage = shape.perImage
    let network = Network(
      layers: [BatchNorm2D(name: "bn", channels: shape.channels, activationCap: .infinity)],
      channels: shape.channels, height: shape.height, width: shape.width)
    let parameters = gaussian(network.layout.count, seed: 3)
    network.parameters.buffer.update(fromContentsOf: parameters.map { 1 + 0.3 * $0 })
    network.synchronizeBatchStatistics(with: reducer)
    network.setTraining(true)
    let slice = shape.with(batch: images.count)
    let input = Tensor(
      shape: slice,
      values: Array(
        gaussian(shape.count, seed: 1)[(images.lowerBound * perImage)..<(images.upperBound * perImage)]))
    let output = network.forward(input)
    let weights = Array(
      gaussian(shape.count, seed: 2)[(images.lowerBound * perImage)..<(images.upperBound * perImage)])
    let inputGradient = Tensor(shape: slice)
    network.zeroGradients()
    network.backward(
      input: input, logitsGradient: Tensor(shape: slice, values: weights), inputGradient: inputGradient)
    return Result(
      output: output.toArray(), inputGradient: inputGradient.toArray(),
      parameterGradient: Array(network.gradients.buffer))
  }

  private func ranks(synchronized: Bool) throws -> [Result] {
    let group = InProcessGroup(size: 2)
    let communicators = group.communicators()
    nonisolated(unsafe) var results = [Result](repeating: Result(), count: 2)
    nonisolated(unsafe) var failures = [false, false]
    let done = DispatchGroup()
    for rank in 0..<2 {
      nonisolated(unsafe) let communicator = communicators[rank]
      done.enter()
      Thread {
        let reducer = GroupReducer(communicator)
        results[rank] = Self.run(images: (2 * rank)..<(2 * rank + 2), reducer: synchronized ? reducer : nil)
        failures[rank] = reducer.failed
        done.leave()
      }.start()
    }
    done.wait()
    XCTAssertEqual(failures, [false, false])
    return results
  }

  private func assertClose(
    _ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let scale = b.map { abs($0) }.max() ?? 1
    let error = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThan(error, 1e-5 * scale, "\(what): largest difference \(error)", file: file, line: line)
  }

  func testTwoRanksWithHalfABatchEachEqualOneRankWithTheWholeBatch() throws {
    let whole = Self.run(images: 0..<4, reducer: nil)
    let parts = try ranks(synchronized: true)
    assertClose(parts[0].output + parts[1].output, whole.output, "output")
    assertClose(parts[0].inputGradient + parts[1].inputGradient, whole.inputGradient, "input gradient")
    assertClose(
      zip(parts[0].parameterGradient, parts[1].parameterGradient).map { $0 + $1 }, whole.parameterGradient,
      "γ and β gradients summed over the ranks")
    let unsynchronized = try ranks(synchronized: false)
    let difference = zip(unsynchronized[0].output + unsynchronized[1].output, whole.output).map {
      abs($0 - $1)
    }
    XCTAssertGreaterThan(difference.max() ?? 0, 1e-2, "per-rank statistics must differ from the batch's")
  }
}
