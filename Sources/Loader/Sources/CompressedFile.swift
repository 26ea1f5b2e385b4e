import CZlib

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A data file that could not be read.
public enum DataFileError: Error, CustomStringConvertible, Equatable {
  case missing(path: String)
  case unreadable(path: String, reason: String)
  case corruptCompression(path: String, reason: String)

  public var description: String {
    switch self {
    case .missing(let path):
      return "\(path): no such file"
    case .unreadable(let path, let reason):
      return "\(path): cannot be read (\(reason))"
    case .corruptCompression(let path, let reason):
      return "\(path): the gzip stream is damaged or cut short (\(reason))"
    }
  }
}

/// Reads a whole file, transparently inflating gzip (zlib's `gzread` passes plain files
/// through), so `train-images-idx3-ubyte` and `train-images-idx3-ubyte.gz` read the same.
public func readPossiblyGzippedFile(at path: String) throws -> [UInt8] {
  guard access(path, F_OK) == 0 else { throw DataFileError.missing(path: path) }
  guard let file = gzopen(path, "rb") else {
    throw DataFileError.unreadable(path: path, reason: String(cString: strerror(errno)))
  }
  defer { gzclose(file) }
  gzbuffer(file, 1 << 18)
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 1 << 20)
  while true {
    let read = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
    var code: Int32 = 0
    let message = gzerror(file, &code)
    if read < 0 || (code != Z_OK && code != Z_STREAM_END) {
      let reason = message.map { String(cString: $0) } ?? "zlib error \(code)"
      throw DataFileError.corruptCompression(path: path, reason: reason)
    }
    if read == 0 { break }
    bytes.append(contentsOf: chunk[0..<Int(read)])
  }
  return bytes
}
