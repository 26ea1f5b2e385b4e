import PRNG

/// Mixed-sample augmentation of a training batch. Each image `a` gets a partner `b`: mixup
/// (Zhang et al., ICLR 2018) blends them, `x = λ x_a + (1 − λ) x_b`; CutMix (Yun et al., ICCV
/// 2019) pastes `b`'s box of area share ≈ `1 − λ` into `a` and sets λ to the share `a` keeps;
/// Remix (Chou et al., ECCV-W 2020) blends as mixup but gives the whole label to the minority
/// image, `λ_y = 0` when `n_a / n_b ≥ κ` and `λ < τ`, `λ_y = 1` when `n_a / n_b ≤ 1/κ` and
/// `1 − λ < τ`, else `λ_y = λ`. λ ~ Beta(α, α), one per step, as in the papers' code; the
/// partner is a random permutation of each training shard's share of the step, so a rank
/// mixes only images it holds and the draws are the same for any rank count.
public struct Mixing: Sendable, Equatable {
  public enum Kind: String, CaseIterable, Codable, Sendable {
    case none, mixup, cutmix, remix
  }

  public var kind = Kind.none
  /// α of Beta(α, α).
  public var alpha = 1.0
  /// Remix's κ (a pair's class-count ratio from which the label goes to the minority) and τ.
  public var remixKappa = 3.0
  public var remixTau = 0.5

  public init(kind: Kind = .none, alpha: Double = 1) { (self.kind, self.alpha) = (kind, alpha) }

  /// Whether images are mixed at all.
  public var mixes: Bool { kind != .none }

  /// One step's choices: the pixel share of each image's own content, and CutMix's box.
  public struct Draw: Equatable, Sendable {
    public var lambda: Double
    public var box: Augmentation.Box?

    public init(lambda: Double, box: Augmentation.Box? = nil) { (self.lambda, self.box) = (lambda, box) }
  }

  /// The draw of step `step` of `epoch` for `height`×`width` images.
  public func draw(seed: UInt64, epoch: Int, step: Int, height: Int, width: Int) -> Draw {
    var rng = Xoshiro256(seed: seed, stream: [0x313, UInt64(epoch), UInt64(step)])
    let lambda = rng.nextBeta(alpha, alpha)
    guard kind == .cutmix else { return Draw(lambda: lambda) }
    let box = Self.cutMixBox(lambda: lambda, height: height, width: width, rng: &rng)
    return Draw(lambda: 1 - Double(box.width * box.height) / Double(height * width), box: box)
  }

  /// CutMix's box (Yun et al.'s `rand_bbox`): sides `⌊H √(1 − λ)⌋` and `⌊W √(1 − λ)⌋` about a
  /// uniform centre, clipped at the border.
  static func cutMixBox(lambda: Double, height: Int, width: Int, rng: inout Xoshiro256) -> Augmentation.Box {
    let ratio = (1 - lambda).squareRoot()
    let (cutHeight, cutWidth) = (Int(Double(height) * ratio), Int(Double(width) * ratio))
    let (centreY, centreX) = (rng.nextIndex(below: height), rng.nextIndex(below: width))
    let (y0, y1) = (max(centreY - cutHeight / 2, 0), min(centreY + cutHeight / 2, height))
    let (x0, x1) = (max(centreX - cutWidth / 2, 0), min(centreX + cutWidth / 2, width))
    return Augmentation.Box(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
  }

  /// Each of a shard's `count` images' partner in step `step` (a uniform permutation, Fisher–Yates).
  public func partners(seed: UInt64, epoch: Int, step: Int, shard: Int, count: Int) -> [Int] {
    var rng = Xoshiro256(seed: seed, stream: [0x314, UInt64(epoch), UInt64(step), UInt64(shard)])
    var order = Array(0..<count)
    for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextIndex(below: i + 1)) }
    return order
  }

  /// The weight of image `a`'s class when mixed with `b` (`λ_y`), from the classes' training counts.
  public func labelWeight(_ draw: Draw, counts: (a: Int, b: Int)) -> Float {
    let lambda = draw.lambda
    guard kind == .remix else { return Float(lambda) }
    let ratio = Double(counts.a) / Double(max(counts.b, 1))
    if ratio >= remixKappa && lambda < remixTau { return 0 }
    if ratio <= 1 / remixKappa && 1 - lambda < remixTau { return 1 }
    return Float(lambda)
  }

  /// Mixes `count` normalised images in place, image `i` with image `partners[i]`; `scratch`
  /// holds `count` images (the originals, copied there first).
  public func mix(
    _ images: UnsafeMutablePointer<Float>, count: Int, channels: Int, height: Int, width: Int,
    partners: [Int], draw: Draw, scratch: UnsafeMutablePointer<Float>
  ) {
    let size = channels * height * width
    scratch.update(from: images, count: count * size)
    for i in 0..<count {
      let (target, partner) = (images + i * size, scratch + partners[i] * size)
      if let box = draw.box {
        for c in 0..<channels {
          for y in box.y..<(box.y + box.height) {
            let row = (c * height + y) * width + box.x
            (target + row).update(from: partner + row, count: box.width)
          }
        }
      } else {
        let (a, b) = (Float(draw.lambda), Float(1 - draw.lambda))
        let own = scratch + i * size
        for k in 0..<size { target[k] = a * own[k] + b * partner[k] }
      }
    }
  }
}
