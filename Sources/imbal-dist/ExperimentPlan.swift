import Foundation
import Training
import Yams

/// An error in a plan file, for the user: which file, which key, what would have been valid.
struct PlanError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// `train`'s options written as YAML (`--config plan.yaml`, and a sweep's `base` and `grid`),
/// decoded straight into a `TrainingConfiguration`, whose Codable names every option
/// (`batch-size: 64`, `loss: ldam`, `sync-bn: true`): a file means exactly what the same
/// flags mean, and `hparams.json` uses the same keys.
enum PlanFile {
  /// The top-level mapping of the YAML file at `path`, in file order.
  static func mapping(_ path: String) throws -> [(key: String, value: Node)] {
    guard let data = FileManager.default.contents(atPath: path),
      let text = String(data: data, encoding: .utf8)
    else { throw PlanError("\(path): cannot be read") }
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch {
      throw PlanError("\(path): not valid YAML (\(error))")
    }
    guard let mapping = root?.mapping else {
      throw PlanError("\(path): the file must be a map of option names to values")
    }
    return try mapping.map { key, value in
      guard let name = key.string else { throw PlanError("\(path): every key must be an option name") }
      return (name, value)
    }
  }

  /// The configuration that `options` (option name → one value) describe, the defaults for
  /// the rest; every error names `file`.
  static func configuration(_ options: [(key: String, value: Node)], file: String) throws
    -> TrainingConfiguration
  {
    for (key, value) in options where value.scalar == nil {
      throw PlanError("\(file): option \"\(key)\" takes one value, not a list or a map")
    }
    do {
      let yaml = try Yams.serialize(node: .mapping(.init(options.map { (Node($0.key), $0.value) })))
      return try YAMLDecoder().decode(TrainingConfiguration.self, from: yaml)
    } catch {
      throw PlanError("\(file): \(configurationError(in: error) ?? error)")
    }
  }

  /// The `ConfigurationError` a decoder wrapped (Yams reports a decoding type's own error as
  /// corrupted data with it underneath).
  private static func configurationError(in error: Error) -> ConfigurationError? {
    if let error = error as? ConfigurationError { return error }
    guard case DecodingError.dataCorrupted(let context) = error, let underlying = context.underlyingError
    else { return nil }
    return configurationError(in: underlying)
  }
}
