import PRNG

/// The random transforms of a training image, in this order: zero-pad by `cropPadding` and crop
/// back at a random offset (the CIFAR recipe of He et al. 2016), a horizontal flip with
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

    public init() {}

    public static func == (a: Draw, b: Draw) -> Bool {
      (a.cropX, a.cropY, a.flip, a.brightness, a.contrast, a.saturation)
        == (b.cropX, b.cropY, b.flip, b.brightness, b.contrast, b.saturation)
        && a.cutoutCentre?.x == b.cutoutCentre?.x && a.cutoutCentre?.y == b.cutoutCentre?.y
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
    return result
  }
}
