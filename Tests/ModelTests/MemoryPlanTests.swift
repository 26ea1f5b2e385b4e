import Model
import XCTest

/// Activations and gradients that are never alive at once share memory (`Network.plan`); a
/// layer that reads a tensor its `backwardReads` leaves out would read another tensor's values.
final class MemoryPlanTests: XCTestCase {
  /// Every architecture in every shape of `--mode` and `--task`, with and without shared memory:
  /// two training steps (batch 4, then 3, so the second runs over the first's leftovers)
  /// give bit-identical outputs, parameter gradients and input gradients.
  func testSharingMemoryChangesNoBit() throws {
    var shapes: [(Architecture, decoder: Bool, task: TaskKind, cosine: Bool)] = []
    for architecture in Architecture.allCases {
      shapes.append((architecture, false, .classification, false))
      shapes.append((architecture, false, .classification, true))
      if architecture.hasDecoder {
        shapes.append((architecture, true, .classification, false))
        shapes.append((architecture, false, .segmentation, false))
      }
    }
    for (architecture, decoder, task, cosine) in shapes {
      let what = "\(architecture.rawValue) decoder \(decoder) \(task) cosine \(cosine)"
      let networks = try (0..<2).map { _ in
        try architecture.makeNetwork(
          channels: 3, height: 16, width: 16, classes: 5, cosineClassifier: cosine, decoder: decoder,
          task: task)
      }
      networks[1].reusesMemory = false
      for (step, batch) in [4, 3].enumerated() {
        let results = networks.map { network in
          trainingStep(network, batch: batch, seed: UInt64(10 * step), decoder: decoder)
        }
        for (name, shared, separate) in [
          ("outputs", results[0].outputs, results[1].outputs),
          ("parameter gradients", results[0].gradients, results[1].gradients),
          ("input gradient", results[0].input, results[1].input),
        ] {
          let differing = zip(shared, separate).filter { $0 != $1 }.count
          XCTAssertEqual(
            differing, 0, "\(what), step \(step): \(name) differ in \(differing) of \(shared.count)")
        }
        XCTAssertTrue(results[0].gradients.contains { $0 != 0 }, what)
      }
      XCTAssertLessThan(networks[0].plannedBytes, networks[1].plannedBytes, what)
    }
  }

  private func trainingStep(
    _ network: Network, batch: Int, seed: UInt64, decoder: Bool
  ) -> (outputs: [Float], gradients: [Float], input: [Float]) {
    network.initializeParameters(seed: 1)
    network.setTraining(true)
    let x = randomTensor(Shape(batch: batch, channels: 3, height: 16, width: 16), seed: seed)
    let outputs = [network.prediction] + (decoder ? [.reconstruction] : [])
    network.forward(x, outputs: outputs)
    let values = outputs.flatMap { network.output($0).toArray() }
    let gradients = outputs.enumerated().map { k, output in
      (output, randomTensor(network.output(output).shape, seed: seed + 1 + UInt64(k)))
    }
    let inputGradient = Tensor(shape: x.shape)
    network.zeroGradients()
    network.backward(input: x, outputGradients: gradients, inputGradient: inputGradient)
    return (values, Array(network.gradients.buffer), inputGradient.toArray())
  }

  /// A three-node chain, Dense(4→8), ReLU, Dense(8→3), at batch 2 (N = 3 nodes, so node i's
  /// forward is step i, the losses step 3, its backward step 6 − i). Lifetimes, in floats:
  /// activation 0 (16) steps 0–1 (neither Dense's backward nor the ReLU's reads it); the
  /// features (16) and logits (6) are outputs, 1–6 and 2–6; gradients: logits (6) 3–4,
  /// features (16) 3–5 (written by the loss and the second Dense), node 0's (16) 5–6; the
  /// features' fan-out scratch (16) 3–4. Greedy by size, 64-byte aligned: activation 0 at 0,
  /// features at 16, node 0's gradient at 0, the features' gradient at 32, the scratch at 0,
  /// the logits at 48, their gradient at 64: 70 floats. Without sharing: 102.
  func testPlanOfAChainCountedByHand() {
    let layers: [Layer] = [
      Dense(name: "fc1", inputFeatures: 4, outputFeatures: 8), ReLU(name: "relu"),
      Dense(name: "fc2", inputFeatures: 8, outputFeatures: 3),
    ]
    let network = Network(layers: layers, channels: 4, height: 1, width: 1)
    network.forward(Tensor(shape: Shape(batch: 2, channels: 4, height: 1, width: 1)))
    XCTAssertEqual(network.plannedBytes, 70 * 4)
    network.reusesMemory = false
    network.forward(Tensor(shape: Shape(batch: 2, channels: 4, height: 1, width: 1)))
    XCTAssertEqual(network.plannedBytes, 102 * 4)
  }

  /// ResNet-20 at batch 128 on 3×32×32, the size issue 19 measures memory at: sharing keeps
  /// the activations backward reads (4 of every block's 6) and a few gradients at a time.
  func testResNet20KeepsUnderHalfTheMemory() throws {
    let network = try Architecture.resnet20.makeNetwork(channels: 3, height: 32, width: 32, classes: 10)
    network.forward(Tensor(shape: Shape(batch: 128, channels: 3, height: 32, width: 32)))
    let shared = network.plannedBytes
    network.reusesMemory = false
    network.forward(Tensor(shape: Shape(batch: 128, channels: 3, height: 32, width: 32)))
    let separate = network.plannedBytes
    XCTAssertLessThan(Double(shared), 0.5 * Double(separate), "\(shared) of \(separate) bytes")
  }
}
