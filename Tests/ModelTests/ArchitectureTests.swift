import Model
import PRNG
import XCTest

/// Every architecture of `--model`, on both input kinds, in every shape of `--mode`.
final class ArchitectureTests: XCTestCase {
  private let inputs = [(channels: 1, size: 28), (channels: 3, size: 32)]

  /// Forward and backward in training mode on a batch of each input kind: logits of
  /// `(batch, classes)`, a reconstruction of the input's shape in [0, 1], a finite, nonzero
  /// gradient for every parameter tensor, and a parameter count equal to `--describe`'s.
  func testEveryArchitectureTrainsOnBothInputKinds() throws {
    for architecture in Architecture.allCases {
      for input in inputs {
        let network = try architecture.makeNetwork(
          channels: input.channels, height: input.size, width: input.size, classes: 10,
          decoder: architecture.hasDecoder)
        network.initializeParameters(seed: 1)
        network.setTraining(true)
        let x = randomTensor(
          Shape(batch: 3, channels: input.channels, height: input.size, width: input.size), seed: 2)
        let outputs: [NetworkOutput] = architecture.hasDecoder ? [.logits, .reconstruction] : [.logits]
        let logits = network.forward(x, outputs: outputs)
        let what = "\(architecture.rawValue) on \(input.channels)×\(input.size)²"
        XCTAssertEqual(logits.shape, Shape(batch: 3, channels: 10), what)
        var gradients = [(NetworkOutput.logits, randomTensor(logits.shape, seed: 3))]
        if architecture.hasDecoder {
          let reconstruction = network.output(.reconstruction)
          XCTAssertEqual(reconstruction.shape, x.shape, what)
          XCTAssertTrue(reconstruction.toArray().allSatisfy { $0 >= 0 && $0 <= 1 }, what)
          gradients.append((.reconstruction, randomTensor(x.shape, seed: 4)))
        }
        network.zeroGradients()
        network.backward(input: x, outputGradients: gradients)
        for entry in network.layout.entries {
          let g = UnsafeBufferPointer(start: network.gradients.base + entry.offset, count: entry.count)
          XCTAssertTrue(g.allSatisfy(\.isFinite), "\(what): \(entry.name)")
          XCTAssertTrue(g.contains { $0 != 0 }, "\(what): \(entry.name) has no gradient")
        }
        let table = network.layerTable()
        XCTAssertTrue(table.contains("parameters: \(network.layout.count) ("), what)
        let nodeSum = network.nodes.indices.reduce(0) { $0 + network.parameterCount(ofNode: $1) }
        XCTAssertEqual(nodeSum, network.layout.count, what)
      }
    }
  }

  /// The layer list `export` writes names every tensor the logits need exactly once, with
  /// the checkpoint's shapes, and wires the graph by name: ResNet-20's first convolution reads
  /// the image, its joins are `Add`s of two nodes, its stride-2 shortcuts are option A, and the
  /// decoder of an end-to-end UNet is left out.
  func testTheLayerListNamesEveryTensorAndEveryInput() throws {
    for (architecture, decoder) in [(Architecture.resnet20, false), (.mobilenetv2, false), (.unet, true)] {
      let network = try architecture.makeNetwork(
        channels: 3, height: 32, width: 32, classes: 10, decoder: decoder)
      let list = network.layerList()
      let names = list.compactMap { $0["name"] as? String }
      var tensors: [String: [Int]] = [:]
      for entry in list {
        for spec in (entry["parameters"] as? [[String: Any]] ?? [])
          + (entry["buffers"] as? [[String: Any]] ?? [])
        {
          XCTAssertNil(tensors.updateValue(spec["shape"] as! [Int], forKey: spec["name"] as! String))
        }
        for input in entry["inputs"] as! [String] where input != "input" {
          XCTAssertLessThan(names.firstIndex(of: input)!, names.firstIndex(of: entry["name"] as! String)!)
        }
      }
      var expected: [String: [Int]] = [:]
      for node in network.nodes where node.part != .decoder {
        guard case .layer(let layer) = node.operation else { continue }
        for spec in layer.parameterSpecs + layer.bufferSpecs {
          expected["\(layer.name).\(spec.name)"] = spec.shape
        }
      }
      XCTAssertFalse(expected.isEmpty)
      XCTAssertEqual(tensors, expected, "\(architecture)")
      XCTAssertEqual(list.last?["output"] as? [Int], [10, 1, 1], "the logits come last")
      if architecture == .resnet20 {
        XCTAssertEqual(list.first?["inputs"] as? [String], ["input"])
        let joins = list.filter { $0["type"] as? String == "Add" }
        XCTAssertEqual(joins.count, 9)
        XCTAssertTrue(joins.allSatisfy { ($0["inputs"] as? [String])?.count == 2 })
        let shortcuts = list.filter { $0["type"] as? String == "IdentityShortcut" }
        XCTAssertEqual(
          shortcuts.compactMap { ($0["settings"] as? [String: Any])?["stride"] as? Int }.sorted().last, 2)
      }
    }
  }

  /// Invariant 5 for whole graphs (residual joins, skip connections, depthwise and transposed
  /// convolutions, batch norm in training mode, dropout), through logits and reconstruction,
  /// on 12×12 inputs, along each tensor's gradient. Every layer is checked tightly on its own
  /// above; here the curvature of a dozen batch norms in Float allows 4% at ε = 5·10⁻⁴ (up to
  /// 3.2% measured, on batch-norm scales of ResNet-20 and MobileNetV2), far below what a
  /// wiring error (a wrong buffer, a lost fan-out gradient) gives.
  func testWholeArchitecturesMatchFiniteDifferences() throws {
    for architecture in [Architecture.smallCNN, .resnet20, .mobilenetv2, .unet] {
      let network = try architecture.makeNetwork(
        channels: 2, height: 12, width: 12, classes: 3, decoder: architecture.hasDecoder)
      network.initializeParameters(seed: 5)
      network.scaleConvolutionsToHe()
      network.setTraining(true)
      GradientChecker(epsilon: 5e-4, tolerance: 4e-2).checkAlongGradient(
        network, input: randomTensor(Shape(batch: 3, channels: 2, height: 12, width: 12), seed: 6),
        outputs: architecture.hasDecoder ? [.logits, .reconstruction] : [.logits], floor: 1e-2)
    }
  }

  /// Segmentation networks: K class maps at input resolution from the decoder, no image
  /// classifier, the last layer a 1×1 convolution in the classifier part, and a gradient for
  /// every parameter; odd and even sizes alike.
  func testSegmentationNetworksEndInClassMapsAtInputResolution() throws {
    for architecture in Architecture.allCases where architecture.hasDecoder {
      for (channels, size) in [(1, 28), (3, 32), (3, 30)] {
        let network = try architecture.makeNetwork(
          channels: channels, height: size, width: size, classes: 5, task: .segmentation)
        let what = "\(architecture.rawValue) on \(channels)×\(size)²"
        XCTAssertNil(network.shape(of: .logits), what)
        XCTAssertNil(network.shape(of: .reconstruction), what)
        XCTAssertEqual(
          network.shape(of: .classMaps), Shape(batch: 1, channels: 5, height: size, width: size), what)
        // Both decoders end at 16 channels: a 16 → 5 convolution with bias.
        XCTAssertEqual(network.partRanges[.classifier]?.count, 5 * 16 + 5, what)
        network.initializeParameters(seed: 1)
        network.setTraining(true)
        let x = randomTensor(Shape(batch: 2, channels: channels, height: size, width: size), seed: 2)
        let maps = network.forward(x, outputs: [.classMaps])
        XCTAssertEqual(maps.shape, Shape(batch: 2, channels: 5, height: size, width: size), what)
        network.zeroGradients()
        network.backward(input: x, outputGradients: [(.classMaps, randomTensor(maps.shape, seed: 3))])
        for entry in network.layout.entries {
          let g = UnsafeBufferPointer(start: network.gradients.base + entry.offset, count: entry.count)
          XCTAssertTrue(g.allSatisfy(\.isFinite) && g.contains { $0 != 0 }, "\(what): \(entry.name)")
        }
      }
    }
  }

  /// The segmentation graphs against finite differences, as the classifiers above. A
  /// thousand class-map outputs through MobileNetV2's ReLU6 caps put the noise floor at 2.0–3.8%
  /// (measured at batches 2–4 on 12×12); a wrong gradient shows as an error of order one.
  func testSegmentationNetworksMatchFiniteDifferences() throws {
    for architecture in Architecture.allCases where architecture.hasDecoder {
      let network = try architecture.makeNetwork(
        channels: 2, height: 12, width: 12, classes: 3, task: .segmentation)
      network.initializeParameters(seed: 5)
      network.scaleConvolutionsToHe()
      network.setTraining(true)
      GradientChecker(epsilon: 5e-4, tolerance: 5e-2).checkAlongGradient(
        network, input: randomTensor(Shape(batch: 4, channels: 2, height: 12, width: 12), seed: 6),
        outputs: [.classMaps], floor: 1e-2)
    }
  }

  /// Without the decoder the network is the deployable classifier: the same encoder and
  /// classifier tensors, in the same order, and the same logits for the same parameters.
  func testClassifierWithoutDecoderSharesTheTensors() throws {
    for architecture in Architecture.allCases where architecture.hasDecoder {
      let full = try architecture.makeNetwork(channels: 1, height: 28, width: 28, classes: 10, decoder: true)
      let classifier = try architecture.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
      let kept = full.layout.entries.filter { !$0.name.hasPrefix("decoder") }
      XCTAssertEqual(kept.map(\.name), classifier.layout.entries.map(\.name))
      full.initializeParameters(seed: 7)
      for (entry, target) in zip(kept, classifier.layout.entries) {
        (classifier.parameters.base + target.offset).update(
          from: full.parameters.base + entry.offset, count: entry.count)
      }
      let x = randomTensor(Shape(batch: 2, channels: 1, height: 28, width: 28), seed: 8)
      XCTAssertEqual(full.forward(x).toArray(), classifier.forward(x).toArray())
    }
  }

  /// Frozen parts get no gradient, run in inference mode (their batch norm keeps its running
  /// statistics), and lie outside `trainableRange`.
  func testFrozenPartsGetNoGradientAndKeepTheirStatistics() throws {
    let network = try Architecture.unet.makeNetwork(
      channels: 1, height: 28, width: 28, classes: 10, decoder: true)
    network.initializeParameters(seed: 9)
    network.freeze([.encoder, .decoder])
    network.setTraining(true)
    let buffersBefore = Array(network.buffers.buffer)
    let x = randomTensor(Shape(batch: 2, channels: 1, height: 28, width: 28), seed: 10)
    let logits = network.forward(x)
    network.zeroGradients()
    network.backward(input: x, logitsGradient: randomTensor(logits.shape, seed: 11))
    XCTAssertEqual(Array(network.buffers.buffer), buffersBefore)
    let classifier = network.partRanges[.classifier]!
    XCTAssertEqual(network.trainableRange, classifier)
    for i in 0..<classifier.lowerBound { XCTAssertEqual(network.gradients.base[i], 0) }
    XCTAssertTrue(classifier.contains { network.gradients.base[$0] != 0 })

    // The autoencoder phase: encoder + decoder train, the classifier is frozen.
    network.freeze([.classifier])
    XCTAssertEqual(network.trainableRange, 0..<classifier.lowerBound)
  }

  /// Every architecture checks the input size before it builds anything: each size it accepts
  /// (heights and widths 1–9, with and without a decoder) builds and runs forward and backward,
  /// and the sizes that used to kill the rank with SIGILL are refused with one sentence.
  func testInputSizesAreCheckedBeforeTheNetworkIsBuilt() throws {
    for architecture in Architecture.allCases {
      for decoder in architecture.hasDecoder ? [false, true] : [false] {
        var accepted = 0
        for height in 1...9 {
          for width in 1...9 {
            guard
              let network = try? architecture.makeNetwork(
                channels: 1, height: height, width: width, classes: 3, decoder: decoder)
            else { continue }
            accepted += 1
            let outputs: [NetworkOutput] = decoder ? [.logits, .reconstruction] : [.logits]
            let x = randomTensor(Shape(batch: 2, channels: 1, height: height, width: width), seed: 1)
            network.setTraining(true)
            let logits = network.forward(x, outputs: outputs)
            XCTAssertEqual(logits.shape, Shape(batch: 2, channels: 3), "\(architecture) \(height)×\(width)")
            if decoder { XCTAssertEqual(network.output(.reconstruction).shape, x.shape) }
            network.backward(
              input: x,
              outputGradients: outputs.map { ($0, randomTensor(network.output($0).shape, seed: 2)) })
          }
        }
        XCTAssertGreaterThanOrEqual(accepted, 9, "\(architecture) (decoder \(decoder)) accepts too little")
      }
    }
    func refusal(_ architecture: Architecture, _ height: Int, _ width: Int, decoder: Bool = false) -> String {
      do {
        _ = try architecture.makeNetwork(
          channels: 1, height: height, width: width, classes: 10, decoder: decoder)
        return "built"
      } catch { return "\(error)" }
    }
    XCTAssertEqual(
      refusal(.smallCNN, 3, 3),
      "--model small-cnn cannot take 3×3 images; it accepts height and width of at least 4 (two 2×2 max pools)"
    )
    XCTAssertEqual(
      refusal(.unet, 27, 28, decoder: true),
      "--model unet cannot take 27×28 images; it accepts with the decoder, height and width of the same parity at full and 1/2 size (square images always work)"
    )
    XCTAssertTrue(
      refusal(.mobilenetv2, 27, 28, decoder: true).hasPrefix("--model mobilenetv2 cannot take 27×28"))
    XCTAssertEqual(refusal(.mobilenetv2, 27, 28), "built")
    XCTAssertEqual(refusal(.unet, 27, 28), "built")
  }

  /// The classifier layer is tagged by every architecture, so the prior bias of the sigmoid
  /// losses reaches it (MobileNetV2's is its 1×1 convolution's): with every other parameter
  /// still zero, a zero image's logits are that bias, one value per class.
  func testEveryArchitectureTagsItsClassifierBias() throws {
    for architecture in Architecture.allCases {
      let network = try architecture.makeNetwork(channels: 3, height: 32, width: 32, classes: 7)
      let bias = try XCTUnwrap(network.classifierBias, "\(architecture)")
      XCTAssertEqual(bias.count, 7, "\(architecture)")
      for (i, value) in [Float(-2), -1, 0, 1, 2, 3, 4].enumerated() { bias[i] = value }
      let logits = network.forward(Tensor(shape: network.inputShape.with(batch: 1)))
      XCTAssertEqual(logits.toArray(), [-2, -1, 0, 1, 2, 3, 4], "\(architecture)")
    }
  }
}
