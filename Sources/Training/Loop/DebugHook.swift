import Model

/// `--debug`: every gradient checked for NaN/Inf before it is summed, and a line per step with
/// the loss, the gradient and parameter norms and the step's time.
final class DebugHook: StepHook {
  let console: Console
  let rank: Int
  private var started = ContinuousClock.now

  init(console: Console, rank: Int) {
    self.console = console
    self.rank = rank
  }

  var readsLocalGradients: Bool { true }

  func beforeForward(_ position: StepPosition, input: Tensor) throws { started = ContinuousClock.now }

  /// Backward runs from the loss towards the input, so the first bad tensor in reverse arena
  /// order is the layer nearest the loss that went bad.
  func beforeGradientSync(_ position: StepPosition, network: Network) throws {
    for entry in network.layout.entries.reversed() {
      let values = UnsafeBufferPointer(start: network.gradients.base + entry.offset, count: entry.count)
      if let bad = values.first(where: { !$0.isFinite }) {
        throw TrainingError.nonFiniteGradient(
          parameter: entry.name, value: Double(bad), rank: rank, epoch: position.epoch, step: position.step)
      }
    }
  }

  func afterFirstUpdate(_ position: StepPosition, loss: Double, normalizer: Double, network: Network) throws {
    console.line(
      "step \(position.step)  epoch \(position.epoch)  loss \(fixed(loss / normalizer, 5))  "
        + "grad-norm \(fixed(network.gradients.euclideanNorm(), 5))  "
        + "param-norm \(fixed(network.parameters.euclideanNorm(), 4))  "
        + "\(fixed(seconds(since: started) * 1000, 1)) ms")
  }
}
