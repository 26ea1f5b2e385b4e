import Foundation
import Model
import Training
import XCTest

/// The three training modes of the seeds, the deployable export and `--describe`, through the
/// binary on Fashion-MNIST-LT.
final class TrainingModeTests: XCTestCase {
  private var directory: URL!
  private var data: String!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mode-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  private func tensors(_ file: String) throws -> [String: [Float]] {
    let safetensors = try SafeTensors(contentsOf: file)
    return Dictionary(uniqueKeysWithValues: safetensors.entries.map { ($0.name, $0.values) })
  }

  /// Checks that the tensors `trains` names differ from `before` and all others are
  /// bit-identical to it; returns how many were frozen and how many trained.
  private func compare(
    _ after: [String: [Float]], _ before: [String: [Float]], file: StaticString = #filePath,
    line: UInt = #line,
    trains: (String) -> Bool
  ) -> (frozen: Int, trained: Int) {
    var counts = (frozen: 0, trained: 0)
    for (name, values) in after {
      if trains(name) {
        XCTAssertNotEqual(values, before[name], "\(name) did not train", file: file, line: line)
        counts.trained += 1
      } else {
        XCTAssertEqual(values, before[name], "\(name) changed while frozen", file: file, line: line)
        counts.frozen += 1
      }
    }
    return counts
  }

  private func csvRows(_ file: String) throws -> [[String]] {
    try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").dropFirst().map {
      $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
  }

  /// `separate`: an autoencoder epoch that leaves the classifier at its initial values, then a
  /// classifier epoch (resumed in a new process) that leaves every encoder and decoder tensor —
  /// batch norm's running statistics included — bit for bit as the autoencoder left them.
  func testSeparateModeTrainsTheAutoencoderThenOnlyTheClassifier() throws {
    let run = path("separate")
    let job = [
      "train", "--data", data!, "--model", "unet", "--mode", "separate", "--ae-epochs", "1", "--epochs", "1",
      "--epoch-size", "256", "--batch-size", "64", "--tsne-points", "0", "--log-every", "0", "--seed", "4",
    ]
    let first = try CommandRunner.single(job + ["--out", run, "--stop-after-epoch", "1"])
    XCTAssertEqual(first.status, 0, first.standardError)
    XCTAssertTrue(first.standardOutput.contains("epoch 1/2 (autoencoder)"), first.standardOutput)
    let afterAutoencoder = try tensors(run + "/last.safetensors")

    let initial = try Architecture.unet.makeNetwork(
      channels: 1, height: 28, width: 28, classes: 10, decoder: true)
    initial.initializeParameters(seed: 4)
    var classifierTensors = 0
    for entry in initial.layout.entries
    where entry.name.hasPrefix("classifier.") || entry.name.hasPrefix("fc.") {
      let values = Array(
        UnsafeBufferPointer(start: initial.parameters.base + entry.offset, count: entry.count))
      XCTAssertEqual(afterAutoencoder[entry.name], values, "\(entry.name) moved while frozen")
      classifierTensors += 1
    }
    XCTAssertEqual(classifierTensors, 4)

    let resumed = try CommandRunner.single(["train", "--resume", run])
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    XCTAssertTrue(resumed.standardOutput.contains("epoch 2/2 (classifier)"), resumed.standardOutput)
    let final = try tensors(run + "/last.safetensors")
    XCTAssertEqual(Set(final.keys), Set(afterAutoencoder.keys))
    let (frozen, trained) = compare(final, afterAutoencoder) {
      !$0.hasPrefix("encoder") && !$0.hasPrefix("decoder")
    }
    XCTAssertEqual(trained, 4)
    XCTAssertGreaterThan(frozen, 30)
    // The autoencoder epoch logs its reconstruction error and no validation; the classifier's
    // epoch is validated.
    let train = try csvRows(run + "/train.csv")
    XCTAssertEqual(train.count, 2)
    XCTAssertNotNil(Double(train[0][MetricsRow.columns.firstIndex(of: "recon_mse")!]))
    XCTAssertEqual(train[1][MetricsRow.columns.firstIndex(of: "recon_mse")!], "")
    XCTAssertEqual(try csvRows(run + "/valid.csv").map { $0[0] }, ["2"])
  }

  /// A run of the joint epoch then a two-epoch (cRT: one) classifier `stage` (`--crt-epochs`,
  /// `--wb-epochs`, `--lws-epochs` with `options`): stopped after the joint epoch, resumed —
  /// in the middle of the stage too when it has two epochs — and checked: the stage's epochs
  /// are labelled, every encoder tensor (batch norm's running statistics included) stays bit for
  /// bit as the joint epoch left it, the classifier's two tensors moved, and an uninterrupted run
  /// ends with exactly the same tensors. Validation and test use 256 images: the test is about
  /// the tensors. Returns the joint and final tensors, the run's path and its command.
  private func stagedRun(
    _ option: String, epochs: Int, label: String, seed: Int, file: StaticString = #filePath,
    line: UInt = #line
  ) throws -> (joint: [String: [Float]], final: [String: [Float]], run: String, job: [String]) {
    let job = [
      "train", "--data", data!, "--model", "small-cnn", "--epochs", "1", option, "\(epochs)", "--epoch-size",
      "256",
      "--batch-size", "64", "--tsne-points", "0", "--log-every", "0", "--seed", "\(seed)", "--debug",
      "--debug-samples", "256",
    ]
    let (stopped, whole) = (path("\(label)-stopped"), path("\(label)-whole"))
    let first = try CommandRunner.single(job + ["--out", stopped, "--stop-after-epoch", "1"])
    XCTAssertEqual(first.status, 0, first.standardError, file: file, line: line)
    let joint = try tensors(stopped + "/last.safetensors")
    for stop in epochs > 1 ? [["--stop-after-epoch", "2"], []] : [[]] {
      let resumed = try CommandRunner.single(["train", "--resume", stopped] + stop)
      XCTAssertEqual(resumed.status, 0, resumed.standardError, file: file, line: line)
      XCTAssertTrue(
        resumed.standardOutput.contains("/\(epochs + 1) (\(label))"), resumed.standardOutput,
        file: file,
        line: line)
    }
    let final = try tensors(stopped + "/last.safetensors")
    let (frozen, trained) = compare(final, joint, file: file, line: line) { $0.hasPrefix("fc.") }
    XCTAssertEqual(trained, 2, file: file, line: line)
    XCTAssertGreaterThan(frozen, 10, file: file, line: line)
    let uninterrupted = try CommandRunner.single(job + ["--out", whole])
    XCTAssertEqual(uninterrupted.status, 0, uninterrupted.standardError, file: file, line: line)
    XCTAssertEqual(
      try tensors(whole + "/last.safetensors"), final, "stopped and resumed ≠ uninterrupted", file: file,
      line: line)
    return (joint, final, stopped, job)
  }

  /// cRT (Kang et al. 2020) as `stagedRun` checks it; and at a learning rate of 1e-7 the
  /// re-trained classifier is still the fresh initialisation (`initializeParameters(of:
  /// .classifier)`), not the joint epoch's classifier.
  func testClassifierRetrainingReinitialisesAndTrainsOnlyTheClassifier() throws {
    let (_, _, _, job) = try stagedRun("--crt-epochs", epochs: 1, label: "cRT", seed: 4)
    let still = path("crt-still")
    let slow = try CommandRunner.single(job + ["--out", still, "--lr", "1e-7"])
    XCTAssertEqual(slow.status, 0, slow.standardError)
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    network.initializeParameters(seed: 4)
    let initial = Array(try XCTUnwrap(network.classifierWeight))
    network.initializeParameters(of: .classifier, seed: 4)
    let fresh = Array(try XCTUnwrap(network.classifierWeight))
    let retrained = try XCTUnwrap(tensors(still + "/last.safetensors")["fc.weight"])
    XCTAssertLessThan(zip(retrained, fresh).map { abs($0 - $1) }.max()!, 1e-5)
    XCTAssertGreaterThan(
      zip(retrained, initial).map { abs($0 - $1) }.max()!, 1e-3, "fc.weight was not re-drawn")
  }

  /// Weight balancing's second stage (Alshammari et al. 2022) as `stagedRun` checks it, resumed
  /// mid-stage; MaxNorm's radius is `min + 0.1·(max − min)` of the joint classifier's row norms
  /// (recomputed here from the checkpoint) and kept in the state; every final row is within it
  /// although most joint rows were longer, and without the cap (`--wb-max-norm 1`) the stage
  /// ends with longer rows.
  func testWeightBalancingCapsTheClassifierRowsAndResumesExactly() throws {
    let (joint, final, run, job) = try stagedRun("--wb-epochs", epochs: 2, label: "WB", seed: 5)
    let norms = try rowNorms(XCTUnwrap(joint["fc.weight"]), rows: 10)
    let radius = norms.min()! + 0.1 * (norms.max()! - norms.min()!)
    let state = try SafeTensors(contentsOf: run + "/last.state.safetensors")
    XCTAssertEqual(
      try XCTUnwrap(state.metadata["max_norm_radius"].flatMap(Double.init)), radius, accuracy: 1e-9)
    let capped = try rowNorms(XCTUnwrap(final["fc.weight"]), rows: 10)
    XCTAssertLessThanOrEqual(capped.max()!, radius * (1 + 1e-6))
    XCTAssertGreaterThanOrEqual(norms.filter { $0 > radius }.count, 5, "the cap had no rows to pull in")
    let free = try CommandRunner.single(job + ["--out", path("wb-free"), "--wb-max-norm", "1"])
    XCTAssertEqual(free.status, 0, free.standardError)
    let uncapped = try rowNorms(
      XCTUnwrap(tensors(path("wb-free") + "/last.safetensors")["fc.weight"]), rows: 10)
    XCTAssertGreaterThan(uncapped.max()!, radius * 1.1)
  }

  /// LWS (Kang et al. 2020) as `stagedRun` checks it, resumed mid-stage (scales and their
  /// momentum restored from the state): each class's final row and bias are the joint epoch's
  /// times the scale `class_scales` in the state records.
  func testWeightScalingScalesEachClassRowAndResumesExactly() throws {
    let (joint, final, run, _) = try stagedRun("--lws-epochs", epochs: 2, label: "LWS", seed: 6)
    let state = try SafeTensors(contentsOf: run + "/last.state.safetensors")
    let scales = try XCTUnwrap(state.metadata["class_scales"]).split(separator: ",").compactMap { Double($0) }
    XCTAssertEqual(scales.count, 10)
    XCTAssertGreaterThan(scales.map { abs($0 - 1) }.max()!, 1e-3, "the scales did not move")
    let (rows, bias) = (try XCTUnwrap(final["fc.weight"]), try XCTUnwrap(final["fc.bias"]))
    let (jointRows, jointBias) = (try XCTUnwrap(joint["fc.weight"]), try XCTUnwrap(joint["fc.bias"]))
    let width = rows.count / 10
    for k in 0..<10 {
      for i in (k * width)..<((k + 1) * width) {
        XCTAssertEqual(Double(rows[i]), Double(jointRows[i]) * scales[k], accuracy: 1e-5)
      }
      XCTAssertEqual(Double(bias[k]), Double(jointBias[k]) * scales[k], accuracy: 1e-5)
    }
  }

  private func rowNorms(_ weights: [Float], rows: Int) -> [Double] {
    let width = weights.count / rows
    return (0..<rows).map { r in
      weights[(r * width)..<((r + 1) * width)].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }
  }

  /// `end-to-end`: one shared loss; validation reports the reconstruction error, and the
  /// exported classifier (no decoder) gives the run's own test result.
  func testEndToEndRunExportsADeployableClassifier() throws {
    let run = path("e2e")
    let result = try CommandRunner.single([
      "train", "--data", data!, "--model", "mobilenetv2", "--mode", "end-to-end", "--recon-weight", "2",
      "--epochs", "1", "--epoch-size", "256", "--batch-size", "64", "--tsne-points", "0", "--out", run,
    ])
    XCTAssertEqual(result.status, 0, result.standardError)
    let valid = try csvRows(run + "/valid.csv")
    let mse = try XCTUnwrap(Double(valid[0][MetricsRow.columns.firstIndex(of: "recon_mse")!]))
    XCTAssertTrue(mse > 0 && mse < 1, "\(mse)")
    let json = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try XCTUnwrap(result.lines.last).utf8)) as? [String: Any])

    let exported = path("classifier.safetensors")
    let export = try CommandRunner.single(["export", "--run", run, "--out", exported])
    XCTAssertEqual(export.status, 0, export.standardError)
    let names = try tensors(exported).keys
    XCTAssertFalse(names.contains { $0.hasPrefix("decoder") })
    XCTAssertTrue(names.contains("block0.depthwise.bn.running_var"))
    let evaluated = try CommandRunner.single(["evaluate", "--model", exported, "--data", data!])
    XCTAssertEqual(evaluated.status, 0, evaluated.standardError)
    let again = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try XCTUnwrap(evaluated.lines.last).utf8)) as? [String: Any])
    XCTAssertEqual(again["accuracy"] as? Double, json["accuracy"] as? Double)
    XCTAssertEqual(again["macro_f1"] as? Double, json["macro_f1"] as? Double)

    let notExported = try CommandRunner.single([
      "evaluate", "--model", run + "/best.safetensors", "--data", data!,
    ])
    XCTAssertEqual(notExported.status, 1)
    XCTAssertTrue(
      notExported.standardError.contains("is it a file from `imbal-dist export`?"), notExported.standardError)
  }

  /// `--describe` prints the arena's parameter count (the hand count of ResNet-20 on one
  /// channel, see NetworkTests) and the cost; a mode that needs a decoder on a model without
  /// one is one clear error.
  func testDescribeAndModeErrors() throws {
    let described = try CommandRunner.single(["train", "--data", data!, "--model", "resnet20", "--describe"])
    XCTAssertEqual(described.status, 0, described.standardError)
    XCTAssertTrue(described.standardOutput.contains("parameters: 269434 (encoder 268784, classifier 650)"))
    XCTAssertTrue(described.standardOutput.contains("layer3.2.add"), described.standardOutput)
    let unet = try CommandRunner.single([
      "train", "--data", data!, "--model", "unet", "--mode", "end-to-end", "--describe",
    ])
    XCTAssertTrue(unet.standardOutput.contains("decoder1.concat"), unet.standardOutput)
    XCTAssertTrue(unet.standardOutput.contains("with the decoder"), unet.standardOutput)

    let wrong = try CommandRunner.single([
      "train", "--data", data!, "--model", "resnet20", "--mode", "end-to-end",
    ])
    XCTAssertNotEqual(wrong.status, 0)
    XCTAssertTrue(
      wrong.standardError.contains("--mode end-to-end needs a model with a decoder (unet or mobilenetv2)"),
      wrong.standardError)
  }
}
