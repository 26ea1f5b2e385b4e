import ArgumentParser
import Training

struct Report: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Rebuild a run's report.html and SVG plots from the files in its directory.")

  @Argument(help: "The run directory.")
  var runPath: String

  func run() throws {
    try reportingErrors {
      for path in try RunReport.build(RunDirectory(path: runPath)) { print(path) }
    }
  }
}
