import Model

/// The model's parameters and buffers as a safetensors file, one tensor per parameter under
/// its layer name (`conv1.weight`, `bn1.running_mean`), so the file opens in PyTorch or numpy
/// as a state dict.
public enum ModelCheckpoint {
  public static func make(_ network: Network, metadata: [String: String] = [:]) -> SafeTensors {
    SafeTensors(
      entries: entries(of: network.parameters, layout: network.layout)
        + entries(of: network.buffers, layout: network.bufferLayout), metadata: metadata)
  }

  /// Copies the file's tensors into `network`'s parameters and buffers; every one must be
  /// present with its exact shape (tensors the network lacks, such as a decoder's, are ignored).
  public static func load(_ file: SafeTensors, into network: Network, path: String) throws {
    try fill(network.parameters, layout: network.layout, from: file, path: path)
    try fill(network.buffers, layout: network.bufferLayout, from: file, path: path)
  }

  /// The tensors of `arena` laid out by `layout`, names prefixed by `prefix`.
  static func entries(of arena: Arena, layout: ParameterLayout, prefix: String = "") -> [SafeTensors.Entry] {
    layout.entries.map { entry in
      SafeTensors.Entry(
        name: prefix + entry.name, shape: entry.shape,
        values: Array(UnsafeBufferPointer(start: arena.base + entry.offset, count: entry.count)))
    }
  }

  static func fill(
    _ arena: Arena, layout: ParameterLayout, from file: SafeTensors, path: String, prefix: String = ""
  )
    throws
  {
    for entry in layout.entries {
      guard let tensor = file[prefix + entry.name] else {
        throw CheckpointError.doesNotFit(path: path, reason: "it has no tensor \(prefix + entry.name)")
      }
      guard tensor.shape == entry.shape else {
        throw CheckpointError.doesNotFit(
          path: path, reason: "\(tensor.name) has shape \(tensor.shape), the model's is \(entry.shape)")
      }
      tensor.values.withUnsafeBufferPointer {
        (arena.base + entry.offset).update(from: $0.baseAddress!, count: entry.count)
      }
    }
  }
}

/// Everything besides the parameters that `--resume` needs to continue a run exactly: epochs
/// done, optimizer steps done, SGD's momentum buffer (one tensor per parameter, named
/// `momentum.<parameter>`) and the best validation score so far; after a stop mid-epoch, also
/// the steps done in the unfinished epoch and its running totals (summed over ranks).
/// Sampling needs nothing more: every epoch's draws come from `(seed, epoch, shard)` alone.
public struct TrainingState: Equatable, Sendable {
  public var epochsDone: Int
  public var stepsDone: Int
  public var bestEpoch: Int?
  public var bestScore: Double?
  /// Steps already done in epoch `epochsDone + 1` (0 at an epoch boundary).
  public var stepInEpoch = 0
  /// The unfinished epoch's loss and prediction totals so far.
  public var epochTotals: [Double] = []
  /// Weight balancing's MaxNorm radius, fixed at its stage's start (`nil` before or without one).
  public var maxNormRadius: Double?
  /// LWS's scales and their momentum during its stage.
  public var classScales: ClassScales?

  public init(epochsDone: Int, stepsDone: Int, bestEpoch: Int?, bestScore: Double?) {
    self.epochsDone = epochsDone
    self.stepsDone = stepsDone
    self.bestEpoch = bestEpoch
    self.bestScore = bestScore
  }

  public func file(velocity: Arena, layout: ParameterLayout) -> SafeTensors {
    var metadata = ["epochs_done": "\(epochsDone)", "steps_done": "\(stepsDone)"]
    if let bestEpoch, let bestScore {
      metadata["best_epoch"] = "\(bestEpoch)"
      metadata["best_score"] = "\(bestScore)"
    }
    if let maxNormRadius { metadata["max_norm_radius"] = "\(maxNormRadius)" }
    if let classScales {
      metadata["class_scales"] = classScales.scales.map { "\($0)" }.joined(separator: ",")
      metadata["class_scale_velocity"] = classScales.velocity.map { "\($0)" }.joined(separator: ",")
    }
    if stepInEpoch > 0 {
      metadata["step_in_epoch"] = "\(stepInEpoch)"
      metadata["epoch_totals_sparse"] = epochTotals.map { "\($0)" }.joined(separator: ",")
    }
    return SafeTensors(
      entries: ModelCheckpoint.entries(of: velocity, layout: layout, prefix: "momentum."), metadata: metadata)
  }

  /// Reads the counters and fills `velocity` from a state file.
  public init(_ file: SafeTensors, velocity: Arena, layout: ParameterLayout, path: String) throws {
    guard let epochs = file.metadata["epochs_done"].flatMap(Int.init),
      let steps = file.metadata["steps_done"].flatMap(Int.init)
    else {
      throw CheckpointError.malformed(path: path, reason: "its metadata lacks epochs_done or steps_done")
    }
    epochsDone = epochs
    stepsDone = steps
    bestEpoch = file.metadata["best_epoch"].flatMap(Int.init)
    bestScore = file.metadata["best_score"].flatMap(Double.init)
    stepInEpoch = file.metadata["step_in_epoch"].flatMap(Int.init) ?? 0
    maxNormRadius = file.metadata["max_norm_radius"].flatMap(Double.init)
    if let scales = file.metadata["class_scales"], let velocity = file.metadata["class_scale_velocity"] {
      let (s, v) = (
        scales.split(separator: ",").compactMap { Double($0) },
        velocity.split(separator: ",").compactMap { Double($0) }
      )
      guard s.count == v.count, !s.isEmpty else {
        throw CheckpointError.malformed(
          path: path, reason: "its class_scales and class_scale_velocity do not pair up")
      }
      classScales = ClassScales(scales: s, velocity: v)
    }
    guard epochs >= 0, steps >= 0, stepInEpoch >= 0, (bestEpoch ?? 1) >= 1, (bestEpoch ?? 0) <= epochs else {
      throw CheckpointError.malformed(
        path: path,
        reason:
          "its counters cannot be true (epochs_done \(epochs), steps_done \(steps), step_in_epoch \(stepInEpoch), best_epoch \(bestEpoch.map(String.init) ?? "none"))"
      )
    }
    func numbers(_ key: String) -> [Double] {
      (file.metadata[key] ?? "").split(separator: ",").compactMap { Double($0) }
    }
    // Builds before the sparse confusion matrix wrote the K×K table as `epoch_totals`.
    epochTotals =
      file.metadata["epoch_totals_sparse"] != nil
      ? numbers("epoch_totals_sparse") : EpochTotals.flattened(fromDense: numbers("epoch_totals")) ?? []
    try ModelCheckpoint.fill(velocity, layout: layout, from: file, path: path, prefix: "momentum.")
  }
}
