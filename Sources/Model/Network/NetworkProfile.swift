/// Seconds spent in each node of a network, forward and backward, summed over the passes
/// made while it was attached (`network.profile`); what `imbal-dist bench` reports per layer.
public final class NetworkProfile {
  public var forwardSeconds: [Double]
  public var backwardSeconds: [Double]

  public init(nodes: Int) {
    forwardSeconds = Array(repeating: 0, count: nodes)
    backwardSeconds = Array(repeating: 0, count: nodes)
  }
}

/// Seconds from `start` to now.
public func seconds(since start: ContinuousClock.Instant) -> Double {
  let elapsed = ContinuousClock.now - start
  return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}
