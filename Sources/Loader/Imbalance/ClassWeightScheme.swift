import Foundation

/// Per-class weights computed from class counts `n_c` (`--class-weights`), with `N = Σ n_c`
/// and `K` classes.
public enum ClassWeightScheme: String, CaseIterable, Codable, Sendable {
  /// `w_c = 1`.
  case none
  /// `w_c = 1 / n_c`.
  case inverse
  /// scikit-learn's `compute_class_weight("balanced")`: `w_c = N / (K · n_c)`.
  case balanced
  /// Cui et al., CVPR 2019: `w_c = (1 − β) / (1 − β^{n_c})`, normalised so that `Σ w_c = K`.
  case effective
  /// `w_c = log(1 + (max_c n_c / n_c)²)` (natural log), the "custom formula" of the seeds.
  case log

  /// The weight of every class. Classes with no images get weight 0.
  public func weights(counts: [Int], beta: Double) -> [Double] {
    let classes = Double(counts.count)
    let total = Double(counts.reduce(0, +))
    let largest = Double(counts.max() ?? 0)
    switch self {
    case .none:
      return counts.map { _ in 1 }
    case .inverse:
      return counts.map { $0 > 0 ? 1 / Double($0) : 0 }
    case .balanced:
      return counts.map { $0 > 0 ? total / (classes * Double($0)) : 0 }
    case .effective:
      return EffectiveNumber.weights(counts: counts, beta: beta)
    case .log:
      return counts.map { $0 > 0 ? Foundation.log(1 + pow(largest / Double($0), 2)) : 0 }
    }
  }
}

/// The effective number of samples (Cui et al., CVPR 2019): `E_n = (1 − βⁿ) / (1 − β)`, the
/// expected volume covered by `n` samples; class weights are `1 / E_{n_c}`, normalised to sum
/// to `K`.
public enum EffectiveNumber {
  public static func weights(counts: [Int], beta: Double) -> [Double] {
    precondition(beta >= 0 && beta < 1, "β must be in [0, 1)")
    let raw = counts.map { n in n > 0 ? (1 - beta) / (1 - pow(beta, Double(n))) : 0 }
    let sum = raw.reduce(0, +)
    return raw.map { $0 * Double(counts.count) / sum }
  }
}
