import Distributed
import Foundation

/// One run of `imbal-dist sweep`: its name (`key-value_…`), the grid values that made it and
/// its whole configuration.
public struct SweepRun: Sendable {
  public let name: String
  public let values: [(key: String, value: String)]
  public let configuration: TrainingConfiguration

  public init(name: String, values: [(key: String, value: String)], configuration: TrainingConfiguration) {
    (self.name, self.values, self.configuration) = (name, values, configuration)
  }

  /// Every run in turn on every rank, then `summary.csv` and `summary.md` of the test metrics
  /// in `directory`, rewritten after every run. Rank 0 looks at each run's directory and
  /// tells the others: a finished run is kept, a stopped one resumed (one stopped before its
  /// first checkpoint starts again), so running the same sweep again after a pre-emption
  /// continues where it stopped.
  public static func runAll(_ runs: [SweepRun], into directory: String, _ communicator: Communicator) throws {
    var rows: [(SweepRun, TestReport)] = []
    for (index, run) in runs.enumerated() {
      let runDirectory = RunDirectory(path: run.configuration.output.directory!)
      var stage: [Int32] = [0]
      if communicator.rank == 0 {
        let exists = { FileManager.default.fileExists(atPath: $0) }
        stage[0] = exists(runDirectory.testResult) ? 2 : exists(runDirectory.lastState) ? 1 : 0
        let what = ["", " (resuming)", " (done before, kept)"][Int(stage[0])]
        Console(enabled: true).line("sweep: run \(index + 1)/\(runs.count): \(run.name)\(what)")
      }
      try communicator.broadcast(&stage, root: 0)
      var report: TestReport?
      if stage[0] == 2 {
        report = communicator.rank == 0 ? try TestReport(contentsOf: runDirectory.testResult) : nil
      } else {
        report = try Trainer(
          configuration: run.configuration, communicator: communicator,
          start: stage[0] == 1 ? .resume : .replace
        )
        .run()
      }
      if let report {
        rows.append((run, report))
        try writeSummary(rows, to: directory)
      }
    }
  }

  private static func writeSummary(_ rows: [(SweepRun, TestReport)], to directory: String) throws {
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
