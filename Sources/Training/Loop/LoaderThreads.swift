import Foundation

/// The default of `--loader-threads`: the cores this node gives each rank, less the one its
/// training thread uses (0 when ranks already share cores, as four ranks on two cores do).
enum LoaderThreads {
  /// `ranks` counts the job's ranks; the launcher's per-node count is used where it says one
  /// (OpenMPI's `OMPI_COMM_WORLD_LOCAL_SIZE`, MPICH's `MPI_LOCALNRANKS`, Slurm's
  /// `SLURM_NTASKS_PER_NODE`), else every rank is taken to share this node.
  static func defaultCount(ranks: Int) -> Int {
    let environment = ProcessInfo.processInfo.environment
    let local =
      ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"].lazy
      .compactMap { environment[$0].flatMap { Int($0) } }.first ?? ranks
    return max(0, ProcessInfo.processInfo.activeProcessorCount / max(local, 1) - 1)
  }
}
