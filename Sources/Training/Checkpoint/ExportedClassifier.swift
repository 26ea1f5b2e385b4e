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
  public static let format = "imbal-dist-classifier/1"

  public let network: Network
  public let classNames: [String]
  public let image: Manifest.Image
  public let normalization: Normalization
  public let metadata: [String: String]

  /// Writes the classifier of `run`'s `best` or `last` checkpoint to `path` (atomically) and
  /// returns its tensor count. The run's dataset manifest supplies the input shape and the
  /// normalisation: `dataset` overrides the directory recorded in hparams.json.
  @discardableResult
  public static func export(run: RunDirectory, checkpoint: String, dataset override: String?, to path: String)
    throws -> Int
  {
    let trained = try TrainedRun(run: run, checkpoint: checkpoint, dataset: override, decoder: false)
    let (manifest, config, file) = (
      trained.dataset.manifest, trained.hyperParameters.configuration, trained.checkpoint
    )
    let image = manifest.image
    let preprocessing: [String: Any] = [
      "input": "uint8 pixels, planar (channel, row, column), grey or R, G, B, as the dataset's records",
      "shape": [image.channels, image.height, image.width],
      "formula": "x[c] = (pixel[c] / 255 - mean[c]) / std[c]", "scale": 255,
      "mean": manifest.normalization.mean, "std": manifest.normalization.std,
      "output": config.loss.needsCosineClassifier
        ? "cosine similarities, one per class of class_names" : "logits, one per class of class_names",
    ]
    let metadata = [
      "format": format, "architecture": config.model.architecture.rawValue,
      "cosine_classifier": "\(config.loss.needsCosineClassifier)",
      "channels": "\(manifest.image.channels)", "height": "\(manifest.image.height)",
      "width": "\(manifest.image.width)", "class_names": try RunJSON.text(manifest.classNames),
      "normalization_mean": manifest.normalization.mean.map { "\($0)" }.joined(separator: ","),
      "normalization_std": manifest.normalization.std.map { "\($0)" }.joined(separator: ","),
      "epoch": file.metadata["epoch"] ?? "", "dataset_id": manifest.id,
      "preprocessing": try RunJSON.text(preprocessing),
      "layers": try RunJSON.text(trained.network.layerList()),
    ]
    let exported = ModelCheckpoint.make(trained.network, metadata: metadata)
    try writeAtomically(exported.encoded(), to: path)
    return exported.entries.count
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
  }
}
