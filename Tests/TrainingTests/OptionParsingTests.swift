import XCTest

/// Bad options are rejected before any work starts, with the accepted values.
final class OptionParsingTests: XCTestCase {
  private func rejected(
    _ arguments: [String], mentioning fragments: [String], file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let result = try CommandRunner.single(["train"] + arguments)
    XCTAssertNotEqual(result.status, 0, file: file, line: line)
    for fragment in fragments {
      XCTAssertTrue(
        result.standardError.contains(fragment), "\(fragment) not in: \(result.standardError)", file: file,
        line: line)
    }
    XCTAssertFalse(result.standardOutput.contains("packing"), "work started before the options were checked")
  }

  func testUnknownSamplerListsTheValidOnes() throws {
    try rejected(
      ["--sampler", "smote"],
      mentioning: [
        "smote", "uniform", "oversample", "inv-log", "sqrt", "effective", "under-over", "two-stage",
      ])
  }

  func testUnknownLossListsTheValidOnes() throws {
    try rejected(
      ["--loss", "dice"],
      mentioning: [
        "dice", "weighted-ce", "focal", "cb-softmax", "cb-sigmoid", "cb-focal", "cce", "cot", "ldam",
        "balanced-softmax", "logit-adjust",
      ])
  }

  func testUnknownClassWeightsListTheValidOnes() throws {
    try rejected(
      ["--class-weights", "median"], mentioning: ["median", "inverse", "balanced", "effective", "log"])
  }

  func testBetaOutsideTheUnitInterval() throws {
    try rejected(["--beta", "1"], mentioning: ["--beta must be in [0, 1) (got 1.0)"])
    try rejected(["--beta=-0.1"], mentioning: ["--beta must be in [0, 1)"])
  }

  func testNegativeGamma() throws {
    try rejected(
      ["--loss", "focal", "--gamma=-1"], mentioning: ["--gamma must be non-negative (got -1.0)"])
  }

  func testUnderOverWithoutThreshold() throws {
    try rejected(
      ["--sampler", "under-over"], mentioning: ["--sampler under-over needs --undersample-threshold T"])
  }

  func testWeightedCrossEntropyNeedsWeights() throws {
    try rejected(["--loss", "weighted-ce"], mentioning: ["--loss weighted-ce needs --class-weights"])
    try rejected(
      ["--loss", "ce", "--class-weights", "log"],
      mentioning: ["--class-weights applies to weighted-ce and focal"])
  }
}
