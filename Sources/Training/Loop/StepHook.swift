import Model

/// Where one optimizer step is in the run; every number 1-based.
struct StepPosition {
  let epoch: Int
  let stepInEpoch: Int
  /// The optimizer step over the whole run.
  let step: Int
}

/// The places where a `TrainingStep` lets others look in, in order: the fault tests' faults
/// and debug mode's checks plug in here instead of branches in the step.
protocol StepHook: AnyObject {
  /// Whether the hook reads this rank's own gradients before they are summed, which rules out
  /// overlapping the sum with backward.
  var readsLocalGradients: Bool { get }
  /// Before the forward pass, on this rank's share of the batch.
  func beforeForward(_ position: StepPosition, input: Tensor) throws
  /// After backward, before the gradient sum (only when `readsLocalGradients`).
  func beforeGradientSync(_ position: StepPosition, network: Network) throws
  /// After the update of the iteration's first objective, whose loss is `loss` summed over this
  /// rank's share and `normalizer` its local normaliser.
  func afterFirstUpdate(_ position: StepPosition, loss: Double, normalizer: Double, network: Network) throws
  /// After every objective's update.
  func afterStep(_ position: StepPosition, network: Network) throws
}

extension StepHook {
  var readsLocalGradients: Bool { false }
  func beforeForward(_ position: StepPosition, input: Tensor) throws {}
  func beforeGradientSync(_ position: StepPosition, network: Network) throws {}
  func afterFirstUpdate(_ position: StepPosition, loss: Double, normalizer: Double, network: Network) throws {
  }
  func afterStep(_ position: StepPosition, network: Network) throws {}
}
