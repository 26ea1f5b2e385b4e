import Distributed
import Loader
import Model

/// The versions recorded in `hparams.json`: ours and those of the libraries doing the work.
func libraryVersions() -> [String: String] {
  [
    "imbal_dist": imbalDistVersion, "mpi": mpiLibraryVersion(), "openblas": blasConfiguration(),
    "zstd": zstdVersion(),
  ]
}
