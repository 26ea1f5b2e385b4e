import ArgumentParser

@main
struct ImbalDist: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "imbal-dist",
    abstract: "Data-parallel training for imbalanced image classification, over MPI ranks.",
    discussion: """
      With no subcommand, trains the default job: the small CNN on long-tailed Fashion-MNIST \
      (exponential profile, ratio 100, packed into data/ on first use) with an oversampling \
      sampler. Start it as `mpirun -n 4 imbal-dist`, or without mpirun for a single-process \
      debug run.
      """,
    subcommands: [
      Train.self, Evaluate.self, Predict.self, Export.self, Bench.self, Report.self, Sweep.self, Pack.self,
      Inspect.self,
    ],
    defaultSubcommand: Train.self)
}
