import Foundation
import Model

/// What `imbal-dist bench` measured, global figures from rank 0: per layer, the whole
/// training step, the allreduce, the loader, evaluation and memory.
public struct BenchmarkReport: Codable, Sendable {
  /// One node of the network: mean milliseconds per step (forward, backward) and the rate of
  /// its multiply–adds (2 FLOPs each; backward counted as twice the forward's work, the
  /// weight and input gradients, without the first layer's input gradient).
  public struct Layer: Codable, Sendable {
    public var name: String
    public var kind: String
    public var forwardMilliseconds: Double
    public var backwardMilliseconds: Double
    public var forwardGFLOPS: Double?
    public var backwardGFLOPS: Double?
  }

  public var model: String
  public var mode: String
  /// One image's shape, `C×H×W` written `3x32x32`, and the network's parameter count.
  public var input: String
  public var parameters: Int
  public var ranks: Int
  public var blasThreadsPerRank: Int
  public var globalBatch: Int
  public var steps: Int
  public var layers: [Layer]
  /// Mean wall time of a whole step (slowest rank), and the global images per second.
  public var stepMilliseconds: Double
  public var imagesPerSecond: Double
  /// FLOPs of one step (forward + backward) over its compute time, against one thread's sgemm.
  public var stepGFLOPS: Double
  public var sgemmGFLOPS: Double
  public var fractionOfSGEMM: Double
  /// The gradients' allreduce: how many buckets overlap backward; what one blocking allreduce
  /// of all of them costs after backward; and what a step waits after backward, in two parts
  /// (measured with a barrier between them): for the slower rank to finish its backward, and
  /// for the communication backward did not hide. Slowest rank, milliseconds per step.
  public var allreduceBuckets: Int
  public var allreduceMilliseconds: Double
  public var slowerRankWaitMilliseconds: Double
  public var communicationWaitMilliseconds: Double
  /// Batches read, decoded, augmented (the run's `--augment`) and normalised by one loader
  /// thread, images/s (the slowest rank); the loader threads of each rank; and the share of
  /// the wall time of steps fed as in training that the training thread waited for its batch
  /// (the slowest rank; 0 when the threads keep ahead).
  public var loaderImagesPerSecond: Double
  public var loaderThreads: Int
  public var dataWaitFraction: Double
  /// Inference forward passes (batch 128, no gradients), images/s of one rank.
  public var evaluationImagesPerSecond: Double
  /// The largest peak resident set size over the ranks, in MiB.
  public var peakResidentMiB: Double

  /// Rates are `…_images_per_s`, as in `test.json` and the CSVs.
  enum CodingKeys: String, CodingKey {
    case model, mode, input, parameters, ranks, blasThreadsPerRank, globalBatch, steps, layers,
      stepMilliseconds
    case imagesPerSecond = "images_per_s"
    case stepGFLOPS, sgemmGFLOPS, fractionOfSGEMM, allreduceBuckets, allreduceMilliseconds
    case slowerRankWaitMilliseconds, communicationWaitMilliseconds
    case loaderImagesPerSecond = "loader_images_per_s"
    case loaderThreads, dataWaitFraction
    case evaluationImagesPerSecond = "evaluation_images_per_s"
    case peakResidentMiB = "peak_resident_mib"
  }

  /// One line of JSON with snake_case keys, as every JSON file imbal-dist writes.
  public var json: String {
    String(decoding: try! RunJSON.encoder(pretty: false).encode(self), as: UTF8.self)
  }

  /// The human-readable report.
  public var lines: [String] {
    func f(_ x: Double, _ digits: Int = 1) -> String { fixed(x, digits) }
    var rows = [["layer", "kind", "fwd ms", "bwd ms", "fwd GFLOP/s", "bwd GFLOP/s"]]
    for layer in layers {
      rows.append([
        layer.name, layer.kind, f(layer.forwardMilliseconds, 2), f(layer.backwardMilliseconds, 2),
        layer.forwardGFLOPS.map { f($0) } ?? "", layer.backwardGFLOPS.map { f($0) } ?? "",
      ])
    }
    var lines = textTable(rows, numericFrom: 2)
    lines.insert(
      "imbal-dist bench: \(model) (\(mode)) on \(input) images, \(parameters) parameters, \(ranks) rank(s) × \(blasThreadsPerRank) BLAS thread(s), global batch \(globalBatch), \(steps) steps",
      at: 0)
    lines += [
      "step: \(f(stepMilliseconds)) ms, \(f(imagesPerSecond)) images/s (global), \(f(stepGFLOPS)) GFLOP/s per rank = \(f(100 * fractionOfSGEMM)) % of one thread's sgemm (\(f(sgemmGFLOPS)) GFLOP/s at 1024³)",
      "allreduce: \(allreduceBuckets) buckets overlapping backward; after backward a step waits \(f(slowerRankWaitMilliseconds, 2)) ms for the slower rank and \(f(communicationWaitMilliseconds, 2)) ms for communication not hidden (\(f(100 * (slowerRankWaitMilliseconds + communicationWaitMilliseconds) / stepMilliseconds)) % of the step), against \(f(allreduceMilliseconds, 2)) ms for one blocking allreduce after backward",
      "loader: \(f(loaderImagesPerSecond, 0)) images/s per thread, \(loaderThreads) thread(s) per rank, steps wait \(f(100 * dataWaitFraction, 2)) % for data; evaluation: \(f(evaluationImagesPerSecond, 0)) images/s per rank; peak resident memory \(f(peakResidentMiB)) MiB",
    ]
    return lines
  }
}
