#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Learning rate per step: linear warm-up from `base/warmupSteps` to `base`, then cosine
/// annealing (Loshchilov & Hutter 2017, SGDR without restarts) down to `minimum`:
/// ```
/// η(t) = η_min + ½(η_base − η_min)(1 + cos(π · (t − w) / (T − w)))
/// ```
public struct CosineSchedule: Sendable {
  public let base: Double
  public let minimum: Double
  public let totalSteps: Int
  public let warmupSteps: Int

  public init(base: Double, totalSteps: Int, warmupSteps: Int = 0, minimum: Double = 0) {
    precondition(base > 0 && minimum >= 0 && totalSteps > 0 && warmupSteps >= 0)
    self.base = base
    self.minimum = minimum
    self.totalSteps = totalSteps
    self.warmupSteps = min(warmupSteps, totalSteps - 1)
  }

  /// The rate for step `t` (0-based) of `totalSteps`.
  public func learningRate(step t: Int) -> Double {
    if t < warmupSteps { return base * Double(t + 1) / Double(warmupSteps) }
    let progress = Double(min(t, totalSteps) - warmupSteps) / Double(totalSteps - warmupSteps)
    return minimum + 0.5 * (base - minimum) * (1 + cos(Double.pi * progress))
  }
}
