/// A fault to inject at a given optimizer step, for the tests that prove a failure ends the
/// job cleanly (`--inject-fault KIND@STEP[:RANK]`). Never used in real runs.
public struct FaultInjection: Codable, Equatable, Sendable, CustomStringConvertible {
  public enum Kind: String, Codable, CaseIterable, Sendable {
    /// The rank throws an error, as a bad shard or a bug would.
    case error
    /// The rank's input turns to NaN, so its loss is not finite.
    case nan
    /// The rank's gradient of the second layer's weights turns infinite after backward (what an
    /// overflow inside backward looks like).
    case gradient
    /// The rank nudges one parameter, so its replica drifts from the others.
    case drift
    /// The rank's process exits at once with code 3, without telling MPI.
    case exit
  }

  public var kind: Kind
  /// The 1-based global optimizer step at which the fault strikes.
  public var step: Int
  public var rank: Int

  /// The parameter whose gradient `gradient` poisons.
  public static let poisonedParameter = "conv2.weight"

  /// What `--inject-fault` takes.
  public static let syntax = "KIND@STEP[:RANK] with KIND one of error, nan, gradient, drift, exit"

  /// `KIND@STEP:RANK`, which `init?(_:)` reads back.
  public var description: String { "\(kind.rawValue)@\(step):\(rank)" }

  /// Parses `KIND@STEP` or `KIND@STEP:RANK` (rank 0 by default).
  public init?(_ text: String) {
    let parts = text.split(separator: "@", maxSplits: 1)
    guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])) else { return nil }
    let place = parts[1].split(separator: ":")
    guard (1...2).contains(place.count), let step = Int(place[0]), step >= 1 else { return nil }
    let rank = place.count == 2 ? Int(place[1]) : 0
    guard let rank, rank >= 0 else { return nil }
    (self.kind, self.step, self.rank) = (kind, step, rank)
  }
}
