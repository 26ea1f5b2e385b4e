import Foundation
import XCTest

/// The training step's numbers must survive performance work (issue 7): 20 steps of the small
/// CNN, without and with batch norm, on one process with one BLAS thread, against parameters
/// recorded before any kernel optimisation (the code of commit eb05649, dumped with
/// `--dump-parameters` and read with numpy: the L2 norm in float64 and twelve evenly spaced
/// values), within 1e-5 of the largest parameter.
///
/// The learning rate is 0.005 because a batch-norm network's first steps amplify summation
/// order: at lr 0.05, one BLAS thread instead of two already moves the 20-step parameters by
/// 2e-4; at 0.005 by 1.9e-6, while the parameters still move by 2.5e-2 after the first step.
final class NumericsReferenceTests: XCTestCase {
  private let references:
    [(model: String, count: Int, norm: Double, largest: Double, samples: [(Int, Double)])] = [
      (
        "small-cnn-nobn", 65_642, 19.8298515662809, 1.4964772462844849,
        [
          (0, -0.2617843747138977), (5967, 0.03444531932473183), (11934, 0.006456227973103523),
          (17902, -0.11783306300640106), (23869, 0.0810922235250473), (29836, -0.04621597006917),
          (35804, 0.0005566450417973101), (41771, -0.009180422872304916), (47738, -0.04158051684498787),
          (53706, 0.03726685047149658), (59673, -0.026432380080223083), (65641, 0.006396764423698187),
        ]
      ),
      (
        "small-cnn", 65_834, 24.196208507378884, 1.4970823526382446,
        [
          (0, -0.26223576068878174), (5984, 0.13933482766151428), (11969, -0.10943342000246048),
          (17954, -0.04136637970805168), (23939, 0.03923097252845764), (29924, -0.01819315180182457),
          (35908, -0.032798804342746735), (41893, 0.017516879364848137), (47878, 0.061760954558849335),
          (53863, -0.03938227891921997), (59848, 0.031178148463368416), (65833, -0.0015817357925698161),
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
          Double(parameters[index]), value, accuracy: 1e-5 * reference.largest, "\(reference.model)[\(index)]"
        )
      }
    }
  }
}
