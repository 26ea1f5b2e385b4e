import Foundation
import PRNG

/// The random transforms of a training image, in this order: zero-pad by `cropPadding` and crop
/// back at a random offset (the CIFAR recipe of He et al. 2016) — or instead, with
/// `resizedCropScale`, a random-resized crop (Szegedy et al. 2015; torchvision's
/// `RandomResizedCrop`: a box of a random share of the area and aspect ratio, scaled back to
/// the image's size by bilinear interpolation) — a horizontal flip with
/// probability ½, colour jitter (torchvision's `ColorJitter` factors, applied in a fixed
/// order), then Cutout (DeVries & Taylor 2017): a square of side `cutout` at a random centre,
/// clipped at the border, set to 0 after normalisation (the channel mean). Every draw comes
/// from the stream `(seed, epoch, shard, draw index)`, so neither the rank count nor the
/// loader's threads change what is trained.
public struct Augmentation: Sendable, Equatable {
  public var cropPadding = 0
  public var horizontalFlip = false
  /// Factors drawn uniformly from `[max(0, 1 − x), 1 + x]`: brightness scales the pixels,
  /// contrast blends them with the image's mean grey, saturation with each pixel's grey
  /// (RGB only; BT.601 luma).
  public var brightness = 0.0
  public var contrast = 0.0
  public var saturation = 0.0
  /// The side of the Cutout square in pixels (0: none).
  public var cutout = 0
  /// The random-resized crop's share of the image's area and its aspect ratio (width over
  /// height), each drawn uniformly (the ratio on a log scale); `nil`: none.
  public var resizedCropScale: ClosedRange<Double>?
  public var resizedCropRatio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3)

  public init() {}

  /// Whether every image passes through unchanged.
  public var isIdentity: Bool { self == Augmentation() }

  /// The choices made for one image.
  public struct Draw: Equatable, Sendable {
    /// The crop's top-left corner in the padded image, `0…2·cropPadding` each.
    public var cropX = 0
    public var cropY = 0
    public var flip = false
    public var brightness = 1.0
    public var contrast = 1.0
    public var saturation = 1.0
    /// The Cutout square's centre (`nil`: none).
    public var cutoutCentre: (x: Int, y: Int)?
    /// The random-resized crop's box in the image (`nil`: none).
    public var resizedCrop: Box?

    public init() {}

    public static func == (a: Draw, b: Draw) -> Bool {
      (a.cropX, a.cropY, a.flip, a.brightness, a.contrast, a.saturation)
        == (b.cropX, b.cropY, b.flip, b.brightness, b.contrast, b.saturation)
        && a.cutoutCentre?.x == b.cutoutCentre?.x && a.cutoutCentre?.y == b.cutoutCentre?.y
        && a.resizedCrop == b.resizedCrop
    }
  }

  /// A rectangle of pixels: its top-left corner and its size.
  public struct Box: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
      (self.x, self.y, self.width, self.height) = (x, y, width, height)
    }
  }

  /// The draw of image `draw` of `shard` in `epoch`; always the same number of random numbers.
  public func draw(seed: UInt64, epoch: Int, shard: Int, draw index: Int, height: Int, width: Int) -> Draw {
    var rng = Xoshiro256(seed: seed, stream: [0xA06, UInt64(epoch), UInt64(shard), UInt64(index)])
    func factor(_ x: Double) -> Double {
      let u = rng.nextUnitDouble()
      return x > 0 ? max(0, 1 - x) + u * (1 + x - max(0, 1 - x)) : 1
    }
    var result = Draw()
    result.cropX = rng.nextIndex(below: 2 * cropPadding + 1)
    result.cropY = rng.nextIndex(below: 2 * cropPadding + 1)
    result.flip = horizontalFlip && rng.nextUnitDouble() < 0.5
    result.brightness = factor(brightness)
    result.contrast = factor(contrast)
    result.saturation = factor(saturation)
    let centre = (x: rng.nextIndex(below: width), y: rng.nextIndex(below: height))
    result.cutoutCentre = cutout > 0 ? centre : nil
    if let scale = resizedCropScale {
      var boxRNG = Xoshiro256(seed: seed, stream: [0xA07, UInt64(epoch), UInt64(shard), UInt64(index)])
      result.resizedCrop = Self.resizedCropBox(
        height: height, width: width, scale: scale, ratio: resizedCropRatio, rng: &boxRNG)
    }
    return result
  }

  /// torchvision's `RandomResizedCrop.get_params`: up to ten tries of an area share from
  /// `scale` and a log-uniform aspect ratio from `ratio` whose box fits, placed uniformly; else
  /// the centred box of the whole image clamped to `ratio`.
  static func resizedCropBox(
    height: Int, width: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>, rng: inout Xoshiro256
  ) -> Box {
    let area = Double(height * width)
    let logRatio = log(ratio.lowerBound)...log(ratio.upperBound)
    for _ in 0..<10 {
      let target = area * (scale.lowerBound + rng.nextUnitDouble() * (scale.upperBound - scale.lowerBound))
      let aspect = exp(
        logRatio.lowerBound + rng.nextUnitDouble() * (logRatio.upperBound - logRatio.lowerBound))
      let w = Int((target * aspect).squareRoot().rounded())
      let h = Int((target / aspect).squareRoot().rounded())
      if w > 0 && w <= width && h > 0 && h <= height {
        let y = rng.nextIndex(below: height - h + 1)
        let x = rng.nextIndex(below: width - w + 1)
        return Box(x: x, y: y, width: w, height: h)
      }
    }
    let imageRatio = Double(width) / Double(height)
    var (w, h) = (width, height)
    if imageRatio < ratio.lowerBound {
      h = Int((Double(w) / ratio.lowerBound).rounded())
    } else if imageRatio > ratio.upperBound {
      w = Int((Double(h) * ratio.upperBound).rounded())
    }
    return Box(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
  }
}
