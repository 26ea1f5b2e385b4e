import ArgumentParser
import Foundation
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

  @Flag(help: "Also show the weight of every class under every --class-weights scheme.")
  var weights = false

  @Option(help: "β of the effective-number weights shown by --weights, in [0, 1).")
  var beta = 0.9999

  func validate() throws {
    guard beta >= 0, beta < 1 else { throw ValidationError("--beta must be in [0, 1) (got \(beta))") }
  }

  func run() throws {
    try reportingErrors {
      var inspection = try DatasetInspection(path: directory)
      if verify { try inspection.verify() }
      if weights { inspection.weightsBeta = beta }
      if json {
        print(inspection.json)
      } else {
        for line in inspection.tableLines { print(line) }
        if weights {
          print("")
          for line in inspection.weightLines(beta: beta) { print(line) }
        }
      }
    }
  }
}
