import Model

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `--inject-fault`: the faults the fault tests make a rank suffer, at a given step.
extension Trainer {
  /// Testing (`--inject-fault`): faults that strike before the forward pass of `step`.
  func injectFault(before step: Int, into input: Tensor) throws {
    guard let fault = configuration.fault, fault.step == step, fault.rank == communicator.rank else { return }
    switch fault.kind {
    case .error: throw TrainingError.injectedFault(rank: communicator.rank, step: step)
    case .nan: input.fill(.nan)
    case .exit: exit(3)
    case .drift, .gradient: break
    }
  }

  /// Testing (`--inject-fault gradient@STEP:RANK`): an infinite gradient after backward.
  func injectFault(afterBackwardOf step: Int, into network: Network) {
    guard let fault = configuration.fault, fault.kind == .gradient, fault.step == step,
      fault.rank == communicator.rank,
      let entry = network.layout.entries.first(where: { $0.name == FaultInjection.poisonedParameter })
    else { return }
    network.gradients.base[entry.offset] = .infinity
  }

  /// Testing (`--inject-fault drift@STEP:RANK`): nudges one parameter after `step`.
  func injectFault(after step: Int, into network: Network) throws {
    guard let fault = configuration.fault, fault.kind == .drift, fault.step == step,
      fault.rank == communicator.rank
    else { return }
    network.parameters.base[0] += 1e-3
  }
}
