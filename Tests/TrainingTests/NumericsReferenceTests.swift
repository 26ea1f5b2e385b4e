import Foundation
import XCTest

/// The training step's numbers must survive performance work (issue 7): 20 steps of the small
/// CNN, without and with batch norm, on one process with one BLAS thread, against parameters
/// recorded before any kernel optimisation (the code of commit eb05649 with its `Conv2D`
/// initialised as today's, U(±1/√fan-in) for weights and biases, architecture.md decision 43;
/// dumped with `--dump-parameters` from a dataset it packed, and read with numpy: the L2 norm
/// in float64 and twelve values at `linspace(0, n − 1, 12)` floored), within 2e-5 of the
/// largest parameter.
///
/// The learning rate is 0.005 because a batch-norm network's first steps amplify summation
/// order: at lr 0.05, one BLAS thread instead of two already moves the 20-step parameters by
/// 2e-4; at 0.005 today's code differs from eb05649's by at most 1.1e-5 (small-cnn; 4e-8
/// without batch norm).
final class NumericsReferenceTests: XCTestCase {
  private let references:
    [(model: String, count: Int, norm: Double, largest: Double, samples: [(Int, Double)])] = [
      (
        "small-cnn-nobn", 65_642, 8.27433073955039, 0.3329407870769501,
        [
          (0, -0.18136268854141235), (5967, -0.05334481969475746), (11934, -0.004642648622393608),
          (17902, 0.0554659403860569), (23869, 0.05865145102143288), (29836, 0.04159124568104744),
          (35804, -0.03142726421356201), (41771, -0.025493474677205086), (47738, 0.03294752538204193),
          (53706, 0.02271266095340252), (59673, -0.03669174015522003), (65641, -0.038097091019153595),
        ]
      ),
      (
        "small-cnn", 65_834, 16.11253980477304, 1.0086209774017334,
        [
          (0, -0.18016177415847778), (5984, 0.025127915665507317), (11969, 0.048124104738235474),
          (17954, 0.02454802766442299), (23939, 0.04916366562247276), (29924, 0.026938773691654205),
          (35908, -0.008735240437090397), (41893, 0.0053492761217057705), (47878, 0.01076890155673027),
          (53863, 0.02033315785229206), (59848, 0.030205467715859413), (65833, 0.05097311735153198),
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
      let run = try CommandRunner.single(
        [
          "train", "--data", data, "--model", reference.model, "--batch-size", "128", "--seed", "7", "--lr",
          "0.005", "--warmup-epochs", "0", "--max-steps", "20", "--dump-parameters", prefix,
        ], environment: ["OPENBLAS_NUM_THREADS": "1"])
      XCTAssertEqual(run.status, 0, run.standardError)
      let parameters = try Data(contentsOf: URL(fileURLWithPath: prefix + ".rank0.f32")).withUnsafeBytes {
        Array($0.bindMemory(to: Float.self))
      }
      XCTAssertEqual(parameters.count, reference.count)
      let norm = parameters.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
      XCTAssertEqual(norm, reference.norm, accuracy: 1e-5 * reference.norm, reference.model)
      for (index, value) in reference.samples {
        XCTAssertEqual(
          Double(parameters[index]), value, accuracy: 2e-5 * reference.largest, "\(reference.model)[\(index)]"
        )
      }
    }
  }
}
