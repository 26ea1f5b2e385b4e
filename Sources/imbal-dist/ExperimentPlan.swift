import ArgumentParser
import Foundation
import Yams

/// An error in a plan file, for the user: which file, which key, what would have been valid.
struct PlanError: Error, CustomStringConvertible {
  let description: String
}

/// Options of `imbal-dist train` written as YAML (`--config plan.yaml`, and the `base` and
/// `grid` of `imbal-dist sweep`): each key is an option's long name without the dashes
/// (`batch-size: 64`, `loss: ldam`), a flag takes `true`/`false`. They become command-line
/// arguments, so a file means exactly what the same flags would.
enum PlanOptions {
  /// The long option names `train` accepts, read from its own help so the two never differ.
  static var validKeys: [String] {
    let help = Train.helpMessage(columns: 10_000)
    let names = help.split(whereSeparator: { " ,\n[]()<>".contains($0) }).filter { $0.hasPrefix("--") }
      .map { String($0.dropFirst(2)) }.map { $0.split(separator: "=").first.map(String.init) ?? $0 }
    let wellFormed = names.filter { name in
      !name.isEmpty && name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } && name.first != "-"
    }
    return Array(Set(wellFormed)).filter { !["help", "config", "resume", "version"].contains($0) }.sorted()
  }

  /// `--key value` pairs (or `--flag`) for every key of `options`, in key order.
  static func arguments(_ options: [String: Any], file: String) throws -> [String] {
    let valid = Set(validKeys)
    var arguments: [String] = []
    for key in options.keys.sorted() {
      guard valid.contains(key) else {
        throw PlanError(
          description:
            "\(file): unknown option \"\(key)\"; valid options are \(validKeys.joined(separator: ", "))")
      }
      switch options[key] {
      case let flag as Bool:
        if flag { arguments.append("--\(key)") }
      case let value?:
        guard !(value is [Any]) && !(value is [String: Any]) else {
          throw PlanError(description: "\(file): option \"\(key)\" takes one value, not a list or a map")
        }
        arguments += ["--\(key)", "\(value)"]
      case nil:
        break
      }
    }
    return arguments
  }

  /// Reads a YAML file whose top level is a map.
  static func load(_ path: String) throws -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: path),
      let text = String(data: data, encoding: .utf8)
    else {
      throw PlanError(description: "\(path): cannot be read")
    }
    let parsed: Any?
    do {
      parsed = try Yams.load(yaml: text)
    } catch {
      throw PlanError(description: "\(path): not valid YAML (\(error))")
    }
    guard let map = parsed as? [String: Any] else {
      throw PlanError(description: "\(path): the file must be a map of option names to values")
    }
    return map
  }
}
