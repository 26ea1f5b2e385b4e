import Distributed
import Model

/// The checks that keep a data-parallel run honest: same model everywhere, replicas that
/// never drift apart, gradients that stay finite.
extension Trainer {
  /// The start-up contract: every rank's arena has rank 0's size and layout.
  func checkLayout(of network: Network) throws {
    let mine = [UInt64(network.layout.count), network.layout.fingerprint, network.bufferLayout.fingerprint]
    guard let all = try communicator.gather(mine, root: 0) else { return }
    for (rank, theirs) in all.enumerated() where theirs != mine {
      throw TrainingError.layoutMismatch(rank: rank, detail: "\(theirs[0]) parameters vs \(mine[0])")
    }
  }

  /// Invariant 3 of DESIGN.md: all replicas hold bit-identical parameters (checked after
  /// every epoch, and every `--check-replicas N` steps).
  func checkReplicasIdentical(_ network: Network, after moment: String) throws {
    guard let hashes = try communicator.gather([network.parameters.bitHash()], root: 0) else { return }
    let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
    if !differing.isEmpty { throw TrainingError.replicasDiverged(after: moment, ranks: differing) }
  }

  /// Debug mode: every gradient finite, or an error naming the layer nearest the loss whose
  /// gradient is not (backward runs from the loss towards the input).
  func checkGradientsFinite(of network: Network, epoch: Int, step: Int) throws {
    for entry in network.layout.entries.reversed() {
      let values = UnsafeBufferPointer(start: network.gradients.base + entry.offset, count: entry.count)
      if let bad = values.first(where: { !$0.isFinite }) {
        throw TrainingError.nonFiniteGradient(
          parameter: entry.name, value: Double(bad), rank: communicator.rank, epoch: epoch, step: step)
      }
    }
  }
}
