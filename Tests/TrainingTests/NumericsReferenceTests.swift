import Foundation
import XCTest

/// The training step's numbers must survive performance work (issue 7): 20 steps of the small
/// CNN, without and with batch norm, on one process with one BLAS thread, against parameters
/// recorded before any kernel optimisation (commit eb05649, dumped with `--dump-parameters`
/// and read with numpy: the L2 norm in float64 and twelve evenly spaced values).
///
/// Tolerance 1e-4 of the largest parameter: 20 steps at lr 0.05 amplify summation order —
/// the same commit with 2 BLAS threads instead of 1 already differs by 3.2e-5 — while a wrong
/// kernel moves them by 1e-2 or more.
final class NumericsReferenceTests: XCTestCase {
  private let references:
    [(model: String, count: Int, norm: Double, largest: Double, samples: [(Int, Double)])] = [
      (
        "small-cnn-nobn", 65_642, 19.918297168820615, 1.4951673746109009,
        [
          (0, -0.2643577754497528), (5967, 0.03449000418186188), (11934, -0.0017131045460700989),
          (17902, -0.11755268275737762), (23869, 0.07956548780202866), (29836, -0.04619855433702469),
          (35804, -0.0015121286269277334), (41771, -0.008788404054939747), (47738, -0.04260710999369621),
          (53706, 0.036624107509851456), (59673, -0.02872919850051403), (65641, 0.011338946409523487),
        ]
      ),
      (
        "small-cnn", 65_834, 24.269398332516445, 1.4917891025543213,
        [
          (0, -0.26433664560317993), (5984, 0.13511458039283752), (11969, -0.10225801914930344),
          (17954, -0.03882803022861481), (23939, 0.03907376155257225), (29924, -0.019504912197589874),
          (35908, -0.041895560920238495), (41893, 0.018238825723528862), (47878, 0.05453452095389366),
          (53863, -0.02579876407980919), (59848, 0.028327060863375664), (65833, -0.008271954953670502),
        ]
      ),
    ]

  func testTwentyStepsMatchTheParametersRecordedBeforeOptimisation() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "numerics-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
    for reference in references {
      let prefix = directory.appendingPathComponent(reference.model).path
      let run = try CommandRunner.run(
        executable: try CommandRunner.binary(),
        arguments: [
          "train", "--data", data, "--model", reference.model, "--batch-size", "128", "--seed", "7", "--lr",
          "0.05",
          "--warmup-epochs", "0", "--max-steps", "20", "--dump-parameters", prefix,
        ], environment: ["OPENBLAS_NUM_THREADS": "1"])
      XCTAssertEqual(run.status, 0, run.standardError)
      let parameters = try Data(contentsOf: URL(fileURLWithPath: prefix + ".rank0.f32")).withUnsafeBytes {
        Array($0.bindMemory(to: Float.self))
      }
      XCTAssertEqual(parameters.count, reference.count)
      let norm = parameters.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
      XCTAssertEqual(norm, reference.norm, accuracy: 1e-4 * reference.norm, reference.model)
      for (index, value) in reference.samples {
        XCTAssertEqual(
          Double(parameters[index]), value, accuracy: 1e-4 * reference.largest, "\(reference.model)[\(index)]"
        )
      }
    }
  }
}
