import Foundation
import Training
import XCTest

/// The one configuration path: a configuration is written and read under `train`'s option
/// names (what `hparams.json`, `--config` files and sweeps hold), keys left out keep their
/// defaults, and a bad key, type or value is an error naming the option.
final class ConfigurationTests: XCTestCase {
  private func decode(_ json: String) throws -> TrainingConfiguration {
    try JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8))
  }

  private func error(_ json: String) -> String {
    do {
      _ = try decode(json)
      return "decoded"
    } catch { return "\(error)" }
  }

  func testEveryFieldSurvivesARoundTripUnderTheOptionNames() throws {
    var configuration = TrainingConfiguration()
    configuration.model.architecture = .unet
    configuration.model.mode = .separate
    configuration.model.syncBatchNorm = true
    configuration.optimization.globalBatch = 64
    configuration.optimization.learningRate = 0.02
    configuration.sampler.kind = .underOver
    configuration.sampler.undersampleThreshold = 40
    configuration.loss.kind = .focal
    configuration.loss.classWeights = .effective
    configuration.loss.beta = 0.999
    configuration.sampler.beta = 0.999
    configuration.loss.drwEpoch = 3
    configuration.data.directory = "data/x"
    configuration.data.seed = 7
    configuration.output.directory = "runs/x"
    configuration.output.testTimeAugmentation = .flip
    configuration.output.stopAfterEpoch = 2
    configuration.debugging.enabled = true
    configuration.debugging.fault = FaultInjection("drift@4:1")
    configuration.debugging.maxSteps = 9
    configuration.data.loaderThreads = 3
    configuration.data.loaderMemory = 64
    configuration.augmentation.resizedCropScale = ValueRange(0.08, 1)
    configuration.augmentation.resizedCropRatio = ValueRange(0.5, 2)
    configuration.augmentation.mixing = Mixing(kind: .remix, alpha: 0.4)
    configuration.augmentation.mixing.remixKappa = 2
    let encoded = try JSONEncoder().encode(configuration)
    let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: encoded) as? [String: Any])
    // Written in snake_case, as every JSON file of a run.
    XCTAssertEqual(keys["batch_size"] as? Int, 64)
    XCTAssertEqual(keys["sync_bn"] as? Bool, true)
    XCTAssertEqual(keys["inject_fault"] as? String, "drift@4:1")
    XCTAssertEqual(keys["resized_crop_scale"] as? String, "0.08,1")
    let snakeCase = TrainingConfiguration.optionNames.map { $0.replacingOccurrences(of: "-", with: "_") }
    XCTAssertEqual(Set(keys.keys).subtracting(snakeCase), [])
    XCTAssertEqual(try JSONDecoder().decode(TrainingConfiguration.self, from: encoded), configuration)
  }

  func testMissingKeysKeepTheDefaultsAndBetaReachesSamplerAndLoss() throws {
    let configuration = try decode(#"{"epochs": 3, "beta": 0.99}"#)
    var expected = TrainingConfiguration()
    expected.optimization.epochs = 3
    expected.loss.beta = 0.99
    expected.sampler.beta = 0.99
    XCTAssertEqual(configuration, expected)
    XCTAssertEqual(try decode("{}"), TrainingConfiguration())
  }

  /// The option name, its snake_case and the camelCase a snake_case-converting decoder hands
  /// over all mean the same option; two of them at once are an error.
  func testEverySpellingOfAnOptionIsRead() throws {
    for key in ["batch-size", "batch_size", "batchSize"] {
      XCTAssertEqual(try decode(#"{"\#(key)": 32}"#).optimization.globalBatch, 32, key)
    }
    XCTAssertEqual(error(#"{"batch-size": 32, "batch_size": 64}"#), #"option "batch-size" is given twice"#)
  }

  func testBadKeysTypesAndValuesNameTheOption() {
    XCTAssertTrue(
      error(#"{"epochz": 3}"#).hasPrefix(
        #"unknown option "epochz"; valid options are ae-epochs, augment, batch-size,"#))
    XCTAssertEqual(error(#"{"epochs": "many"}"#), #"option "epochs" takes an integer"#)
    XCTAssertEqual(error(#"{"sync-bn": 3}"#), #"option "sync-bn" takes true or false"#)
    XCTAssertEqual(
      error(#"{"loss": "dice"}"#),
      #"option "loss" cannot be "dice"; it takes one of ce, weighted-ce, focal, cb-softmax, cb-sigmoid, cb-focal, cce, cot, ldam, balanced-softmax, logit-adjust"#
    )
    XCTAssertTrue(error(#"{"inject-fault": "boom"}"#).hasPrefix(#"option "inject-fault" cannot be "boom""#))
    XCTAssertTrue(error(#"{"resized-crop-scale": "1,0.5"}"#).hasPrefix(#"option "resized-crop-scale""#))
  }

  /// A range is `LOW,HIGH` in text or a two-number list (as YAML writes it), and the resolved
  /// augmentation replaces the padded crop by the random-resized crop.
  func testRandomResizedCropOptions() throws {
    XCTAssertEqual(
      try decode(#"{"resized-crop-scale": [0.25, 1]}"#).augmentation.resizedCropScale, ValueRange(0.25, 1))
    let configuration = try decode(#"{"augment": "standard", "resized-crop-scale": "0.25,1"}"#)
    let augmentation = configuration.augmentation.resolved(height: 32, width: 32)
    XCTAssertEqual(augmentation.resizedCropScale, 0.25...1)
    XCTAssertEqual(augmentation.resizedCropRatio, 0.75...(4.0 / 3))
    XCTAssertEqual(augmentation.cropPadding, 0)
    XCTAssertTrue(augmentation.horizontalFlip)
    var bad = configuration
    bad.augmentation.resizedCropScale = ValueRange(0, 1)
    XCTAssertThrowsError(try bad.validate()) {
      XCTAssertEqual("\($0)", "--resized-crop-scale must lie in (0, 1] (got 0,1)")
    }
    XCTAssertNil(ValueRange(parsing: "0.5"))
    XCTAssertEqual(ValueRange(parsing: "0.08, 1"), ValueRange(0.08, 1))
  }

  /// `--mix` and its parameters, read from a file and checked; a batch too small to pair images
  /// within every training shard's share is refused before training.
  func testMixingOptions() throws {
    let mixing = try decode(#"{"mix": "cutmix", "mix-alpha": 0.2, "remix-tau": 0.25}"#).augmentation.mixing
    XCTAssertEqual(mixing.kind, .cutmix)
    XCTAssertEqual(mixing.alpha, 0.2)
    XCTAssertEqual(mixing.remixTau, 0.25)
    XCTAssertEqual(mixing.remixKappa, 3)
    XCTAssertTrue(
      error(#"{"mix": "manifold"}"#).hasPrefix(
        #"option "mix" cannot be "manifold"; it takes one of none, mixup, cutmix, remix"#))
    for (json, message) in [
      (#"{"mix-alpha": 0}"#, "--mix-alpha must be positive (got 0.0)"),
      (#"{"remix-kappa": 0.5}"#, "--remix-kappa must be at least 1 (got 0.5)"),
      (#"{"remix-tau": 2}"#, "--remix-tau must be in [0, 1] (got 2.0)"),
    ] {
      XCTAssertThrowsError(try decode(json).validate()) { XCTAssertEqual("\($0)", message) }
    }
    XCTAssertEqual(
      PlanError.tooFewToMix(globalBatch: 6, shards: 4).description,
      "--mix pairs images within each training shard's share of a step, and a global batch of 6 over 4 shards gives some shard fewer than 2: use --batch-size 8 or more"
    )
  }

  /// `--task segmentation` and `--dice-weight`, read from a file; the combinations that cannot
  /// train class maps are refused naming the option.
  func testSegmentationOptions() throws {
    let configuration = try decode(
      #"{"task": "segmentation", "model": "unet", "loss": "focal", "dice-weight": 0.5}"#)
    XCTAssertEqual(configuration.model.task, .segmentation)
    XCTAssertEqual(configuration.loss.diceWeight, 0.5)
    XCTAssertNoThrow(try configuration.validate())
    for (json, message) in [
      (
        #"{"task": "segmentation"}"#,
        "--task segmentation needs a model with a decoder (unet or mobilenetv2); small-cnn has none"
      ),
      (
        #"{"task": "segmentation", "model": "unet", "mode": "end-to-end"}"#,
        "--task segmentation trains encoder and decoder together; --mode end-to-end is for classifiers"
      ),
      (
        #"{"task": "segmentation", "model": "mobilenetv2", "loss": "ldam"}"#,
        "--task segmentation takes --loss ce, weighted-ce or focal at every pixel (and --dice-weight); not ldam"
      ),
      (
        #"{"task": "segmentation", "model": "unet", "mix": "cutmix"}"#,
        "--task segmentation does not mix images (--mix cutmix)"
      ),
      (
        #"{"task": "segmentation", "model": "unet", "crt-epochs": 2}"#,
        "--crt-epochs, --lws-epochs and --wb-epochs re-train an image classifier; --task segmentation has none"
      ),
      (
        #"{"task": "segmentation", "model": "unet", "tta": "flip-shift"}"#,
        "--tta flip-shift averages an image classifier's scores; --task segmentation takes --tta none or flip"
      ),
      (#"{"dice-weight": 1}"#, "--dice-weight applies to --task segmentation"),
      (#"{"copy-paste": 0.5}"#, "--copy-paste applies to --task segmentation"),
      (
        #"{"task": "segmentation", "model": "unet", "copy-paste": 2}"#,
        "--copy-paste must be a probability in [0, 1] (got 2.0)"
      ),
      (
        #"{"task": "segmentation", "model": "unet", "dice-weight": -1}"#,
        "--dice-weight must be non-negative (got -1.0)"
      ),
    ] {
      XCTAssertThrowsError(try decode(json).validate(), json) { XCTAssertEqual("\($0)", message) }
    }
  }

  /// `--crt-epochs` adds epochs after the joint ones; such a run cannot be extended, and
  /// `separate` mode (whose classifier already trains alone) refuses it.
  func testClassifierRetrainingOptions() throws {
    var configuration = try decode(#"{"crt-epochs": 3, "epochs": 5}"#)
    XCTAssertEqual(configuration.optimization.classifierRetrainingEpochs, 3)
    XCTAssertEqual(configuration.totalEpochs, 8)
    XCTAssertThrowsError(try configuration.optimization.extend(to: 7, run: "runs/a")) {
      XCTAssertEqual(
        "\($0)",
        "--epochs with --resume extends the joint epochs, but runs/a trains its classifier in a stage after them (--crt-epochs, --lws-epochs or --wb-epochs); train a new run instead"
      )
    }
    configuration.model.architecture = .unet
    configuration.model.mode = .separate
    XCTAssertThrowsError(try configuration.validate()) {
      XCTAssertEqual(
        "\($0)",
        "--crt-epochs trains the classifier of a jointly trained model in a second stage; --mode separate already trains it alone"
      )
    }
    XCTAssertThrowsError(try decode(#"{"crt-epochs": -1}"#).validate()) {
      XCTAssertEqual("\($0)", "--crt-epochs must be non-negative (got -1)")
    }
    XCTAssertThrowsError(try decode(#"{"crt-epochs": 2, "lws-epochs": 2}"#).validate()) {
      XCTAssertEqual("\($0)", "--crt-epochs and --lws-epochs are second stages for the classifier: give one")
    }
    for (stage, reason) in [
      ("lws", "scales the classifier's rows, which LDAM's cosine classifier normalises away"),
      ("wb", "caps the classifier's weight norms, which LDAM's cosine classifier does not use"),
    ] {
      XCTAssertThrowsError(try decode(#"{"\#(stage)-epochs": 2, "loss": "ldam"}"#).validate()) {
        XCTAssertEqual("\($0)", "--\(stage)-epochs \(reason)")
      }
    }
  }

  func testValidationNamesTheCommandLineOption() throws {
    var configuration = TrainingConfiguration()
    configuration.optimization.epochs = 0
    XCTAssertThrowsError(try configuration.validate()) {
      XCTAssertEqual("\($0)", "--epochs must be at least 1 (got 0)")
    }
    configuration = try decode(#"{"loss": "weighted-ce"}"#)
    XCTAssertThrowsError(try configuration.validate()) {
      XCTAssertTrue("\($0)".hasPrefix("--loss weighted-ce needs --class-weights"))
    }
    configuration = try decode(#"{"few-shot-below": 50, "many-shot-above": 40}"#)
    XCTAssertThrowsError(try configuration.validate()) {
      XCTAssertEqual("\($0)", "--few-shot-below must be between 0 and --many-shot-above + 1 (41)")
    }
  }
}
