import CPNG
import Foundation

/// A segmentation label mask file: the samples of a palette PNG (its palette indices, as VOC's
/// `SegmentationClass`) or of a grey PNG of at most 8 bits, read untransformed by libpng, one
/// class index per pixel (`ShardFormat.ignoreLabel`: no class).
public struct LabelMask: Sendable {
  public let width: Int
  public let height: Int
  /// `height × width` class indices, row by row.
  public let labels: [UInt8]

  /// Reads the mask at `path`; one declaring more than `maxPixels` pixels is refused before
  /// anything is allocated. Errors name the file.
  public init(path: String, maxPixels: Int) throws {
    var (width, height): (UInt32, UInt32) = (0, 0)
    var message = [CChar](repeating: 0, count: 320)
    guard let pixels = cpng_read_label_mask(path, UInt(maxPixels), &width, &height, &message, message.count)
    else {
      let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw ImageError.undecodable(path: path, reason: reason)
    }
    defer { free(pixels) }
    (self.width, self.height) = (Int(width), Int(height))
    labels = Array(UnsafeBufferPointer(start: pixels, count: self.width * self.height))
  }
}
