#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whether an MPI launcher (OpenMPI's mpirun, or a PMI/PMIx launcher such as Slurm's srun)
/// started this process: the variables they set for each rank.
public func startedByMPILauncher() -> Bool {
  let variables: [String] = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"]
  return variables.contains { getenv($0) != nil }
}

/// Chooses the process group for this run: MPI when a launcher started us (mpirun, srun),
/// otherwise the single-process group, which needs no MPI daemon and no `MPI_Init`.
public func makeWorldCommunicator() throws -> Communicator {
  startedByMPILauncher() ? try MPICommunicator() : SingleProcessCommunicator()
}
