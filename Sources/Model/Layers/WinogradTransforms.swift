/// The one-dimensional transforms of Winograd's F(4×4, 3×3) (Lavin & Gray 2016, section 4.2,
/// interpolation points 0, ±1, ±2 and ∞), each applied to vectors whose lanes are independent
/// tiles or channel pairs. A tile's 2-D transform is one of these over its columns, then over
/// the rows of the result.
enum WinogradTransform {
  /// `G g`, `G = [[¼, 0, 0], [−⅙, −⅙, −⅙], [−⅙, ⅙, −⅙], [1⁄24, 1⁄12, ⅙], [1⁄24, −1⁄12, ⅙], [0, 0, 1]]`.
  @inline(__always)
  static func filter(_ g0: SIMD4<Float>, _ g1: SIMD4<Float>, _ g2: SIMD4<Float>) -> Six {
    let (even, odd) = (g0 + g2, g1)
    let quarter = g0 / 4 + g2
    return Six(
      g0 / 4, -(even + odd) / 6, -(even - odd) / 6, (quarter / 6 + odd / 12), (quarter / 6 - odd / 12), g2)
  }

  /// `Gᵀ u`, the adjoint of `filter`.
  @inline(__always)
  static func filterAdjoint(_ u: Six) -> Three {
    let (sum12, difference12) = (u.v1 + u.v2, u.v2 - u.v1)
    let (sum34, difference34) = (u.v3 + u.v4, u.v3 - u.v4)
    return Three(
      u.v0 / 4 - sum12 / 6 + sum34 / 24, difference12 / 6 + difference34 / 12, sum34 / 6 - sum12 / 6 + u.v5)
  }

  /// `Bᵀ d`, `Bᵀ = [[4, 0, −5, 0, 1, 0], [0, −4, −4, 1, 1, 0], [0, 4, −4, −1, 1, 0],
  /// [0, −2, −1, 2, 1, 0], [0, 2, −1, −2, 1, 0], [0, 4, 0, −5, 0, 1]]`.
  @inline(__always)
  static func input(_ d: Six) -> Six {
    let (a, b) = (d.v4 - 4 * d.v2, d.v3 - 4 * d.v1)
    let (c, e) = (d.v4 - d.v2, 2 * (d.v3 - d.v1))
    return Six(4 * d.v0 - 5 * d.v2 + d.v4, a + b, a - b, c + e, c - e, 4 * d.v1 - 5 * d.v3 + d.v5)
  }

  /// `B v`, the adjoint of `input`.
  @inline(__always)
  static func inputAdjoint(_ v: Six) -> Six {
    let (sum12, difference12) = (v.v1 + v.v2, v.v2 - v.v1)
    let (sum34, difference34) = (v.v3 + v.v4, v.v3 - v.v4)
    return Six(
      4 * v.v0, 4 * (difference12 + v.v5) - 2 * difference34, -5 * v.v0 - 4 * sum12 - sum34,
      2 * difference34 - difference12 - 5 * v.v5, v.v0 + sum12 + sum34, v.v5)
  }

  /// `Aᵀ m`, `Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 0], [0, 1, 1, 4, 4, 0],
  /// [0, 1, −1, 8, −8, 1]]`.
  @inline(__always)
  static func output(_ m: Six) -> Four {
    let (sum12, difference12) = (m.v1 + m.v2, m.v1 - m.v2)
    let (sum34, difference34) = (m.v3 + m.v4, m.v3 - m.v4)
    return Four(
      m.v0 + sum12 + sum34, difference12 + 2 * difference34, sum12 + 4 * sum34,
      difference12 + 8 * difference34 + m.v5)
  }

  /// `A y`, the adjoint of `output`.
  @inline(__always)
  static func outputAdjoint(_ y: Four) -> Six {
    let (even, odd) = (y.v0 + y.v2, y.v1 + y.v3)
    let (even4, odd2) = (y.v0 + 4 * y.v2, 2 * y.v1 + 8 * y.v3)
    return Six(y.v0, even + odd, even - odd, even4 + odd2, even4 - odd2, y.v3)
  }

  /// Four floats at `at`.
  @inline(__always)
  static func load(_ at: UnsafePointer<Float>) -> SIMD4<Float> {
    UnsafeRawPointer(at).loadUnaligned(as: SIMD4<Float>.self)
  }

  /// Two floats at `at` and two at `at + upperHalf` (four consecutive ones when that is 2).
  @inline(__always)
  static func load(_ at: UnsafePointer<Float>, upperHalf: Int) -> SIMD4<Float> {
    if upperHalf == 2 { return load(at) }
    let raw = UnsafeRawPointer(at)
    return SIMD4(
      lowHalf: raw.loadUnaligned(as: SIMD2<Float>.self),
      highHalf: raw.loadUnaligned(fromByteOffset: 4 * upperHalf, as: SIMD2<Float>.self))
  }

  /// `value` at `at` as `load(_:upperHalf:)` reads it.
  @inline(__always)
  static func store(_ value: SIMD4<Float>, at: UnsafeMutablePointer<Float>, upperHalf: Int) {
    if upperHalf == 2 { return store(value, at: at) }
    let raw = UnsafeMutableRawPointer(at)
    raw.storeBytes(of: value.lowHalf, as: SIMD2<Float>.self)
    raw.storeBytes(of: value.highHalf, toByteOffset: 4 * upperHalf, as: SIMD2<Float>.self)
  }

  /// The first `count` floats at `at` (all four when `count` ≥ 4), the other lanes zero.
  @inline(__always)
  static func load(_ at: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
    switch count {
    case 4...: load(at)
    case 3: SIMD4(at[0], at[1], at[2], 0)
    case 2: SIMD4(at[0], at[1], 0, 0)
    case 1: SIMD4(at[0], 0, 0, 0)
    default: SIMD4()
    }
  }

  /// The first `count` lanes of `value` at `out`.
  @inline(__always)
  static func store(_ value: SIMD4<Float>, at out: UnsafeMutablePointer<Float>, count: Int = 4) {
    if count == 4 {
      UnsafeMutableRawPointer(out).storeBytes(of: value, as: SIMD4<Float>.self)
    } else {
      for i in 0..<count { out[i] = value[i] }
    }
  }
}

/// Six vectors: a column or row of a transformed 6×6 tile.
struct Six {
  var v0, v1, v2, v3, v4, v5: SIMD4<Float>

  @inline(__always)
  init(
    _ v0: SIMD4<Float>, _ v1: SIMD4<Float>, _ v2: SIMD4<Float>, _ v3: SIMD4<Float>, _ v4: SIMD4<Float>,
    _ v5: SIMD4<Float>
  ) {
    (self.v0, self.v1, self.v2, self.v3, self.v4, self.v5) = (v0, v1, v2, v3, v4, v5)
  }

  @inline(__always)
  init(_ element: (Int) -> SIMD4<Float>) {
    self.init(element(0), element(1), element(2), element(3), element(4), element(5))
  }

  /// The six vectors at `base`, `stride` floats apart; each vector's lanes 2 and 3 from
  /// `upperHalf` floats past its lanes 0 and 1 when that is not 2.
  @inline(__always)
  init(at base: UnsafePointer<Float>, stride: Int, upperHalf: Int = 2) {
    self.init { WinogradTransform.load(base + $0 * stride, upperHalf: upperHalf) }
  }

  /// The first `lanes` lanes of each vector, the others zero.
  @inline(__always)
  func keeping(lanes: Int) -> Six {
    if lanes >= 4 { return self }
    let drop = SIMD4<Int32>(0, 1, 2, 3) .>= Int32(lanes)
    return Six { self[$0].replacing(with: 0, where: drop) }
  }

  /// The first `count` lanes of each vector at `base`, `stride` floats apart.
  @inline(__always)
  func store(at base: UnsafeMutablePointer<Float>, stride: Int, count: Int = 4) {
    if count == 4 {
      WinogradTransform.store(v0, at: base)
      WinogradTransform.store(v1, at: base + stride)
      WinogradTransform.store(v2, at: base + 2 * stride)
      WinogradTransform.store(v3, at: base + 3 * stride)
      WinogradTransform.store(v4, at: base + 4 * stride)
      WinogradTransform.store(v5, at: base + 5 * stride)
    } else {
      for i in 0..<6 { WinogradTransform.store(self[i], at: base + i * stride, count: count) }
    }
  }

  @inline(__always)
  subscript(i: Int) -> SIMD4<Float> {
    switch i {
    case 0: v0
    case 1: v1
    case 2: v2
    case 3: v3
    case 4: v4
    default: v5
    }
  }
}

/// Four vectors: a column or row of a 4×4 output tile.
struct Four {
  var v0, v1, v2, v3: SIMD4<Float>

  @inline(__always)
  init(_ v0: SIMD4<Float>, _ v1: SIMD4<Float>, _ v2: SIMD4<Float>, _ v3: SIMD4<Float>) {
    (self.v0, self.v1, self.v2, self.v3) = (v0, v1, v2, v3)
  }

  @inline(__always)
  init(_ element: (Int) -> SIMD4<Float>) {
    self.init(element(0), element(1), element(2), element(3))
  }

  /// The four vectors at `base`, `stride` floats apart; each vector's lanes 2 and 3 from
  /// `upperHalf` floats past its lanes 0 and 1 when that is not 2.
  @inline(__always)
  init(at base: UnsafePointer<Float>, stride: Int, upperHalf: Int = 2) {
    self.init { WinogradTransform.load(base + $0 * stride, upperHalf: upperHalf) }
  }

  /// Each vector at `base`, `stride` floats apart.
  @inline(__always)
  func store(at base: UnsafeMutablePointer<Float>, stride: Int) {
    WinogradTransform.store(v0, at: base)
    WinogradTransform.store(v1, at: base + stride)
    WinogradTransform.store(v2, at: base + 2 * stride)
    WinogradTransform.store(v3, at: base + 3 * stride)
  }

  /// The 4×4 transpose: lane `i` of vector `j` becomes lane `j` of vector `i`.
  @inline(__always)
  func transposed() -> Four {
    Four(
      SIMD4(v0[0], v1[0], v2[0], v3[0]), SIMD4(v0[1], v1[1], v2[1], v3[1]), SIMD4(v0[2], v1[2], v2[2], v3[2]),
      SIMD4(v0[3], v1[3], v2[3], v3[3]))
  }

  /// Every lane clamped to `[0, cap]`, as `ReLU.apply`.
  @inline(__always)
  mutating func clamp(to cap: Float) {
    func clamped(_ v: SIMD4<Float>) -> SIMD4<Float> {
      var v = v
      v.replace(with: 0, where: v .<= 0)
      v.replace(with: cap, where: v .> cap)
      return v
    }
    (v0, v1, v2, v3) = (clamped(v0), clamped(v1), clamped(v2), clamped(v3))
  }

  @inline(__always)
  subscript(i: Int) -> SIMD4<Float> {
    switch i {
    case 0: v0
    case 1: v1
    case 2: v2
    default: v3
    }
  }
}

/// Three vectors: a column or row of a 3×3 kernel.
struct Three {
  var v0, v1, v2: SIMD4<Float>

  @inline(__always)
  init(_ v0: SIMD4<Float>, _ v1: SIMD4<Float>, _ v2: SIMD4<Float>) {
    (self.v0, self.v1, self.v2) = (v0, v1, v2)
  }

  @inline(__always)
  subscript(i: Int) -> SIMD4<Float> {
    switch i {
    case 0: v0
    case 1: v1
    default: v2
    }
  }
}
