import CBLAS

/// Sets how many threads OpenBLAS may use: one per rank under MPI (ranks = cores), all cores
/// in single-process debug mode.
public func setBLASThreads(_ count: Int) {
  openblas_set_num_threads(Int32(max(count, 1)))
}

/// The rate of `cblas_sgemm` on `size`³ matrices with the current thread count, in
/// GFLOP/s (2·size³ per call, best of `repeats`): the reference `imbal-dist bench` compares
/// the training step with.
public func measureSGEMM(size: Int = 1024, repeats: Int = 3) -> Double {
  let count = size * size
  let a = [Float](repeating: 0.5, count: count)
  let b = [Float](repeating: 0.25, count: count)
  var c = [Float](repeating: 0, count: count)
  var best = Double.infinity
  for _ in 0..<repeats {
    let start = ContinuousClock.now
    c.withUnsafeMutableBufferPointer { cp in
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(size), Int32(size), Int32(size),
        1, a, Int32(size), b, Int32(size), 0, cp.baseAddress, Int32(size))
    }
    best = min(best, seconds(since: start))
  }
  return 2 * Double(size * size * size) / best / 1e9
}

/// OpenBLAS's build description (`openblas_get_config`): version, target core, threading.
public func blasConfiguration() -> String {
  guard let text = openblas_get_config() else { return "unknown" }
  return String(cString: text)
}
