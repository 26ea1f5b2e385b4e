import ArgumentParser
import Foundation
import Training
import Yams

/// `imbal-dist sweep plan.yaml`: a grid of training runs, one after another in the same job
/// (every rank runs the sweep), each into its own directory under `out`, then a summary table
/// of test metrics as CSV and markdown, rewritten after every run. Running the same plan
/// again keeps the finished runs and resumes a stopped one.
///
/// ```yaml
/// out: runs/losses          # where the runs and summary.csv / summary.md go
/// base: {epochs: 12}        # options of every run
/// grid:                     # every combination of these, keys in alphabetical order
///   loss: [ce, ldam]
///   seed: [0, 1]
/// ```
struct Sweep: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a grid of trainings from a YAML plan and summarise their test metrics.",
    discussion: "Options given on the command line apply to every run, over the plan's base and grid.")

  @Argument(help: "The plan: `out`, `base` (options of every run) and `grid` (option → list of values).")
  var plan: String

  @OptionGroup(title: "Model") var model: ModelArguments
  @OptionGroup(title: "Optimization") var optimization: OptimizationArguments
  @OptionGroup(title: "Sampling and loss") var imbalance: ImbalanceArguments
  @OptionGroup(title: "Data") var data: DataArguments
  @OptionGroup(title: "Augmentation") var augmentation: AugmentationArguments

  func run() throws {
    var runs: [SweepRun] = []
    var out = ""
    // Every run is decoded and validated before the first one starts.
    try reportingErrors { (out, runs) = try readPlan() }
    StopRequest.install()
    let allRuns = runs
    let directory = out
    try endJob(with: Job.run { communicator in try SweepRun.runAll(allRuns, into: directory, communicator) })
  }

  /// The plan's output directory and its runs: the base options, each combination of the
  /// grid's values, then the command line's options.
  private func readPlan() throws -> (String, [SweepRun]) {
    let map = try PlanFile.mapping(plan)
    let keys = map.map(\.key)
    if let key = keys.first(where: { !["out", "base", "grid"].contains($0) }) {
      throw PlanError("\(plan): unknown key \"\(key)\"; a plan has out, base and grid")
    }
    func section(_ name: String) -> Node? { map.first { $0.key == name }?.value }
    let out = section("out")?.string ?? RunDirectory.timestamped(prefix: "sweep-").path
    guard let base = (section("base") ?? Node.mapping(.init([]))).mapping else {
      throw PlanError("\(plan): base must be a map of options")
    }
    guard let grid = (section("grid") ?? Node.mapping(.init([]))).mapping else {
      throw PlanError("\(plan): grid must be a map from options to lists of values")
    }
    let basePairs = base.compactMap { key, value in key.string.map { ($0, value) } }
    let axes = try grid.compactMap { key, value -> (String, [Node])? in
      guard let name = key.string else { return nil }
      guard let values = value.sequence.map(Array.init), !values.isEmpty else {
        throw PlanError("\(plan): grid \"\(name)\" must be a non-empty list")
      }
      return (name, values)
    }.sorted { $0.0 < $1.0 }
    for key in ["out"]
    where basePairs.contains(where: { $0.0 == key }) || axes.contains(where: { $0.0 == key }) {
      throw PlanError("\(plan): \"\(key)\" is set by the sweep itself")
    }
    return (out, try combinations(axes).map { try makeRun($0, base: basePairs, out: out) })
  }

  private func makeRun(_ combination: [(String, Node)], base: [(String, Node)], out: String) throws
    -> SweepRun
  {
    let values = combination.map { ($0.0, $0.1.string ?? "\($0.1)") }
    let name = values.isEmpty ? "run" : values.map { "\($0.0)-\($0.1)" }.joined(separator: "_")
    let chosen = Set(combination.map(\.0))
    var configuration = try PlanFile.configuration(
      base.filter { !chosen.contains($0.0) } + combination.map { (key: $0.0, value: $0.1) }, file: plan)
    for group in [model, optimization, imbalance, data, augmentation] as [ConfigurationArguments] {
      group.apply(to: &configuration)
    }
    configuration.output.directory = "\(out)/\(name)"
    do { try configuration.validate() } catch { throw PlanError("\(plan): run \(name): \(error)") }
    return SweepRun(name: name, values: values.map { (key: $0.0, value: $0.1) }, configuration: configuration)
  }

  /// Every combination of one value per axis, the last axis varying fastest.
  private func combinations(_ axes: [(String, [Node])]) -> [[(String, Node)]] {
    axes.reduce([[]]) { partial, axis in partial.flatMap { prefix in axis.1.map { prefix + [(axis.0, $0)] } }
    }
  }
}
