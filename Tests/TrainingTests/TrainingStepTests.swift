import Foundation
import Loader
import Model
import Training
import XCTest

/// The trainer's step, rebuilt by hand from the library's pieces, must give the parameters the
/// binary gives: this pins down what one iteration does (here COT's two updates).
final class TrainingStepTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "step-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// One COT iteration = a cross-entropy SGD update, then a complement-entropy SGD update, on
  /// the same batch with the same learning rate.
  func testCOTAppliesACrossEntropyThenAComplementUpdatePerIteration() throws {
    let data = directory.appendingPathComponent("fm").path
    let pack = try CommandRunner.single(["pack", "--out", data, "--imbalance", "exp:100", "--shards", "2"])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    let prefix = directory.appendingPathComponent("cot").path
    let run = try CommandRunner.single([
      "train", "--data", data, "--loss", "cot", "--sampler", "uniform", "--batch-size", "32", "--max-steps",
      "1",
      "--warmup-epochs", "0", "--lr", "0.05", "--seed", "5", "--dump-parameters", prefix,
    ])
    XCTAssertEqual(run.status, 0, run.standardError)
    let fromBinary = try Data(contentsOf: URL(fileURLWithPath: prefix + ".rank0.f32")).withUnsafeBytes {
      Array($0.bindMemory(to: Float.self))
    }

    func byHand(_ losses: [ClassificationLoss]) throws -> [Float] {
      let dataset = try DatasetDirectory(path: data)
      let train = dataset.manifest.splits.train
      let scheme = SamplingScheme(
        options: SamplerOptions(kind: .uniform), globalCounts: train.classCounts,
        shardCounts: train.shards.map(\.classCounts))
      let plan = try EpochPlan(epochSize: train.count, globalBatch: 32, shards: 2, ranks: 1)
      let stream = TrainingStream(
        shards: try [0, 1].map { (index: $0, store: RecordStore(images: try dataset.readShard(.train, $0))) },
        scheme: scheme,
        plan: plan,
        seed: 5, normalization: dataset.manifest.normalization)
      stream.startEpoch(0)
      let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
      network.initializeParameters(seed: 5)
      network.setTraining(true)
      let input = Tensor(shape: network.inputShape.with(batch: 32))
      var labels = [Int32](repeating: 0, count: 32)
      try labels.withUnsafeMutableBufferPointer {
        try stream.batch(step: 0, pixels: input.pointer, labels: $0.baseAddress!)
      }
      let sgd = SGD(parameterCount: network.layout.count, momentum: 0.9, weightDecay: 5e-4)
      let gradient = Tensor(shape: Shape(batch: 32, channels: 10))
      for loss in losses {
        network.zeroGradients()
        let logits = network.forward(input)
        _ = labels.withUnsafeBufferPointer {
          loss.lossAndGradient(logits: logits, labels: $0, scale: 1 / 32, gradient: gradient)
        }
        network.backward(input: input, logitsGradient: gradient)
        sgd.step(parameters: network.parameters, gradients: network.gradients, learningRate: 0.05)
      }
      return Array(network.parameters.buffer)
    }

    func relative(_ a: [Float], _ b: [Float]) -> Double {
      let scale = a.map { abs(Double($0)) }.max()!
      return zip(a, b).map { abs(Double($0) - Double($1)) }.max()! / scale
    }
    let both = try byHand([CrossEntropyLoss(), ComplementEntropyLoss()])
    let crossEntropyOnly = try byHand([CrossEntropyLoss()])
    XCTAssertEqual(fromBinary.count, both.count)
    XCTAssertLessThan(relative(fromBinary, both), 1e-6)
    XCTAssertGreaterThan(
      relative(fromBinary, crossEntropyOnly), 1e-4, "the complement update must change something")
  }

  /// cb-sigmoid starts every class at probability 0.1: the classifier bias is −log 9 on every
  /// rank after the broadcast (one step at lr 1e-7 barely moves it), on every architecture —
  /// MobileNetV2's classifier is a 1×1 convolution, not a layer named `fc`.
  func testSigmoidLossesStartWithThePriorBias() throws {
    let data = directory.appendingPathComponent("fm").path
    XCTAssertEqual(
      try CommandRunner.single(["pack", "--out", data, "--imbalance", "exp:100", "--shards", "2"]).status, 0)
    for model in ["small-cnn", "mobilenetv2"] {
      let prefix = directory.appendingPathComponent("sigmoid-\(model)").path
      let run = try CommandRunner.single([
        "train", "--data", data, "--model", model, "--loss", "cb-sigmoid", "--sampler", "uniform",
        "--max-steps",
        "1", "--batch-size", "32", "--lr", "1e-7", "--warmup-epochs", "0", "--dump-parameters", prefix,
      ])
      XCTAssertEqual(run.status, 0, run.standardError)
      let parameters = try Data(contentsOf: URL(fileURLWithPath: prefix + ".rank0.f32")).withUnsafeBytes {
        Array($0.bindMemory(to: Float.self))
      }
      // The arena ends with the classifier's bias (10 values): `fc.bias`, `classifier.bias`.
      for bias in parameters.suffix(10) { XCTAssertEqual(bias, -2.1972245, accuracy: 1e-4, model) }
    }
  }
}
