extension Xoshiro256 {
  /// A Gamma(`shape`, 1) sample by Marsaglia & Tsang (ACM TOMS 2000): rejection from a cubed
  /// normal for `shape ≥ 1`; below 1, Gamma(shape + 1) · U^{1/shape} (their section 6).
  public mutating func nextGamma(shape: Double) -> Double {
    precondition(shape > 0, "the Gamma shape must be positive")
    if shape < 1 {
      let u = 1.0 - nextUnitDouble()  // in (0, 1]
      return nextGamma(shape: shape + 1) * _exp(_log(u) / shape)
    }
    let d = shape - 1.0 / 3
    let c = 1 / (9 * d).squareRoot()
    while true {
      let x = nextGaussian()
      let cubeRoot = 1 + c * x
      guard cubeRoot > 0 else { continue }
      let v = cubeRoot * cubeRoot * cubeRoot
      let u = 1.0 - nextUnitDouble()
      if _log(u) < 0.5 * x * x + d - d * v + d * _log(v) { return d * v }
    }
  }

  /// A Beta(`a`, `b`) sample, `X / (X + Y)` with X ~ Gamma(a), Y ~ Gamma(b): the mixing weight of
  /// mixup and CutMix.
  public mutating func nextBeta(_ a: Double, _ b: Double) -> Double {
    let x = nextGamma(shape: a)
    let y = nextGamma(shape: b)
    guard x + y > 0 else { return nextUnitDouble() < a / (a + b) ? 1 : 0 }  // both underflowed
    return x / (x + y)
  }
}
