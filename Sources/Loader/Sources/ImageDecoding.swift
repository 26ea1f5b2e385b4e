import CPNG
import CTurboJPEG
import Foundation

/// A decoded image: `channels` (1 = grey, 3 = RGB) interleaved per pixel, rows top to bottom.
struct DecodedImage {
  let width: Int
  let height: Int
  let channels: Int
  let interleaved: [UInt8]

  /// Planar CHW pixels with `targetChannels` channels: grey is copied to R, G and B; RGB is
  /// turned into grey by ITU-R BT.601 luma, `0.299 R + 0.587 G + 0.114 B`.
  func planar(channels targetChannels: Int) -> [UInt8] {
    let plane = width * height
    var out = [UInt8](repeating: 0, count: targetChannels * plane)
    for p in 0..<plane {
      if channels == targetChannels {
        for c in 0..<channels { out[c * plane + p] = interleaved[p * channels + c] }
      } else if channels == 1 {
        for c in 0..<targetChannels { out[c * plane + p] = interleaved[p] }
      } else {
        let (r, g, b) = (
          Double(interleaved[p * 3]), Double(interleaved[p * 3 + 1]), Double(interleaved[p * 3 + 2])
        )
        out[p] = UInt8(min(255, (0.299 * r + 0.587 * g + 0.114 * b).rounded()))
      }
    }
    return out
  }
}

/// An image file that could not be decoded.
public enum ImageError: Error, CustomStringConvertible, Equatable {
  case notAnImage(path: String)
  case undecodable(path: String, reason: String)
  case sizeMismatch(path: String, width: Int, height: Int, expectedWidth: Int, expectedHeight: Int)

  public var description: String {
    switch self {
    case .notAnImage(let path):
      return "\(path): not a PNG or JPEG image"
    case .undecodable(let path, let reason):
      return "\(path): cannot be decoded (\(reason))"
    case .sizeMismatch(let path, let width, let height, let expectedWidth, let expectedHeight):
      return
        "\(path): image is \(width)×\(height), but the dataset's images are \(expectedWidth)×\(expectedHeight) "
        + "(the first image sets the size; resize the folder first)"
    }
  }
}

/// Decodes PNG (libpng's simplified API) and JPEG (TurboJPEG), told apart by their signatures.
enum ImageDecoder {
  static func decode(path: String) throws -> DecodedImage {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw DataFileError.missing(path: path)
    }
    let bytes = [UInt8](data)
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try decodePNG(bytes, path: path) }
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return try decodeJPEG(bytes, path: path) }
    throw ImageError.notAnImage(path: path)
  }

  private static func decodePNG(_ bytes: [UInt8], path: String) throws -> DecodedImage {
    var image = png_image()
    image.version = cpng_image_version()
    func failure() -> ImageError {
      let message = withUnsafeBytes(of: image.message) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      png_image_free(&image)
      return .undecodable(path: path, reason: message)
    }
    guard bytes.withUnsafeBytes({ png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }) != 0
    else {
      throw failure()
    }
    let color = image.format & cpng_format_flag_color() != 0
    image.format = color ? cpng_format_rgb() : cpng_format_gray()
    let channels = color ? 3 : 1
    var pixels = [UInt8](repeating: 0, count: Int(image.width) * Int(image.height) * channels)
    guard pixels.withUnsafeMutableBytes({ png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }) != 0
    else {
      throw failure()
    }
    return DecodedImage(
      width: Int(image.width), height: Int(image.height), channels: channels, interleaved: pixels)
  }

  private static func decodeJPEG(_ bytes: [UInt8], path: String) throws -> DecodedImage {
    guard let handle = tjInitDecompress() else {
      throw ImageError.undecodable(path: path, reason: "TurboJPEG failed to start")
    }
    defer { tjDestroy(handle) }
    func failure() -> ImageError { .undecodable(path: path, reason: String(cString: tjGetErrorStr2(handle))) }
    var width: Int32 = 0
    var height: Int32 = 0
    var subsampling: Int32 = 0
    var colorspace: Int32 = 0
    let size = UInt(bytes.count)
    guard
      bytes.withUnsafeBufferPointer({
        tjDecompressHeader3(handle, $0.baseAddress, size, &width, &height, &subsampling, &colorspace)
      }) == 0
    else { throw failure() }
    let grey = colorspace == Int32(TJCS_GRAY.rawValue)
    let channels = grey ? 1 : 3
    let format = Int32(grey ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue)
    var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * channels)
    let status = bytes.withUnsafeBufferPointer { source in
      pixels.withUnsafeMutableBufferPointer { out in
        tjDecompress2(handle, source.baseAddress, size, out.baseAddress, width, 0, height, format, 0)
      }
    }
    // TurboJPEG returns −1 for warnings too (e.g. a truncated but displayable file): reject both.
    guard status == 0 else { throw failure() }
    return DecodedImage(width: Int(width), height: Int(height), channels: channels, interleaved: pixels)
  }
}
