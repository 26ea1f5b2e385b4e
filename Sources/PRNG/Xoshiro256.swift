/// A small, fast, reproducible random number generator: xoshiro256** (Blackman & Vigna, 2018),
/// seeded through SplitMix64 so that nearby seeds give unrelated streams.
///
/// Every random choice in imbal-dist (weight initialisation, sampling, shuffles) goes through
/// this type with an explicit seed, so a run is reproducible bit for bit.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
  private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

  /// A generator for one named stream: `seed` is the user's seed, `stream` the coordinates
  /// that make this stream distinct (e.g. `[epoch, partition]`).
  public init(seed: UInt64, stream: [UInt64] = []) {
    var mixer = SplitMix64(state: seed)
    for coordinate in stream {
      mixer = SplitMix64(state: mixer.next() ^ (coordinate &* 0x9E37_79B9_7F4A_7C15))
    }
    s0 = mixer.next()
    s1 = mixer.next()
    s2 = mixer.next()
    s3 = mixer.next()
  }

  public mutating func next() -> UInt64 {
    let result = rotateLeft(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotateLeft(s3, 45)
    return result
  }

  /// A uniform Double in [0, 1) with 53 random bits.
  public mutating func nextUnitDouble() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// A standard normal sample (Box–Muller).
  public mutating func nextGaussian() -> Double {
    let u1 = 1.0 - nextUnitDouble()  // in (0, 1], so log is finite
    let u2 = nextUnitDouble()
    return (-2.0 * _log(u1)).squareRoot() * _cos(2.0 * Double.pi * u2)
  }

  /// A uniform integer in `0..<bound` without modulo bias (Lemire's method).
  public mutating func nextIndex(below bound: Int) -> Int {
    precondition(bound > 0, "bound must be positive")
    return Int(next(upperBound: UInt64(bound)))
  }
}

private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

/// SplitMix64 (Steele, Lea & Flood, 2014): the seeding generator recommended for xoshiro.
struct SplitMix64 {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
