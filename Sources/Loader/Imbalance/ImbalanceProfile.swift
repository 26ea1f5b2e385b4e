/// How many images of each class to keep when turning a balanced dataset into a benchmark.
public enum ImbalanceProfile: Sendable, Equatable, CustomStringConvertible {
  /// The exponential long tail of Cao et al. 2019 (LDAM) and Cui et al. 2019:
  /// `n_c = ⌊n_max · r^(−c/(K−1))⌋` for class `c` of `K`, so the largest class is `r` times
  /// the smallest. Computed in Double.
  case exponential(ratio: Double)

  /// The kept count of each class when the largest may keep `maxCount`.
  public func counts(maxCount: Int, classes: Int) -> [Int] {
    switch self {
    case .exponential(let ratio):
      guard classes > 1 else { return [maxCount] }
      return (0..<classes).map { c in
        Int((Double(maxCount) * pow(ratio, -Double(c) / Double(classes - 1))).rounded(.down))
      }
    }
  }

  public var description: String {
    switch self {
    case .exponential(let ratio): return "exp:\(ratio.formatted())"
    }
  }
}

extension Double {
  /// `100` rather than `100.0`, `2.5` as is.
  func formatted() -> String {
    self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self)
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
