import Foundation

/// A safetensors file (Hugging Face's format, read by `safetensors.numpy.load_file` and
/// PyTorch): an 8-byte little-endian header length `N`, `N` bytes of JSON mapping each tensor
/// name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data that
/// follows) plus an optional `"__metadata__"` map of strings, then the raw little-endian data.
/// We write float32 (`F32`) tensors only, in the given order, with the header padded by
/// spaces to a multiple of 8 bytes so every tensor starts aligned, and the metadata key
/// `crc32c` (see `checksum`), which reading checks when present.
public struct SafeTensors: Equatable, Sendable {
  /// The metadata key of the checksum.
  static let checksumKey = "crc32c"

  public struct Entry: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
      precondition(shape.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(shape)")
      self.name = name
      self.shape = shape
      self.values = values
    }
  }

  public var entries: [Entry]
  public var metadata: [String: String]

  public init(entries: [Entry], metadata: [String: String] = [:]) {
    self.entries = entries
    self.metadata = metadata
  }

  public subscript(name: String) -> Entry? { entries.first { $0.name == name } }

  /// The whole file.
  public func encoded() -> Data {
    var data = Data(capacity: entries.reduce(0) { $0 + $1.values.count * 4 })
    for entry in entries {
      for value in entry.values {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
      }
    }
    var fields: [String] = []
    var stored = metadata
    stored[Self.checksumKey] = Self.checksum(data: data, metadata: metadata)
    let pairs = stored.keys.sorted().map { "\(jsonString($0)):\(jsonString(stored[$0]!))" }
    fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
    var offset = 0
    for entry in entries {
      let end = offset + entry.values.count * 4
      fields.append(
        "\(jsonString(entry.name)):{\"dtype\":\"F32\",\"shape\":[\(entry.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}"
      )
      offset = end
    }
    var header = Data(("{" + fields.joined(separator: ",") + "}").utf8)
    header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
    var file = Data(capacity: 8 + header.count + offset)
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(header)
    file.append(data)
    return file
  }

  /// CRC-32C of the tensor data, then of every metadata key and value but the checksum's own
  /// (sorted by key, each followed by a NUL byte), as 8 lowercase hex digits: a flipped byte or
  /// an edited counter anywhere but the JSON's layout changes it.
  static func checksum<Bytes: Collection<UInt8>>(data: Bytes, metadata: [String: String]) -> String {
    var covered = [UInt8](data)
    for key in metadata.keys.sorted() where key != checksumKey {
      covered += Array(key.utf8) + [0] + Array(metadata[key]!.utf8) + [0]
    }
    return String(format: "%08x", CRC32C.checksum(covered))
  }

  /// Parses a file, checking every number of the header against the data; `path` names the
  /// file in errors.
  public init(data: Data, path: String) throws {
    func bad(_ reason: String) -> CheckpointError { .malformed(path: path, reason: reason) }
    let bytes = [UInt8](data)
    guard bytes.count >= 8 else {
      throw bad("the file is \(bytes.count) bytes, shorter than its 8-byte header length")
    }
    let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
    guard headerLength <= UInt64(bytes.count - 8) else {
      throw bad(
        "the header claims \(headerLength) bytes but the file has \(bytes.count - 8) after the length")
    }
    let headerEnd = 8 + Int(headerLength)
    guard
      let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) as? [String: Any]
    else { throw bad("the header is not a JSON object") }
    let dataBytes = bytes.count - headerEnd
    var metadata: [String: String] = [:]
    var ranges: [(name: String, shape: [Int], begin: Int, end: Int)] = []
    for (name, value) in object {
      if name == "__metadata__" {
        guard let map = value as? [String: String] else {
          throw bad("__metadata__ must map strings to strings")
        }
        metadata = map
        continue
      }
      guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
        let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
      else { throw bad("tensor \(name) lacks dtype, shape or data_offsets") }
      guard dtype == "F32" else { throw bad("tensor \(name) is \(dtype); imbal-dist reads F32 only") }
      guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataBytes
      else { throw bad("tensor \(name) lies outside the file's \(dataBytes) data bytes") }
      guard shape.reduce(1, *) * 4 == offsets[1] - offsets[0] else {
        throw bad("tensor \(name) has shape \(shape) but \(offsets[1] - offsets[0]) bytes")
      }
      ranges.append((name, shape, offsets[0], offsets[1]))
    }
    ranges.sort { $0.begin < $1.begin }
    var covered = 0
    for range in ranges {
      guard range.begin == covered else { throw bad("tensor \(range.name) overlaps another or leaves a gap") }
      covered = range.end
    }
    guard covered == dataBytes else { throw bad("\(dataBytes - covered) bytes after the last tensor") }
    if let stored = metadata.removeValue(forKey: Self.checksumKey),
      stored != Self.checksum(data: bytes[headerEnd...], metadata: metadata)
    {
      throw bad("its checksum does not match its contents (the file was damaged or edited)")
    }
    entries = ranges.map { range in
      let values = stride(from: headerEnd + range.begin, to: headerEnd + range.end, by: 4).map { at in
        Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) })
      }
      return Entry(name: range.name, shape: range.shape, values: values)
    }
    self.metadata = metadata
  }

  /// Reads and parses `path`.
  public init(contentsOf path: String) throws {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CheckpointError.missing(path: path)
    }
    try self.init(data: data, path: path)
  }
}

/// A JSON string literal for `text`.
func jsonString(_ text: String) -> String {
  String(data: try! JSONEncoder().encode(text), encoding: .utf8)!
}
