import CPNG
import CTurboJPEG

/// How a record's pixels are stored in a shard (`pack --encoding`): `raw` planar bytes, or a
/// PNG (lossless) or JPEG (lossy, `--jpeg-quality`) file decoded again at training time.
public enum RecordEncoding: String, CaseIterable, Codable, Sendable {
  case raw, png, jpeg

  /// The value in a shard header.
  var code: Int { Self.allCases.firstIndex(of: self)! }

  init?(code: Int) {
    guard Self.allCases.indices.contains(code) else { return nil }
    self = Self.allCases[code]
  }
}

/// Encodes records at pack time with libpng's simplified API and libjpeg-turbo's TurboJPEG
/// (JPEG without chroma subsampling: at 32×32 a 4:2:0 chroma plane would be 16×16).
public struct RecordEncoder {
  let encoding: RecordEncoding
  let jpegQuality: Int

  /// One record's stored bytes for a planar CHW image.
  func encode(_ planar: ArraySlice<UInt8>, channels: Int, height: Int, width: Int) throws -> [UInt8] {
    guard encoding != .raw else { return Array(planar) }
    let interleaved = RecordDecoder.interleave(planar, channels: channels, plane: height * width)
    return encoding == .png
      ? try Self.png(interleaved, channels: channels, height: height, width: width)
      : try jpeg(interleaved, channels: channels, height: height, width: width)
  }

  /// A PNG file of interleaved 8-bit gray (`channels` 1) or RGB (3) pixels.
  public static func png(_ pixels: [UInt8], channels: Int, height: Int, width: Int) throws -> [UInt8] {
    var image = png_image()
    image.version = cpng_image_version()
    (image.width, image.height) = (UInt32(width), UInt32(height))
    image.format = channels == 3 ? cpng_format_rgb() : cpng_format_gray()
    defer { png_image_free(&image) }
    var size = 0
    guard png_image_write_to_memory(&image, nil, &size, 0, pixels, 0, nil) != 0 else {
      throw Failure("libpng cannot size the image")
    }
    var output = [UInt8](repeating: 0, count: size)
    guard png_image_write_to_memory(&image, &output, &size, 0, pixels, 0, nil) != 0 else {
      throw Failure("libpng cannot encode the image")
    }
    return Array(output.prefix(size))
  }

  private func jpeg(_ pixels: [UInt8], channels: Int, height: Int, width: Int) throws -> [UInt8] {
    guard let handle = tjInitCompress() else { throw Failure("TurboJPEG cannot start") }
    defer { tjDestroy(handle) }
    var output: UnsafeMutablePointer<UInt8>?
    var size: UInt = 0
    let format = Int32(channels == 3 ? TJPF_RGB.rawValue : TJPF_GRAY.rawValue)
    let sampling = Int32(channels == 3 ? TJSAMP_444.rawValue : TJSAMP_GRAY.rawValue)
    let status = tjCompress2(
      handle, pixels, Int32(width), 0, Int32(height), format, &output, &size, sampling, Int32(jpegQuality), 0)
    guard status == 0, let output else { throw Failure(String(cString: tjGetErrorStr2(handle))) }
    defer { tjFree(output) }
    return Array(UnsafeBufferPointer(start: output, count: Int(size)))
  }

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
  }
}

/// Decodes stored records back to planar CHW pixels; one per thread (it keeps TurboJPEG's
/// handle and a scratch row buffer).
final class RecordDecoder {
  private var jpegHandle: tjhandle?
  private var scratch: [UInt8] = []

  deinit { if let jpegHandle { tjDestroy(jpegHandle) } }

  /// Writes the `channels×height×width` image `stored` holds; a record of another size or
  /// channel count, or undecodable bytes, is an error.
  func decode(
    _ stored: UnsafeRawBufferPointer, encoding: RecordEncoding, channels: Int, height: Int, width: Int,
    into target: UnsafeMutablePointer<UInt8>
  ) throws {
    let plane = height * width
    if encoding == .raw {
      guard stored.count == channels * plane else {
        throw RecordEncoder.Failure("it holds \(stored.count) bytes")
      }
      target.update(from: stored.bindMemory(to: UInt8.self).baseAddress!, count: stored.count)
      return
    }
    if scratch.count != channels * plane { scratch = [UInt8](repeating: 0, count: channels * plane) }
    if encoding == .png {
      try decodePNG(stored, channels: channels, height: height, width: width)
    } else {
      try decodeJPEG(stored, channels: channels, height: height, width: width)
    }
    for p in 0..<plane {
      for c in 0..<channels { target[c * plane + p] = scratch[p * channels + c] }
    }
  }

  private func decodePNG(_ stored: UnsafeRawBufferPointer, channels: Int, height: Int, width: Int) throws {
    var image = png_image()
    image.version = cpng_image_version()
    defer { png_image_free(&image) }
    guard png_image_begin_read_from_memory(&image, stored.baseAddress, stored.count) != 0 else {
      throw RecordEncoder.Failure("not a readable PNG")
    }
    guard (Int(image.width), Int(image.height)) == (width, height) else {
      throw RecordEncoder.Failure("its PNG is \(image.width)×\(image.height), not \(width)×\(height)")
    }
    image.format = channels == 3 ? cpng_format_rgb() : cpng_format_gray()
    let ok = scratch.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
    guard ok != 0 else { throw RecordEncoder.Failure("its PNG data is corrupt") }
  }

  private func decodeJPEG(_ stored: UnsafeRawBufferPointer, channels: Int, height: Int, width: Int) throws {
    if jpegHandle == nil { jpegHandle = tjInitDecompress() }
    guard let handle = jpegHandle else { throw RecordEncoder.Failure("TurboJPEG cannot start") }
    let bytes = stored.bindMemory(to: UInt8.self)
    var (jpegWidth, jpegHeight, sampling, colours): (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
    guard
      tjDecompressHeader3(
        handle, bytes.baseAddress, UInt(bytes.count), &jpegWidth, &jpegHeight, &sampling, &colours) == 0
    else { throw RecordEncoder.Failure("not a readable JPEG") }
    guard (Int(jpegWidth), Int(jpegHeight)) == (width, height) else {
      throw RecordEncoder.Failure("its JPEG is \(jpegWidth)×\(jpegHeight), not \(width)×\(height)")
    }
    let format = Int32(channels == 3 ? TJPF_RGB.rawValue : TJPF_GRAY.rawValue)
    let status = scratch.withUnsafeMutableBufferPointer {
      tjDecompress2(
        handle, bytes.baseAddress, UInt(bytes.count), $0.baseAddress, Int32(width), 0, Int32(height), format,
        0)
    }
    guard status == 0 else { throw RecordEncoder.Failure(String(cString: tjGetErrorStr2(handle))) }
  }

  /// Planar CHW to interleaved HWC.
  static func interleave(_ planar: ArraySlice<UInt8>, channels: Int, plane: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: planar.count)
    let base = planar.startIndex
    for c in 0..<channels {
      for p in 0..<plane { out[p * channels + c] = planar[base + c * plane + p] }
    }
    return out
  }
}
