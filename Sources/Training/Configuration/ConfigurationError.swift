/// A configuration that cannot be run, said in terms of the options the user wrote.
public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
  case unknownOption(String, valid: [String])
  case wrongType(option: String, expected: String)
  case invalidValue(option: String, value: String, expected: String)
  /// A combination or range the trainer refuses, e.g. `--epochs must be at least 1 (got 0)`.
  case invalid(String)

  public var description: String {
    switch self {
    case .unknownOption(let key, let valid):
      return "unknown option \"\(key)\"; valid options are \(valid.joined(separator: ", "))"
    case .wrongType(let option, let expected):
      return "option \"\(option)\" takes \(expected)"
    case .invalidValue(let option, let value, let expected):
      return "option \"\(option)\" cannot be \"\(value)\"; it takes \(expected)"
    case .invalid(let message):
      return message
    }
  }
}
