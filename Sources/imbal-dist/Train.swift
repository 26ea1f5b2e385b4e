import ArgumentParser
import Foundation
import Training

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a model; every rank of an mpirun job runs this same command.")

  @OptionGroup(title: "Model") var model: ModelArguments
  @OptionGroup(title: "Optimization") var optimization: OptimizationArguments
  @OptionGroup(title: "Sampling and loss") var imbalance: ImbalanceArguments
  @OptionGroup(title: "Data") var data: DataArguments
  @OptionGroup(title: "Augmentation") var augmentation: AugmentationArguments
  @OptionGroup(title: "Run directory and output") var output: OutputArguments
  @OptionGroup(title: "Debugging") var debugging: DebuggingArguments

  @Flag(help: "Print the model's layer table (output shapes, parameters, multiply-adds per image) and exit.")
  var describe = false

  @Option(
    help:
      "A YAML file of options (`epochs: 12`, `loss: ldam`, a flag as `debug: true`); options on the command line override it."
  )
  var config: String?

  @Option(
    help:
      "Continue the run in this directory from its last checkpoint, with the options recorded in its hparams.json. Other options are ignored but --stop-after-epoch, --data (for a dataset that moved) and --epochs N: more epochs than the run has extend it by a warm restart of the cosine schedule over the added epochs (recorded as --restart-epochs)."
  )
  var resume: String?

  @Flag(
    help:
      "Replace the run in --out: its checkpoints, logs, TensorBoard events and report are removed first (other files stay)."
  )
  var force = false

  @Option(
    name: .customLong("simulate-ranks"),
    help: "Run N ranks as threads of this one process (no mpirun), over an in-process communicator.")
  var simulateRanks: Int?

  private var groups: [ConfigurationArguments] {
    [model, optimization, imbalance, data, augmentation, output, debugging]
  }

  /// Checks the command line before any work: with neither a file nor a run to read, the
  /// whole configuration.
  func validate() throws {
    if resume != nil && output.out != nil {
      throw ValidationError("--resume RUN continues in RUN; leave out --out")
    }
    if resume != nil && force {
      throw ValidationError("--resume RUN continues RUN; --force would replace it: choose one")
    }
    if resume != nil && config != nil {
      throw ValidationError("--resume RUN takes its options from RUN; leave out --config")
    }
    if let simulateRanks, simulateRanks < 1 { throw ValidationError("--simulate-ranks must be at least 1") }
    guard config == nil && resume == nil else { return }
    do {
      try commandLineConfiguration(over: TrainingConfiguration()).validate()
    } catch let error as ConfigurationError {
      throw ValidationError(error.description)
    }
  }

  func run() throws {
    var made = TrainingConfiguration()
    try reportingErrors { made = try makeConfiguration() }
    let configuration = made
    if describe {
      try reportingErrors { print(try ModelDescription.text(for: configuration)) }
      return
    }
    StopRequest.install()
    let start: RunStart = resume != nil ? .resume : force ? .replace : .fresh
    let status =
      simulateRanks.map { ranks in
        Job.runSimulated(ranks: ranks) { communicator in
          try Trainer(configuration: configuration, communicator: communicator, start: start).run()
        }
      }
      ?? Job.run { communicator in
        try Trainer(configuration: configuration, communicator: communicator, start: start).run()
      }
    try endJob(with: status)
  }

  /// The run's configuration: the run's own with `--resume` (every rank reads it; rank 0
  /// alone reads its checkpoints), else the `--config` file's (or the defaults) with the
  /// command line's options over it; validated.
  func makeConfiguration() throws -> TrainingConfiguration {
    if let resume {
      let recorded = try HyperParameters(run: RunDirectory(path: resume))
      var configuration = recorded.configuration
      configuration.output.directory = resume
      // The run's own dataset (or where it moved): the same manifest id.
      configuration.data.directory = try recorded.trainedDataset(override: data.data, run: resume).path
      configuration.output.stopAfterEpoch = output.stopAfterEpoch
      if let epochs = optimization.epochs {
        try configuration.optimization.extend(to: epochs, run: resume)
      }
      return configuration
    }
    var base = TrainingConfiguration()
    if let config { base = try PlanFile.configuration(try PlanFile.mapping(config), file: config) }
    let configuration = commandLineConfiguration(over: base)
    try configuration.validate()
    return configuration
  }

  /// `base` with every option the command line names.
  func commandLineConfiguration(over base: TrainingConfiguration) -> TrainingConfiguration {
    var configuration = base
    for group in groups { group.apply(to: &configuration) }
    return configuration
  }
}
