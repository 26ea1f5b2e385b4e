import ArgumentParser
import Foundation
import Training

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
    abstract: "Run a grid of trainings from a YAML plan and summarise their test metrics.")

  @Argument(help: "The plan: `out`, `base` (options of every run) and `grid` (option → list of values).")
  var plan: String

  struct Run {
    let name: String
    let values: [(key: String, value: String)]
    let configuration: TrainingConfiguration
  }

  func run() throws {
    var runs: [Run] = []
    var out = ""
    // Every run is parsed and validated before the first one starts.
    try reportingErrors {
      let map = try PlanOptions.load(plan)
      let unknown = Set(map.keys).subtracting(["out", "base", "grid"])
      if let key = unknown.sorted().first {
        throw PlanError(description: "\(plan): unknown key \"\(key)\"; a plan has out, base and grid")
      }
      out = (map["out"] as? String) ?? RunDirectory.timestamped(prefix: "sweep-").path
      guard let base = (map["base"] ?? [String: Any]()) as? [String: Any] else {
        throw PlanError(description: "\(plan): base must be a map of options")
      }
      guard let grid = (map["grid"] ?? [String: Any]()) as? [String: Any] else {
        throw PlanError(description: "\(plan): grid must be a map from options to lists of values")
      }
      for key in ["out", "resume", "config"] where base[key] != nil || grid[key] != nil {
        throw PlanError(description: "\(plan): \"\(key)\" is set by the sweep itself")
      }
      let axes = try grid.keys.sorted().map { key -> (String, [Any]) in
        guard let values = grid[key] as? [Any], !values.isEmpty else {
          throw PlanError(description: "\(plan): grid \"\(key)\" must be a non-empty list")
        }
        return (key, values)
      }
      let baseArguments = try PlanOptions.arguments(base, file: plan)
      for combination in combinations(axes) {
        let name = combination.isEmpty ? "run" : combination.map { "\($0.0)-\($0.1)" }.joined(separator: "_")
        let arguments = try PlanOptions.arguments(Dictionary(uniqueKeysWithValues: combination), file: plan)
        let train = try Train.parseReporting(baseArguments + arguments + ["--out", "\(out)/\(name)"])
        runs.append(
          Run(
            name: name, values: combination.map { ($0.0, "\($0.1)") },
            configuration: try train.makeConfiguration()))
      }
    }
    StopRequest.install()
    let allRuns = runs
    let directory = out
    try runDistributed { communicator in
      var rows: [(Run, TestReport)] = []
      for (index, run) in allRuns.enumerated() {
        // Rank 0 looks at the run's directory and tells the others: a finished run is kept,
        // a stopped one resumed, so running the same sweep again after a pre-emption
        // continues where it stopped.
        let runDirectory = RunDirectory(path: run.configuration.outDirectory!)
        var stage: [Int32] = [0]
        if communicator.rank == 0 {
          let exists = { FileManager.default.fileExists(atPath: $0) }
          stage[0] = exists(runDirectory.testResult) ? 2 : exists(runDirectory.lastState) ? 1 : 0
          let what = ["", " (resuming)", " (done before, kept)"][Int(stage[0])]
          print("sweep: run \(index + 1)/\(allRuns.count): \(run.name)\(what)")
        }
        try communicator.broadcast(&stage, root: 0)
        var report: TestReport?
        if stage[0] == 2 {
          report = communicator.rank == 0 ? try TestReport(contentsOf: runDirectory.testResult) : nil
        } else {
          report = try Trainer(
            configuration: run.configuration, communicator: communicator, resume: stage[0] == 1
          )
          .run()
        }
        if let report {
          rows.append((run, report))
          try writeSummary(rows, to: directory)
        }
      }
    }
  }

  /// Every combination of one value per axis, the last axis varying fastest.
  private func combinations(_ axes: [(String, [Any])]) -> [[(String, Any)]] {
    axes.reduce([[]]) { partial, axis in partial.flatMap { prefix in axis.1.map { prefix + [(axis.0, $0)] } }
    }
  }

  private func writeSummary(_ rows: [(Run, TestReport)], to directory: String) throws {
    let keys = rows.first?.0.values.map(\.key) ?? []
    let metrics = ["accuracy", "macro_f1", "balanced_accuracy", "weighted_f1", "gmean", "top5", "best_epoch"]
    func cells(_ report: TestReport) -> [String] {
      [report.accuracy, report.macroF1, report.balancedAccuracy, report.weightedF1, report.gmean].map {
        String(format: "%.4f", $0)
      } + [report.top5.map { String(format: "%.4f", $0) } ?? "", "\(report.epoch)"]
    }
    let header = ["run"] + keys + metrics
    let lines = rows.map { run, report in [run.name] + run.values.map(\.value) + cells(report) }
    let csv = ([header] + lines).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
    let markdown =
      ([
        "| " + header.joined(separator: " | ") + " |", "|" + String(repeating: " --- |", count: header.count),
      ]
      + lines.map { "| " + $0.joined(separator: " | ") + " |" }).joined(separator: "\n") + "\n"
    try writeAtomically(Data(csv.utf8), to: "\(directory)/summary.csv")
    try writeAtomically(Data(markdown.utf8), to: "\(directory)/summary.md")
  }
}
