import ArgumentParser
import Foundation
import Model
import Training

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Time the training step of a model on this machine: per layer, whole step, allreduce, loader, evaluation, memory. Under mpirun, rank 0 prints the global figures.",
    discussion:
      "GFLOP/s count a convolution's direct multiply-adds (2 FLOPs each), whatever its lowering: a Winograd layer (kind Conv2D/winograd) does 2.25× fewer multiplies, so its rate, and the step's share of the sgemm rate, can exceed what sgemm itself reaches."
  )

  @Option(help: "The network: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
  var model: Architecture = .smallCNN

  @Option(help: "classification, or end-to-end (with the decoder's reconstruction).")
  var mode: TrainingMode = .classification

  @Option(
    name: .customLong("batch-size"), help: "Global batch: images per optimizer step, summed over all ranks.")
  var batchSize = 128

  @Option(help: "Timed steps (after 3 warm-up steps).")
  var steps = 20

  @Flag(name: .customLong("sync-bn"), help: "Batch norm over the global batch (SyncBatchNorm).")
  var syncBN = false

  @Option(help: "A packed dataset directory. (default: long-tailed Fashion-MNIST, packed on first use)")
  var data: String?

  @Flag(name: .customLong("ranks-info"), help: "Also print each rank's host and BLAS configuration.")
  var ranksInfo = false

  @Flag(help: "Print the report as one JSON line.")
  var json = false

  func validate() throws {
    guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
    guard steps > 0 else { throw ValidationError("--steps must be at least 1") }
    guard mode != .separate else { throw ValidationError("--mode separate is two phases; bench one of them") }
    if let reason = mode.unsupportedReason(for: model) { throw ValidationError(reason) }
  }

  func run() throws {
    var config = TrainingConfiguration()
    config.architecture = model
    config.mode = mode
    config.globalBatch = batchSize
    config.syncBatchNorm = syncBN
    config.dataDirectory = data
    var benchmark = StepBenchmark(configuration: config)
    benchmark.steps = steps
    try runDistributed { communicator in
      let threads =
        Int(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "")
        ?? (communicator.size > 1 ? 1 : ProcessInfo.processInfo.activeProcessorCount)
      if ranksInfo {
        let line =
          "rank \(communicator.rank) of \(communicator.size) on \(ProcessInfo.processInfo.hostName): \(blasConfiguration())"
        if let lines = try communicator.gather(Array(line.utf8), root: 0) {
          for bytes in lines { print(String(decoding: bytes, as: UTF8.self)) }
        }
      }
      guard let report = try benchmark.run(communicator: communicator, blasThreads: threads) else { return }
      print(json ? report.json : report.lines.joined(separator: "\n"))
    }
  }
}
