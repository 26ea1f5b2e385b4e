/// One contiguous, zero-initialised Float buffer holding every parameter of a model (or every
/// gradient, or every momentum value), so that gradient sync is one allreduce of one buffer
/// and the optimizer is one loop over `count` elements.
public final class Arena {
  public let count: Int
  public let base: UnsafeMutablePointer<Float>

  public init(count: Int) {
    self.count = count
    base = .allocate(capacity: max(count, 1))
    base.initialize(repeating: 0, count: max(count, 1))
  }

  deinit { base.deallocate() }

  public var buffer: UnsafeMutableBufferPointer<Float> {
    UnsafeMutableBufferPointer(start: base, count: count)
  }

  public func zero() { base.update(repeating: 0, count: count) }

  /// `√(Σ x²)`, accumulated in double precision.
  public func euclideanNorm() -> Double {
    var sum = 0.0
    for i in 0..<count { sum += Double(base[i]) * Double(base[i]) }
    return sum.squareRoot()
  }

  /// A 64-bit FNV-1a hash of the raw bits: equal on two ranks iff the contents are
  /// bit-identical (up to hash collisions). Used to check that replicas never diverge.
  public func bitHash() -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for i in 0..<count {
      hash ^= UInt64(base[i].bitPattern)
      hash &*= 0x100_0000_01b3
    }
    return hash
  }
}
