import Distributed
import Loader
import Model

/// `train --describe`: the run's network for its dataset (packed first if it is the default
/// one), as a layer table.
public enum ModelDescription {
  public static func text(for configuration: TrainingConfiguration) throws -> String {
    let dataset = try DefaultDataset.resolve(
      configuration: configuration, communicator: SingleProcessCommunicator(), console: Console(enabled: true)
    )
    let manifest = dataset.manifest
    let network = try configuration.makeNetwork(image: manifest.image, classes: manifest.classNames.count)
    let image = manifest.image
    return
      "\(configuration.model.architecture.rawValue), \(configuration.model.task == .segmentation ? "segmentation" : "mode \(configuration.model.mode.rawValue)"), input \(image.channels)×\(image.height)×\(image.width), \(manifest.classNames.count) classes\n"
      + network.layerTable()
  }
}
