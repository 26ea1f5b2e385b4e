import PRNG

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Exact t-SNE (van der Maaten & Hinton, JMLR 2008) to 2-D: Gaussian affinities calibrated
/// to a perplexity, symmetrised; Student-t affinities in the embedding; gradient descent with
/// momentum, per-coordinate gains and early exaggeration, as in the authors' reference
/// implementation. O(n²) per iteration, meant for about a thousand points.
public struct TSNE: Sendable {
  public var perplexity = 30.0
  public var iterations = 1000
  /// `nil`: `max(n / (4 · exaggeration), 50)`, the size-dependent rate of Belkina et al.
  /// (Nature Communications 2019) that scikit-learn uses by default.
  public var learningRate: Double?
  public var exaggeration = 12.0
  public var exaggerationIterations = 250
  public var seed: UInt64 = 0

  public init() {}

  /// The 2-D embedding of `points` (all of the same dimension), one `(x, y)` per point.
  public func embed(_ points: [[Float]]) -> [(x: Double, y: Double)] {
    let n = points.count
    guard n > 1 else { return points.map { _ in (0, 0) } }
    let p = jointProbabilities(points)
    var rng = Xoshiro256(seed: seed, stream: [0x75E])
    var y = (0..<(2 * n)).map { _ in rng.nextGaussian() * 1e-4 }
    var velocity = [Double](repeating: 0, count: 2 * n)
    var gains = [Double](repeating: 1, count: 2 * n)
    var numerator = [Double](repeating: 0, count: n * n)
    var gradient = [Double](repeating: 0, count: 2 * n)
    let eta = learningRate ?? max(Double(n) / (4 * exaggeration), 50)
    for iteration in 0..<iterations {
      let boost = iteration < exaggerationIterations ? exaggeration : 1
      let momentum = iteration < exaggerationIterations ? 0.5 : 0.8
      // Student-t kernel 1 / (1 + |y_i − y_j|²) and its sum Z.
      var z = 0.0
      for i in 0..<n {
        for j in (i + 1)..<n {
          let dx = y[2 * i] - y[2 * j]
          let dy = y[2 * i + 1] - y[2 * j + 1]
          let q = 1 / (1 + dx * dx + dy * dy)
          numerator[i * n + j] = q
          numerator[j * n + i] = q
          z += 2 * q
        }
      }
      // ∂C/∂y_i = 4 Σ_j (p_ij − q_ij) (y_i − y_j) / (1 + |y_i − y_j|²), q_ij = kernel / Z.
      for i in 0..<n {
        var (gx, gy) = (0.0, 0.0)
        for j in 0..<n where j != i {
          let kernel = numerator[i * n + j]
          let force = (boost * p[i * n + j] - kernel / z) * kernel
          gx += force * (y[2 * i] - y[2 * j])
          gy += force * (y[2 * i + 1] - y[2 * j + 1])
        }
        gradient[2 * i] = 4 * gx
        gradient[2 * i + 1] = 4 * gy
      }
      for k in 0..<(2 * n) {
        gains[k] = (gradient[k] > 0) != (velocity[k] > 0) ? gains[k] + 0.2 : max(gains[k] * 0.8, 0.01)
        velocity[k] = momentum * velocity[k] - eta * gains[k] * gradient[k]
        y[k] += velocity[k]
      }
      // Keep the embedding centred.
      for axis in 0..<2 {
        let mean = stride(from: axis, to: 2 * n, by: 2).reduce(0) { $0 + y[$1] } / Double(n)
        for k in stride(from: axis, to: 2 * n, by: 2) { y[k] -= mean }
      }
    }
    return (0..<n).map { (y[2 * $0], y[2 * $0 + 1]) }
  }

  /// `p_ij = (p_{j|i} + p_{i|j}) / 2n`, row by row (n × n).
  public func jointProbabilities(_ points: [[Float]]) -> [Double] {
    let n = points.count
    var distances = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in (i + 1)..<n {
        var sum = 0.0
        for (a, b) in zip(points[i], points[j]) { sum += Double(a - b) * Double(a - b) }
        distances[i * n + j] = sum
        distances[j * n + i] = sum
      }
    }
    var conditional = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      let row = conditionalRow(distances: Array(distances[(i * n)..<((i + 1) * n)]), of: i)
      for j in 0..<n { conditional[i * n + j] = row[j] }
    }
    var joint = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n where j != i {
        joint[i * n + j] = max((conditional[i * n + j] + conditional[j * n + i]) / Double(2 * n), 1e-12)
      }
    }
    return joint
  }

  /// `p_{j|i} ∝ exp(−β d_ij)` with β found by bisection so that the row's perplexity
  /// `exp(H)` (H in nats) equals `perplexity`.
  public func conditionalRow(distances: [Double], of i: Int) -> [Double] {
    let target = log(perplexity)
    var (beta, low, high) = (1.0, 0.0, Double.infinity)
    var row = [Double](repeating: 0, count: distances.count)
    let nearest = distances.enumerated().filter { $0.offset != i }.map(\.element).min() ?? 0
    for _ in 0..<100 {
      var sum = 0.0
      var weighted = 0.0
      for j in distances.indices where j != i {
        // Shifting by the nearest distance keeps exp from underflowing; it cancels out.
        let e = exp(-beta * (distances[j] - nearest))
        row[j] = e
        sum += e
        weighted += e * (distances[j] - nearest)
      }
      row[i] = 0
      let entropy = log(sum) + beta * weighted / sum
      for j in row.indices { row[j] /= sum }
      if abs(entropy - target) < 1e-5 { break }
      if entropy > target {
        low = beta
        beta = high.isFinite ? (beta + high) / 2 : beta * 2
      } else {
        high = beta
        beta = (beta + low) / 2
      }
    }
    return row
  }
}
