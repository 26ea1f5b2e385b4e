/// Sums over contiguous Float runs with eight independent SIMD lanes: a plain loop's running
/// sum is one long dependency chain the compiler may not reorder (Float addition is not
/// associative), eight lanes let it run at the vector units' speed. The last few elements
/// are added one by one.
enum Reductions {
  /// `Σ x`.
  @inline(__always)
  static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
      lanes += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      i += 8
    }
    var total = lanes.sum()
    while i < count {
      total += x[i]
      i += 1
    }
    return total
  }

  /// `Σ a·b`.
  @inline(__always)
  static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
      lanes +=
        UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
        * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
      i += 8
    }
    var total = lanes.sum()
    while i < count {
      total += a[i] * b[i]
      i += 1
    }
    return total
  }

  /// `sums[c] += Σ x[n, c, ·]` over `images` images of `channels` planes of `plane` floats,
  /// image by image (a bias's gradient).
  static func accumulateChannelSums(
    _ x: UnsafePointer<Float>, images: Int, channels: Int, plane: Int, into sums: UnsafeMutablePointer<Float>
  ) {
    for n in 0..<images {
      let image = x + n * channels * plane
      for c in 0..<channels { sums[c] += sum(image + c * plane, count: plane) }
    }
  }

  /// `(Σ x, Σ x²)`.
  @inline(__always)
  static func sumAndSquares(_ x: UnsafePointer<Float>, count: Int) -> (Float, Float) {
    var (s, q) = (SIMD8<Float>(), SIMD8<Float>())
    var i = 0
    while i + 8 <= count {
      let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      s += v
      q += v * v
      i += 8
    }
    var (sum, squares) = (s.sum(), q.sum())
    while i < count {
      sum += x[i]
      squares += x[i] * x[i]
      i += 1
    }
    return (sum, squares)
  }

  /// `(Σ g, Σ g·(x − shift))` with `g = dy` where `0 < a·x + b < cap` and 0 elsewhere: the
  /// gradient through a ReLU fused after an affine map (batch norm's).
  @inline(__always)
  static func maskedSumAndDot(
    _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, shift: Float, a: Float, b: Float, cap: Float,
    count: Int
  ) -> (Float, Float) {
    var (s, d) = (SIMD8<Float>(), SIMD8<Float>())
    let (m, va, vb, vc) = (
      SIMD8<Float>(repeating: shift), SIMD8<Float>(repeating: a), SIMD8<Float>(repeating: b),
      SIMD8<Float>(repeating: cap)
    )
    var i = 0
    while i + 8 <= count {
      let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      let z = v * va + vb
      let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
        .replacing(with: 0, where: .!((z .> 0) .& (z .< vc)))
      s += g
      d += g * (v - m)
      i += 8
    }
    var (sum, dot) = (s.sum(), d.sum())
    while i < count {
      let g = ReLU.gradient(dy[i], at: x[i] * a + b, cap: cap)
      sum += g
      dot += g * (x[i] - shift)
      i += 1
    }
    return (sum, dot)
  }

  /// `(Σ dy, Σ dy·(x − shift))`.
  @inline(__always)
  static func sumAndDot(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, shift: Float, count: Int) -> (
    Float, Float
  ) {
    var (s, d) = (SIMD8<Float>(), SIMD8<Float>())
    let m = SIMD8<Float>(repeating: shift)
    var i = 0
    while i + 8 <= count {
      let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
      let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      s += g
      d += g * (v - m)
      i += 8
    }
    var (sum, dot) = (s.sum(), d.sum())
    while i < count {
      sum += dy[i]
      dot += dy[i] * (x[i] - shift)
      i += 1
    }
    return (sum, dot)
  }
}
