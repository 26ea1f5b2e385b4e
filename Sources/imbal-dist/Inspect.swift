import ArgumentParser
import Training

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show a packed dataset's classes, counts, shares and imbalance ratio per split.")

  @Argument(help: "The dataset directory.")
  var directory: String

  @Flag(help: "Decompress every shard and check checksums, labels and counts against the manifest.")
  var verify = false

  @Flag(help: "Print one JSON object instead of tables.")
  var json = false

  func run() throws {
    try reportingErrors {
      var inspection = try DatasetInspection(path: directory)
      if verify { try inspection.verify() }
      if json {
        print(inspection.json)
      } else {
        for line in inspection.tableLines { print(line) }
      }
    }
  }
}
