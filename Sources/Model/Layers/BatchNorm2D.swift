import Foundation

/// Sums small per-channel vectors over every replica that shares the global batch, so that
/// batch norm can use the statistics of the global batch (SyncBatchNorm, as in PyTorch's
/// `nn.SyncBatchNorm`). `Training` supplies one backed by the communicator.
public protocol BatchStatisticsReducer: AnyObject {
  func sumOverReplicas(_ values: UnsafeMutableBufferPointer<Double>)
}

/// Batch normalisation over `(N, H, W)` per channel (Ioffe & Szegedy 2015):
/// `y = γ·(x − μ)/√(σ² + ε) + β`.
///
/// Training mode normalises with the batch's mean and biased variance and updates the running
/// statistics `r ← (1 − momentum)·r + momentum·batch` (unbiased variance, PyTorch's
/// convention); inference mode normalises with the running statistics. The running mean and
/// variance are the layer's *buffers*: they live in the network's buffer arena and are saved
/// in checkpoints, but get no gradient. With a `reducer`, the batch's sums (and in backward,
/// the sums of `dy` and `dy·x̂`) are taken over all replicas.
///
/// With `activationCap` the layer is batch norm followed by ReLU (`.infinity`) or ReLU6 (6)
/// in one pass each way: the output is clamped, and backward masks `dy` where the
/// pre-activation (recomputed from `x`) was clamped — a memory pass less each way.
public final class BatchNorm2D: Layer {
  public let name: String
  public let channels: Int
  public let activationCap: Float?
  public let momentum: Double
  public let epsilon: Double
  public var reducer: BatchStatisticsReducer?
  public private(set) var isTraining = false

  private var gamma: UnsafeMutablePointer<Float>!
  private var beta: UnsafeMutablePointer<Float>!
  private var gammaGradient: UnsafeMutablePointer<Float>!
  private var betaGradient: UnsafeMutablePointer<Float>!
  private var runningMean: UnsafeMutablePointer<Float>!
  private var runningVariance: UnsafeMutablePointer<Float>!
  /// The mean and `1/√(σ² + ε)` the last forward normalised with, per channel.
  private var mean: [Double]
  private var inverseStd: [Double]
  /// Per-channel sums (and the element count) exchanged with the other replicas.
  private var sums: [Double]

  public var settings: [String: Any] {
    [
      "num_features": channels, "eps": epsilon, "momentum": momentum,
      "activation": activationName(activationCap),
    ]
  }

  public init(
    name: String, channels: Int, momentum: Double = 0.1, epsilon: Double = 1e-5, activationCap: Float? = nil
  ) {
    precondition(channels > 0 && momentum >= 0 && momentum <= 1 && epsilon > 0)
    precondition(activationCap.map { $0 > 0 } ?? true, "the activation cap must be positive")
    self.name = name
    self.channels = channels
    self.activationCap = activationCap
    self.momentum = momentum
    self.epsilon = epsilon
    mean = Array(repeating: 0, count: channels)
    inverseStd = Array(repeating: 1, count: channels)
    sums = Array(repeating: 0, count: 2 * channels + 1)
  }

  public var parameterSpecs: [ParameterSpec] {
    [
      ParameterSpec(name: "weight", shape: [channels], initialization: .ones),
      ParameterSpec(name: "bias", shape: [channels], initialization: .zeros),
    ]
  }

  public var bufferSpecs: [ParameterSpec] {
    [
      ParameterSpec(name: "running_mean", shape: [channels], initialization: .zeros),
      ParameterSpec(name: "running_var", shape: [channels], initialization: .ones),
    ]
  }

  public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
    (gamma, beta) = (parameters, parameters + channels)
    (gammaGradient, betaGradient) = (gradients, gradients + channels)
  }

  public func bind(buffers: UnsafeMutablePointer<Float>) {
    (runningMean, runningVariance) = (buffers, buffers + channels)
  }

  public func setTraining(_ training: Bool) { isTraining = training }

  public var kind: String { "BatchNorm2D" + fusedActivationSuffix(activationCap) }

  public var backwardReads: BackwardReads { .input }
  public func outputShape(for input: Shape) -> Shape {
    precondition(input.channels == channels, "\(name): expected \(channels) channels, got \(input)")
    return input
  }

  public func forwardFLOPs(for input: Shape) -> Int { input.perImage }

  /// Calls `body(c, offset)` with the channel and the offset of every plane of a tensor of
  /// `shape` (input, output and their gradients share it), image by image: memory order, so
  /// small planes are read in whole cache lines, not strided by an image. Per-channel sums
  /// taken in this order add the images in the same order as channel by channel would.
  @inline(__always)
  private func forEachPlane(_ shape: Shape, _ body: (Int, Int) -> Void) {
    for n in 0..<shape.batch {
      for c in 0..<channels { body(c, (n * channels + c) * shape.plane) }
    }
  }

  public func forward(_ input: Tensor, into output: Tensor) {
    let plane = input.shape.plane
    if isTraining {
      for i in 0..<2 * channels { sums[i] = 0 }
      sums.withUnsafeMutableBufferPointer { totals in
        forEachPlane(input.shape) { c, at in
          let (s, q) = Reductions.sumAndSquares(input.pointer + at, count: plane)
          totals[c] += Double(s)
          totals[channels + c] += Double(q)
        }
      }
      sums[2 * channels] = Double(input.shape.batch * plane)
      if let reducer { sums.withUnsafeMutableBufferPointer { reducer.sumOverReplicas($0) } }
      let count = sums[2 * channels]
      for c in 0..<channels {
        let m = sums[c] / count
        let variance = max(sums[channels + c] / count - m * m, 0)
        mean[c] = m
        inverseStd[c] = 1 / (variance + epsilon).squareRoot()
        let unbiased = count > 1 ? variance * count / (count - 1) : variance
        runningMean[c] = Float((1 - momentum) * Double(runningMean[c]) + momentum * m)
        runningVariance[c] = Float((1 - momentum) * Double(runningVariance[c]) + momentum * unbiased)
      }
    } else {
      for c in 0..<channels {
        mean[c] = Double(runningMean[c])
        inverseStd[c] = 1 / (Double(runningVariance[c]) + epsilon).squareRoot()
      }
    }
    let affines = (0..<channels).map(affine)
    forEachPlane(input.shape) { c, at in
      let (scale, shift) = affines[c]
      let (x, y) = (input.pointer + at, output.pointer + at)
      if let cap = activationCap {
        for p in 0..<plane { y[p] = ReLU.clamp(x[p] * scale + shift, cap: cap) }
      } else {
        for p in 0..<plane { y[p] = x[p] * scale + shift }
      }
    }
  }

  /// `y = x·scale + shift` of channel `c` in the last forward.
  @inline(__always)
  private func affine(_ c: Int) -> (scale: Float, shift: Float) {
    let scale = Float(Double(gamma[c]) * inverseStd[c])
    return (scale, beta[c] - Float(mean[c]) * scale)
  }

  public func backward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor?) {
    let plane = input.shape.plane
    let affines = (0..<channels).map(affine)
    let (means, inverseStds) = (mean.map(Float.init), inverseStd.map(Float.init))
    // Σ dy and Σ dy·x̂ per channel: the gradients of β and γ, and the two sums dx needs.
    for i in 0..<2 * channels { sums[i] = 0 }
    sums.withUnsafeMutableBufferPointer { totals in
      forEachPlane(input.shape) { c, at in
        let (scale, shift) = affines[c]
        let (x, dy) = (input.pointer + at, outputGradient.pointer + at)
        let (a, b) =
          activationCap.map {
            Reductions.maskedSumAndDot(dy, x, shift: means[c], a: scale, b: shift, cap: $0, count: plane)
          } ?? Reductions.sumAndDot(dy, x, shift: means[c], count: plane)
        totals[c] += Double(a)
        totals[channels + c] += Double(b * inverseStds[c])
      }
    }
    for c in 0..<channels {
      betaGradient[c] += Float(sums[c])
      gammaGradient[c] += Float(sums[channels + c])
    }
    guard let inputGradient else { return }
    guard isTraining else {
      forEachPlane(input.shape) { c, at in
        let (scale, shift) = affines[c]
        let (x, dy, dx) = (input.pointer + at, outputGradient.pointer + at, inputGradient.pointer + at)
        if let cap = activationCap {
          for p in 0..<plane { dx[p] = ReLU.gradient(dy[p], at: x[p] * scale + shift, cap: cap) * scale }
        } else {
          for p in 0..<plane { dx[p] = dy[p] * scale }
        }
      }
      return
    }
    // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)), the means over the (global) batch.
    sums[2 * channels] = Double(input.shape.batch * plane)
    if let reducer { sums.withUnsafeMutableBufferPointer { reducer.sumOverReplicas($0) } }
    let count = sums[2 * channels]
    let meanDy = (0..<channels).map { Float(sums[$0] / count) }
    let meanDyXhat = (0..<channels).map { Float(sums[channels + $0] / count) }
    forEachPlane(input.shape) { c, at in
      let (m, s) = (means[c], inverseStds[c])
      let (scale, shift) = affines[c]
      let (meanDy, meanDyXhat) = (meanDy[c], meanDyXhat[c])
      let (x, dy, dx) = (input.pointer + at, outputGradient.pointer + at, inputGradient.pointer + at)
      if let cap = activationCap {
        for p in 0..<plane {
          let g = ReLU.gradient(dy[p], at: x[p] * scale + shift, cap: cap)
          dx[p] = scale * (g - meanDy - (x[p] - m) * s * meanDyXhat)
        }
      } else {
        for p in 0..<plane { dx[p] = scale * (dy[p] - meanDy - (x[p] - m) * s * meanDyXhat) }
      }
    }
  }
}
