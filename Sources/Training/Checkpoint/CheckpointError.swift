/// A checkpoint or run directory that cannot be used.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
  case missing(path: String)
  case malformed(path: String, reason: String)
  case doesNotFit(path: String, reason: String)
  /// The run's dataset is no longer where the run recorded it.
  case datasetMoved(path: String, id: String)
  /// A layer that an export format has no operators for.
  case notExportable(layer: String, kind: String)
  /// A segmentation run given to a command for image classifiers.
  case segmentationRun(path: String, command: String)

  public var description: String {
    switch self {
    case .missing(let path):
      return "\(path): no such file; is this the directory of a run that finished at least one epoch?"
    case .malformed(let path, let reason):
      return "\(path): not a valid safetensors checkpoint: \(reason)"
    case .doesNotFit(let path, let reason):
      return "\(path): does not fit this model: \(reason)"
    case .datasetMoved(let path, let id):
      return
        "the dataset this run was trained on is not at \(path) (id \(id)); pass --data with its new place"
    case .notExportable(let layer, let kind):
      return "layer \(layer) (\(kind)) has no ONNX equivalent in this build; export it as safetensors"
    case .segmentationRun(let path, let command):
      return "\(path) is a segmentation run; \(command) takes image classifiers only in this build"
    }
  }
}
