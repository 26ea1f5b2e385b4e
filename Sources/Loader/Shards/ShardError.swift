/// A shard file that cannot be trusted, named with what is wrong and where.
public enum ShardError: Error, CustomStringConvertible, Equatable {
  case missing(path: String)
  case notAShard(path: String, found: [UInt8])
  case unsupportedVersion(path: String, version: UInt32)
  case truncated(path: String, expectedBytes: Int, foundBytes: Int)
  case trailingBytes(path: String, expectedBytes: Int, foundBytes: Int)
  case corruptHeader(path: String)
  case malformedHeader(path: String, detail: String)
  case corruptRecord(path: String, record: Int, reason: String)
  case labelOutOfRange(path: String, record: Int, label: Int, classes: Int)
  case countsDisagree(path: String, detail: String)
  case cannotWrite(path: String, reason: String)

  public var description: String {
    switch self {
    case .missing(let path):
      return "\(path): shard file is missing"
    case .notAShard(let path, let found):
      let text = String(
        decoding: found.map { (32...126).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
      return "\(path): not an imbal-dist shard (expected magic \"IMBSHARD\", found \"\(text)\")"
    case .unsupportedVersion(let path, let version):
      return
        "\(path): shard format version \(version) is not supported (this build reads versions \(ShardFormat.readableVersions.lowerBound)–\(ShardFormat.readableVersions.upperBound))"
    case .truncated(let path, let expected, let found):
      return "\(path): truncated shard: it should hold \(expected) bytes, the file has \(found)"
    case .trailingBytes(let path, let expected, let found):
      return "\(path): shard has \(found - expected) unexpected bytes after its last record"
    case .corruptHeader(let path):
      return "\(path): shard header is corrupt (CRC-32 mismatch)"
    case .malformedHeader(let path, let detail):
      return "\(path): shard header is malformed: \(detail)"
    case .corruptRecord(let path, let record, let reason):
      return "\(path): record \(record) is corrupt (\(reason))"
    case .labelOutOfRange(let path, let record, let label, let classes):
      return "\(path): record \(record) has label \(label), outside the \(classes) classes"
    case .countsDisagree(let path, let detail):
      return "\(path): \(detail)"
    case .cannotWrite(let path, let reason):
      return "\(path): cannot be written (\(reason))"
    }
  }
}
