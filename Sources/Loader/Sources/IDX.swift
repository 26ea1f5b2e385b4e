/// A malformed IDX file (LeCun's MNIST format).
public enum IDXError: Error, CustomStringConvertible, Equatable {
  case badMagic(path: String, found: [UInt8])
  case unsupportedElementType(path: String, code: UInt8)
  case truncated(path: String, expectedBytes: Int, foundBytes: Int)
  case trailingBytes(path: String, expectedBytes: Int, foundBytes: Int)
  case unexpectedRank(path: String, expected: Int, found: Int)
  case dimensionsTooLarge(path: String, dimensions: [Int], foundBytes: Int)
  case emptyImages(path: String, height: Int, width: Int)

  public var description: String {
    switch self {
    case .badMagic(let path, let found):
      let hex = found.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
      return "\(path): not an IDX file (the magic number should be 00 00 08 0N, found \(hex))"
    case .unsupportedElementType(let path, let code):
      return
        "\(path): IDX element type 0x\(String(code, radix: 16)) is not supported (only 0x08, unsigned bytes)"
    case .truncated(let path, let expected, let found):
      return "\(path): truncated IDX file: its header promises \(expected) bytes, the file has \(found)"
    case .trailingBytes(let path, let expected, let found):
      return
        "\(path): IDX file has \(found - expected) unexpected bytes after the \(expected) its header describes"
    case .unexpectedRank(let path, let expected, let found):
      return "\(path): expected an IDX array of \(expected) dimensions, found \(found)"
    case .dimensionsTooLarge(let path, let dimensions, let found):
      return
        "\(path): its header declares dimensions \(dimensions.map(String.init).joined(separator: "×")), more bytes than the file's \(found)"
    case .emptyImages(let path, let height, let width):
      return "\(path): its images are \(height)×\(width) pixels; an image needs at least 1×1"
    }
  }
}

/// An array read from an IDX file: big-endian header `00 00 <type> <rank>`, `rank` 32-bit
/// dimension sizes, then the elements in row-major order. Only unsigned bytes (type 0x08).
public struct IDXArray: Sendable {
  public let dimensions: [Int]
  public let bytes: [UInt8]

  /// Parses `data` read from `path` (the path only names the file in errors).
  public init(parsing data: [UInt8], path: String) throws {
    guard data.count >= 4, data[0] == 0, data[1] == 0 else {
      throw IDXError.badMagic(path: path, found: Array(data.prefix(4)))
    }
    guard data[2] == 0x08 else { throw IDXError.unsupportedElementType(path: path, code: data[2]) }
    let rank = Int(data[3])
    let headerSize = 4 + 4 * rank
    guard rank > 0, data.count >= headerSize else {
      throw IDXError.truncated(path: path, expectedBytes: headerSize, foundBytes: data.count)
    }
    let dimensions = (0..<rank).map { d in
      (0..<4).reduce(0) { $0 << 8 | Int(data[4 + 4 * d + $1]) }
    }
    // The declared size, computed without overflow (a size no file can have is refused).
    var elements = 1
    var overflow = false
    for dimension in dimensions {
      let (product, overflowed) = elements.multipliedReportingOverflow(by: dimension)
      (elements, overflow) = (product, overflow || overflowed)
    }
    let (expected, beyond) = headerSize.addingReportingOverflow(elements)
    guard !overflow, !beyond else {
      throw IDXError.dimensionsTooLarge(path: path, dimensions: dimensions, foundBytes: data.count)
    }
    if data.count < expected {
      throw IDXError.truncated(path: path, expectedBytes: expected, foundBytes: data.count)
    }
    if data.count > expected {
      throw IDXError.trailingBytes(path: path, expectedBytes: expected, foundBytes: data.count)
    }
    self.dimensions = dimensions
    bytes = Array(data[headerSize...])
  }

  /// Reads and parses an IDX file, gzipped or not.
  public init(contentsOf path: String) throws {
    try self.init(parsing: try readPossiblyGzippedFile(at: path), path: path)
  }
}

extension String {
  /// The text right-aligned in `width` characters (hex digits with zeros, table cells with spaces).
  public func leftPadded(to width: Int, with pad: Character = "0") -> String {
    count >= width ? self : String(repeating: pad, count: width - count) + self
  }
}
