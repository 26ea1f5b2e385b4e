/// The shape of a batch of feature maps in NCHW order: `batch` images, each `channels`
/// planes of `height` × `width`. A batch of vectors is `(batch, features, 1, 1)`.
public struct Shape: Equatable, Hashable, Sendable, CustomStringConvertible {
  public var batch: Int
  public var channels: Int
  public var height: Int
  public var width: Int

  public init(batch: Int, channels: Int, height: Int = 1, width: Int = 1) {
    precondition(batch >= 0 && channels > 0 && height > 0 && width > 0, "invalid shape")
    self.batch = batch
    self.channels = channels
    self.height = height
    self.width = width
  }

  /// Elements of one image (C·H·W).
  public var perImage: Int { channels * height * width }
  /// Elements of one channel plane (H·W).
  public var plane: Int { height * width }
  /// All elements (N·C·H·W).
  public var count: Int { batch * perImage }

  /// The same per-image shape with another batch size.
  public func with(batch: Int) -> Shape {
    Shape(batch: batch, channels: channels, height: height, width: width)
  }

  /// The shape after a `kernel`-wide window moved by `stride` over the zero-padded planes
  /// (convolution and pooling alike), with `channels` output channels; traps, naming `layer`,
  /// when the window does not fit.
  public func windowed(kernel: Int, stride: Int, padding: Int = 0, channels: Int? = nil, layer: String)
    -> Shape
  {
    let outputHeight = (height + 2 * padding - kernel) / stride + 1
    let outputWidth = (width + 2 * padding - kernel) / stride + 1
    precondition(
      height + 2 * padding >= kernel && width + 2 * padding >= kernel,
      "\(layer): input \(self) is smaller than the window")
    return Shape(batch: batch, channels: channels ?? self.channels, height: outputHeight, width: outputWidth)
  }

  public var description: String { "\(batch)×\(channels)×\(height)×\(width)" }
}
