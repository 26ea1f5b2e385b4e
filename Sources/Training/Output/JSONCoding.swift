import Foundation

/// The JSON conventions of every file a run writes (hparams.json, test.json): snake_case
/// keys, sorted, slashes unescaped, non-finite numbers as the strings "inf", "-inf", "nan".
enum RunJSON {
  static func encoder(pretty: Bool = true) -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting =
      pretty
      ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return encoder
  }

  /// A value of plain JSON types (dictionaries, arrays, strings, numbers) as compact text with
  /// the same conventions: keys sorted, slashes unescaped.
  static func text(_ value: Any) throws -> String {
    String(
      decoding: try JSONSerialization.data(
        withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]),
      as: UTF8.self)
  }

  /// Decodes `T` from the file at `path`; a missing or unreadable file is a `CheckpointError`
  /// naming it and `what` it should have been.
  static func decode<T: Decodable>(_ type: T.Type, from path: String, what: String) throws -> T {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CheckpointError.missing(path: path)
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    do {
      return try decoder.decode(type, from: data)
    } catch {
      throw CheckpointError.malformed(path: path, reason: "not \(what) (\(error))")
    }
  }
}
