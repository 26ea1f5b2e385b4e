import ArgumentParser
import Foundation
import Training

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Time the training step of a model on this machine: per layer, whole step, allreduce, loader, evaluation, memory. Under mpirun, rank 0 prints the global figures.",
    discussion:
      "GFLOP/s count a convolution's direct multiply-adds (2 FLOPs each), whatever its lowering: a Winograd layer (kind Conv2D/winograd) does 2.25× fewer multiplies, so its rate, and the step's share of the sgemm rate, can exceed what sgemm itself reaches. The step is the trainer's own (TrainingStep) with cross-entropy (at every pixel with --task segmentation) at learning rate 0.01 on one fixed batch."
  )

  @OptionGroup(title: "Model") var model: ModelArguments
  @OptionGroup(title: "Optimization") var optimization: OptimizationArguments
  @OptionGroup(title: "Data") var data: DataArguments
  @OptionGroup(title: "Augmentation") var augmentation: AugmentationArguments

  @Option(help: "Timed steps (after 3 warm-up steps).")
  var steps = 20

  @Flag(name: .customLong("ranks-info"), help: "Also print each rank's host and BLAS configuration.")
  var ranksInfo = false

  @Flag(help: "Print the report as one JSON line.")
  var json = false

  private var benchConfiguration: TrainingConfiguration {
    var configuration = TrainingConfiguration()
    for group in [model, optimization, data, augmentation] as [ConfigurationArguments] {
      group.apply(to: &configuration)
    }
    return configuration
  }

  func validate() throws {
    guard steps > 0 else { throw ValidationError("--steps must be at least 1") }
    let configuration = benchConfiguration
    guard configuration.model.mode != .separate else {
      throw ValidationError("--mode separate is two phases; bench one of them")
    }
    do { try configuration.validate() } catch let error as ConfigurationError {
      throw ValidationError(error.description)
    }
  }

  func run() throws {
    var benchmark = StepBenchmark(configuration: benchConfiguration)
    benchmark.steps = steps
    try endJob(
      with: Job.run { communicator in
        if ranksInfo, let lines = try StepBenchmark.describeRanks(communicator) {
          for line in lines { print(line) }
        }
        guard let report = try benchmark.run(communicator: communicator) else { return }
        print(json ? report.json : report.lines.joined(separator: "\n"))
      })
  }
}
