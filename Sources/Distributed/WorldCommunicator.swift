#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Chooses the process group for this run: MPI when a launcher started us (mpirun, srun),
/// otherwise the single-process group, which needs no MPI daemon and no `MPI_Init`.
public func makeWorldCommunicator() throws -> Communicator {
  // Variables that OpenMPI's mpirun and PMI/PMIx launchers (Slurm's srun) set for each rank.
  let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"]
  if launcherVariables.contains(where: { getenv($0) != nil }) {
    return try MPICommunicator()
  }
  return SingleProcessCommunicator()
}
