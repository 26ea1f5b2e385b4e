import Foundation

/// A closed range of two numbers, written `LOW,HIGH` on the command line and in plans (a YAML
/// list `[LOW, HIGH]` is read too), such as `--resized-crop-scale 0.08,1`.
public struct ValueRange: Codable, Sendable, Equatable, CustomStringConvertible {
  public var lower: Double
  public var upper: Double

  public init(_ lower: Double, _ upper: Double) {
    (self.lower, self.upper) = (lower, upper)
  }

  /// `LOW,HIGH` with `LOW ≤ HIGH`, both finite; `nil` otherwise.
  public init?(parsing text: String) {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
      Double($0.trimmingCharacters(in: .whitespaces))
    }
    guard parts.count == 2, let low = parts[0], let high = parts[1], low.isFinite, high.isFinite, low <= high
    else { return nil }
    self.init(low, high)
  }

  public var closedRange: ClosedRange<Double> { lower...upper }
  public var description: String { "\(lower.compactText),\(upper.compactText)" }

  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let pair = try? container.decode([Double].self), pair.count == 2, pair[0] <= pair[1] {
      self.init(pair[0], pair[1])
    } else if let range = ValueRange(parsing: try container.decode(String.self)) {
      self = range
    } else {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "expected LOW,HIGH with LOW ≤ HIGH, such as 0.08,1")
    }
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

extension Double {
  /// `1` rather than `1.0`; other values as Swift prints them.
  fileprivate var compactText: String {
    rounded() == self && abs(self) < 1e15 ? String(Int(self)) : String(self)
  }
}
