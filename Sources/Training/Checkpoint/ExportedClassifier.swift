import Foundation
import Loader
import Model

/// A trained model as a deployable classifier (`imbal-dist export`): the encoder and
/// classifier tensors of a run's checkpoint — no decoder, no optimizer state — in one
/// safetensors file whose metadata says how to rebuild and feed it (architecture, input shape,
/// class names, `preprocessing`: pixels scaled to [0, 1] then standardised per channel, and
/// `layers`: every node with its settings and tensors), so `evaluate --model FILE` or a PyTorch
/// or NumPy script needs nothing else.
public struct ExportedClassifier {
  /// The file formats of `export --format`.
  public enum ExportFormat: String, CaseIterable, Sendable {
    case safetensors, onnx
  }

  public static let format = "imbal-dist-classifier/1"

  public let network: Network
  public let classNames: [String]
  public let image: Manifest.Image
  public let normalization: Normalization
  public let metadata: [String: String]
  /// The training split's images per class (absent in exports of earlier builds): the prior
  /// of post-hoc logit adjustment.
  public let trainClassCounts: [Int]?
  /// How image files become its input (`pack`'s defaults in exports of earlier builds).
  public let preparation: ImagePreparation
  /// The softmax scale of its outputs (`LossOptions.scoreScale`).
  public var scoreScale: Double { LossOptions.scoreScale(cosine: metadata["cosine_classifier"] == "true") }

  /// Writes the classifier of `run`'s `best` or `last` checkpoint to `path` (atomically) as
  /// `format`, and returns what was written, for the user. The run's dataset manifest supplies
  /// the input shape, the preparation of image files and the normalisation: `dataset`
  /// overrides the directory recorded in hparams.json.
  @discardableResult
  public static func export(
    run: RunDirectory, checkpoint: String, dataset override: String?, to path: String,
    format: ExportFormat = .safetensors
  ) throws -> String {
    let trained = try TrainedRun(
      run: run, checkpoint: checkpoint, dataset: override, decoder: false, classifierFor: "export")
    let metadata = try metadata(of: trained, format: format)
    switch format {
    case .safetensors:
      let exported = ModelCheckpoint.make(trained.network, metadata: metadata)
      try writeAtomically(exported.encoded(), to: path)
      return "\(exported.entries.count) tensors"
    case .onnx:
      let model = try ONNXClassifier(
        network: trained.network, normalization: trained.dataset.manifest.normalization, metadata: metadata)
      try writeAtomically(model.serialized(), to: path)
      return
        "ONNX opset \(ONNXClassifier.opset), \(model.model.graph.node.count) operators, \(model.model.graph.initializer.count) initializers"
    }
  }

  /// What an exported model says of itself: architecture, input shape, class names and training
  /// counts, `preprocessing` (how image files become its input) and the layer list.
  static func metadata(of trained: TrainedRun, format: ExportFormat) throws -> [String: String] {
    let (manifest, config) = (trained.dataset.manifest, trained.hyperParameters.configuration)
    let image = manifest.image
    let preparation = ImagePreparation(recorded: manifest.preparation, image: image)
    let preprocessing: [String: Any] = [
      "input": format == .onnx
        ? "uint8 pixels (N, C, H, W), planar, grey or R, G, B, as the dataset's records; standardised inside the graph"
        : "uint8 pixels, planar (channel, row, column), grey or R, G, B, as the dataset's records",
      "shape": [image.channels, image.height, image.width],
      "formula": "x[c] = (pixel[c] / 255 - mean[c]) / std[c]", "scale": 255,
      "mean": manifest.normalization.mean, "std": manifest.normalization.std,
      // How `predict` turns an image file into pixels: the preparation `pack` recorded (an
      // image of another size is resized by `resize`), colour to grey by BT.601 luma or grey
      // copied to R, G and B.
      "image_files": [
        "resize": preparation.policy.rawValue, "background": preparation.background,
        "image_size": preparation.size?.description ?? NSNull(),
      ] as [String: Any],
      "output": config.loss.needsCosineClassifier
        ? "cosine similarities, one per class of class_names" : "logits, one per class of class_names",
    ]
    return [
      "format": format == .onnx ? "imbal-dist-onnx/1" : Self.format,
      "architecture": config.model.architecture.rawValue,
      "cosine_classifier": "\(config.loss.needsCosineClassifier)",
      "channels": "\(image.channels)", "height": "\(image.height)", "width": "\(image.width)",
      "class_names": try RunJSON.text(manifest.classNames),
      "train_class_counts": try RunJSON.text(manifest.splits.train.classCounts),
      "normalization_mean": manifest.normalization.mean.map { "\($0)" }.joined(separator: ","),
      "normalization_std": manifest.normalization.std.map { "\($0)" }.joined(separator: ","),
      "epoch": trained.checkpoint.metadata["epoch"] ?? "", "dataset_id": manifest.id,
      "preprocessing": try RunJSON.text(preprocessing),
      "layers": try RunJSON.text(trained.network.layerList()),
    ]
  }

  /// Reads an exported classifier.
  public init(contentsOf path: String) throws {
    let file = try SafeTensors(contentsOf: path)
    let meta = file.metadata
    func field(_ key: String) throws -> String {
      guard let value = meta[key] else {
        throw CheckpointError.malformed(
          path: path, reason: "its metadata lacks \"\(key)\"; is it a file from `imbal-dist export`?")
      }
      return value
    }
    guard try field("format") == Self.format else {
      throw CheckpointError.malformed(path: path, reason: "format \(meta["format"]!) is not \(Self.format)")
    }
    guard let architecture = Architecture(rawValue: try field("architecture")),
      let channels = Int(try field("channels")), let height = Int(try field("height")),
      let width = Int(try field("width")),
      let names = try JSONSerialization.jsonObject(with: Data(try field("class_names").utf8)) as? [String]
    else { throw CheckpointError.malformed(path: path, reason: "its metadata does not describe a model") }
    let mean = try field("normalization_mean").split(separator: ",").compactMap { Float($0) }
    let std = try field("normalization_std").split(separator: ",").compactMap { Float($0) }
    guard mean.count == channels, std.count == channels, std.allSatisfy({ $0 > 0 }) else {
      throw CheckpointError.malformed(
        path: path, reason: "its normalisation does not have \(channels) channels")
    }
    network = try architecture.makeNetwork(
      channels: channels, height: height, width: width, classes: names.count,
      cosineClassifier: try field("cosine_classifier") == "true")
    try ModelCheckpoint.load(file, into: network, path: path)
    classNames = names
    image = Manifest.Image(channels: channels, height: height, width: width)
    normalization = Normalization(mean: mean, std: std)
    metadata = meta
    trainClassCounts = meta["train_class_counts"].flatMap {
      (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [Int]
    }.flatMap { $0.count == names.count ? $0 : nil }
    preparation = ImagePreparation(
      recorded: Self.recordedPreparation(meta["preprocessing"]), image: image)
  }

  /// The `image_files` entry of the `preprocessing` metadata.
  private static func recordedPreparation(_ preprocessing: String?) -> Manifest.Preparation? {
    guard let text = preprocessing,
      let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
      let files = object["image_files"] as? [String: Any],
      let resize = (files["resize"] as? String).flatMap(ResizePolicy.init(rawValue:)),
      let background = files["background"] as? [Int], background.count == 3,
      background.allSatisfy({ (0...255).contains($0) })
    else { return nil }
    return Manifest.Preparation(
      imageSize: files["image_size"] as? String, resize: resize, background: background.map { UInt8($0) })
  }
}
