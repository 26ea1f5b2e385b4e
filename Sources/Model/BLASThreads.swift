import CBLAS

/// Sets how many threads OpenBLAS may use: one per rank under MPI (ranks = cores), all cores
/// in single-process debug mode.
public func setBLASThreads(_ count: Int) {
  openblas_set_num_threads(Int32(max(count, 1)))
}

/// OpenBLAS's build description (`openblas_get_config`): version, target core, threading.
public func blasConfiguration() -> String {
  guard let text = openblas_get_config() else { return "unknown" }
  return String(cString: text)
}
