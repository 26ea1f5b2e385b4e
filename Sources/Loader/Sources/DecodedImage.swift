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
        out[p] = UInt8(
          min(255, luma(interleaved[p * 3], interleaved[p * 3 + 1], interleaved[p * 3 + 2]).rounded()))
      }
    }
    return out
  }
}

/// An image file that could not be decoded.
public enum ImageError: Error, CustomStringConvertible, Equatable {
  case undecodable(path: String, reason: String)
  case tooLarge(path: String, width: Int, height: Int, limit: Int)
  case sizeMismatch(path: String, width: Int, height: Int, expectedWidth: Int, expectedHeight: Int)

  public var description: String {
    switch self {
    case .tooLarge(let path, let width, let height, let limit):
      return
        "\(path): the image declares \(width)×\(height) pixels, more than the limit of \(limit) (--max-image-pixels)"
    case .undecodable(let path, let reason):
      return "\(path): cannot be decoded (\(reason))"
    case .sizeMismatch(let path, let width, let height, let expectedWidth, let expectedHeight):
      return
        "\(path): image is \(width)×\(height), but the dataset's images are \(expectedWidth)×\(expectedHeight) "
        + "(the first image sets the size; give pack --image-size to resize every image)"
    }
  }
}

/// ITU-R BT.601 luma, `0.299 R + 0.587 G + 0.114 B`: RGB to grey as PIL's `convert("L")` and
/// torchvision's `Grayscale` compute it.
func luma(_ red: UInt8, _ green: UInt8, _ blue: UInt8) -> Double {
  0.299 * Double(red) + 0.587 * Double(green) + 0.114 * Double(blue)
}
