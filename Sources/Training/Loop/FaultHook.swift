import Model

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `--inject-fault`: the fault a rank suffers at one step, for the tests that prove a failure
/// ends the job cleanly. Every rank has the hook, so all agree on `readsLocalGradients`.
final class FaultHook: StepHook {
  let fault: FaultInjection
  let rank: Int

  init?(_ fault: FaultInjection?, rank: Int) {
    guard let fault else { return nil }
    (self.fault, self.rank) = (fault, rank)
  }

  var readsLocalGradients: Bool { fault.kind == .gradient }

  func beforeForward(_ position: StepPosition, input: Tensor) throws {
    guard fault.step == position.step, fault.rank == rank else { return }
    switch fault.kind {
    case .error: throw TrainingError.injectedFault(rank: rank, step: position.step)
    case .nan: input.fill(.nan)
    case .exit: exit(3)
    case .drift, .gradient: break
    }
  }

  /// An infinite gradient after backward, what an overflow inside backward looks like.
  func beforeGradientSync(_ position: StepPosition, network: Network) throws {
    guard fault.kind == .gradient, fault.step == position.step, fault.rank == rank,
      let entry = network.layout.entries.first(where: { $0.name == FaultInjection.poisonedParameter })
    else { return }
    network.gradients.base[entry.offset] = .infinity
  }

  /// One parameter nudged after the step, so this replica drifts from the others.
  func afterStep(_ position: StepPosition, network: Network) throws {
    guard fault.kind == .drift, fault.step == position.step, fault.rank == rank else { return }
    network.parameters.base[0] += 1e-3
  }
}
