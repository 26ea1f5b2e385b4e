import Foundation

/// How many images of each class to keep when packing a training split (`--imbalance`): every
/// image, or a benchmark's long tail. A profile's targets are relative to the largest class
/// `n_max`, and a class keeps `min(target, what it has)`, so a balanced source gets the exact
/// profile and an already imbalanced one is never padded or balanced.
public enum ImbalanceProfile: Sendable, Equatable, CustomStringConvertible {
  /// Keep every image.
  case none
  /// The exponential long tail of Cao et al. 2019 (LDAM) and Cui et al. 2019:
  /// `n_c = ⌊n_max · r^(−c/(K−1))⌋` for class `c` of `K`, so the largest class is `r` times
  /// the smallest. Computed in Double.
  case exponential(ratio: Double)
  /// Step imbalance (Buda et al. 2018): the listed classes keep `⌊fraction · n_max⌋`, the
  /// others `n_max` (e.g. `step:0.5:2,4,6` halves bird, deer and truck in CIFAR-10).
  case step(fraction: Double, classes: [Int])

  /// Parses `none`, `exp:R` or `step:F:C1,C2,…`.
  public init(parsing text: String) throws {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    switch parts.first {
    case "none" where parts.count == 1:
      self = .none
    case "exp" where parts.count == 2:
      guard let ratio = Double(parts[1]), ratio >= 1, ratio.isFinite else {
        throw ProfileError(text: text, reason: "the ratio R of exp:R must be a number ≥ 1")
      }
      self = .exponential(ratio: ratio)
    case "step" where parts.count == 3:
      guard let fraction = Double(parts[1]), fraction > 0, fraction <= 1 else {
        throw ProfileError(text: text, reason: "the fraction F of step:F:… must be in (0, 1]")
      }
      let classes = parts[2].split(separator: ",").map { Int($0) }
      guard !classes.isEmpty, classes.allSatisfy({ ($0 ?? -1) >= 0 }) else {
        throw ProfileError(text: text, reason: "step:F:C1,C2,… needs a list of class indices")
      }
      self = .step(fraction: fraction, classes: classes.map { $0! })
    default:
      throw ProfileError(text: text, reason: "expected none, exp:R or step:F:C1,C2,…")
    }
  }

  /// A step profile may list only classes the dataset has.
  public func check(classes: Int) throws {
    guard case .step(_, let listed) = self, let missing = listed.first(where: { $0 >= classes }) else {
      return
    }
    throw ProfileError(
      text: description,
      reason: "class \(missing) does not exist: the dataset has \(classes) classes (0…\(classes - 1))")
  }

  /// The images each class keeps, given the images it has: `min(target_c, available_c)`
  /// with the targets of `counts(maxCount:classes:)` for `n_max = max(available)`.
  public func kept(available: [Int]) -> [Int] {
    guard self != .none, let largest = available.max() else { return available }
    return zip(counts(maxCount: largest, classes: available.count), available).map { min($0, $1) }
  }

  /// The target count of each class when the largest has `maxCount`.
  public func counts(maxCount: Int, classes: Int) -> [Int] {
    switch self {
    case .none:
      return [Int](repeating: maxCount, count: classes)
    case .exponential(let ratio):
      guard classes > 1 else { return [maxCount] }
      return (0..<classes).map { c in
        Int((Double(maxCount) * pow(ratio, -Double(c) / Double(classes - 1))).rounded(.down))
      }
    case .step(let fraction, let listed):
      let reduced = Int((Double(maxCount) * fraction).rounded(.down))
      return (0..<classes).map { listed.contains($0) ? reduced : maxCount }
    }
  }

  public var description: String {
    switch self {
    case .none: return "none"
    case .exponential(let ratio): return "exp:\(ratio.formatted())"
    case .step(let fraction, let classes):
      return "step:\(fraction.formatted()):\(classes.map(String.init).joined(separator: ","))"
    }
  }
}

/// An `--imbalance` value that cannot be parsed.
public struct ProfileError: Error, CustomStringConvertible, Equatable {
  public let text: String
  public let reason: String
  public var description: String { "invalid imbalance profile '\(text)': \(reason)" }
}

extension Double {
  /// `100` rather than `100.0`, `2.5` as is.
  func formatted() -> String {
    self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self)
  }
}
