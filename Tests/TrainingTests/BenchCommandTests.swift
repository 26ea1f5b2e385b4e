import Foundation
import XCTest

/// `imbal-dist bench` reports every figure issue 7 asks for, on one process and under mpirun
/// (no timing is asserted: only that each figure is measured and coherent).
final class BenchCommandTests: XCTestCase {
  private func report(_ result: CommandRunner.Result) throws -> [String: Any] {
    XCTAssertEqual(result.status, 0, result.standardError)
    XCTAssertEqual(try CommandRunner.keysNotInSnakeCase(result.lines.last ?? ""), [])
    return try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try XCTUnwrap(result.lines.last).utf8)) as? [String: Any])
  }

  func testBenchReportsLayersStepAllreduceLoaderEvaluationAndMemory() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
    let single = try report(
      CommandRunner.single([
        "bench", "--data", data, "--model", "unet", "--mode", "end-to-end", "--steps", "2", "--json",
      ]))
    XCTAssertEqual(single["ranks"] as? Int, 1)
    let layers = try XCTUnwrap(single["layers"] as? [[String: Any]])
    // Every node of the UNet with its decoder ran forward and backward.
    XCTAssertTrue(layers.contains { $0["name"] as? String == "decoder1.concat" })
    XCTAssertTrue(layers.contains { $0["name"] as? String == "decoder.sigmoid" })
    for key in [
      "images_per_s", "step_milliseconds", "sgemm_gflops", "fraction_of_sgemm", "loader_images_per_s",
      "evaluation_images_per_s", "peak_resident_mib",
    ] {
      XCTAssertGreaterThan(try XCTUnwrap(single[key] as? Double), 0, key)
    }
    XCTAssertEqual(single["allreduce_milliseconds"] as? Double ?? -1, 0, accuracy: 0.5)
    let dataWait = try XCTUnwrap(single["data_wait_fraction"] as? Double)
    XCTAssertTrue(dataWait >= 0 && dataWait < 1, "\(dataWait)")
    XCTAssertNotNil(single["loader_threads"] as? Int)

    guard CommandRunner.mpirunAvailable() else {
      throw MissingRequirement.skip("mpirun is not installed; the 2-rank half of the bench test needs it")
    }
    let two = try report(
      CommandRunner.mpirun(
        ranks: 2, ["bench", "--data", data, "--model", "small-cnn", "--sync-bn", "--steps", "2", "--json"]))
    XCTAssertEqual(two["ranks"] as? Int, 2)
    XCTAssertEqual(two["blas_threads_per_rank"] as? Int, 1)
    XCTAssertGreaterThan(try XCTUnwrap(two["allreduce_milliseconds"] as? Double), 0)
    // What a step waits after backward, in its two parts.
    XCTAssertGreaterThanOrEqual(try XCTUnwrap(two["slower_rank_wait_milliseconds"] as? Double), 0)
    XCTAssertGreaterThan(try XCTUnwrap(two["communication_wait_milliseconds"] as? Double), 0)
    let text = try CommandRunner.mpirun(ranks: 2, ["bench", "--data", data, "--steps", "1", "--ranks-info"])
    XCTAssertEqual(text.status, 0, text.standardError)
    XCTAssertTrue(text.standardOutput.contains("rank 1 of 2 on "), text.standardOutput)
    XCTAssertTrue(text.standardOutput.contains("% of one thread's sgemm"), text.standardOutput)
  }

  /// `bench --task segmentation` times the training step of the class maps (cross-entropy at
  /// every pixel) on a mask dataset, the loader with its masks, and inference to the class maps.
  func testBenchTimesTheSegmentationStep() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bench-seg-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let data = directory.appendingPathComponent("seg").path
    let pack = try CommandRunner.single([
      "pack", "--source", "fashion-mnist-seg", "--out", data, "--imbalance", "exp:100", "--shards", "2",
    ])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    let single = try report(
      CommandRunner.single([
        "bench", "--data", data, "--task", "segmentation", "--model", "unet", "--batch-size", "16", "--steps",
        "2", "--json",
      ]))
    XCTAssertEqual(single["mode"] as? String, "segmentation")
    XCTAssertEqual(single["input"] as? String, "1x64x64")
    // The UNet of bench/pytorch/bench.py's unet-seg has the same count (printed by PyTorch).
    XCTAssertEqual(single["parameters"] as? Int, 117_243)
    let layers = try XCTUnwrap(single["layers"] as? [[String: Any]])
    XCTAssertEqual(layers.last?["name"] as? String, "classifier")
    XCTAssertFalse(layers.contains { ($0["name"] as? String)?.hasPrefix("decoder.") == true })
    for key in ["images_per_s", "loader_images_per_s", "evaluation_images_per_s", "peak_resident_mib"] {
      XCTAssertGreaterThan(try XCTUnwrap(single[key] as? Double), 0, key)
    }
    let classifier = try CommandRunner.single([
      "bench", "--data", data, "--model", "unet", "--steps", "1", "--json",
    ])
    XCTAssertEqual(classifier.status, 1)
    XCTAssertTrue(
      classifier.standardError.contains("train it with --task segmentation"), classifier.standardError)
  }
}
