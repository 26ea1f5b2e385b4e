import Foundation
import Loader
import XCTest

/// A manifest whose numbers cannot be true is one error naming the field, never a crash later
/// (issue 18): statistics of the wrong length or not positive, counts that are negative,
/// overflow or do not add up, shard files named twice or outside the directory.
final class ManifestValidationTests: XCTestCase {
  private var directory: URL!
  private var original = Data()
  private var mean = ""
  private var manifestPath: String { directory.appendingPathComponent("data/manifest.json").path }

  override func setUpWithError() throws {
    directory = try Fixtures.temporaryDirectory("manifest-tests")
    let images = Fixtures.tinyImages(counts: [6, 4])
    var options = PackOptions()
    options.output = directory.appendingPathComponent("data").path
    options.shards = 2
    _ = try Packer.write(
      try DatasetSplits(
        source: SourceData(train: images, validation: images, test: images), validationPerClass: 0,
        profile: .none),
      options: options)
    original = try Data(contentsOf: URL(fileURLWithPath: manifestPath))
    mean = "\(try Manifest(directory: directory.appendingPathComponent("data").path).normalization.mean)"
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// The error reading the manifest after `change` is applied to the packed one's JSON.
  private func error(after change: (inout [String: Any]) -> Void) throws -> String {
    var object = try XCTUnwrap(JSONSerialization.jsonObject(with: original) as? [String: Any])
    change(&object)
    try JSONSerialization.data(withJSONObject: object).write(
      to: URL(fileURLWithPath: manifestPath), options: .atomic)
    do {
      _ = try Manifest(directory: directory.appendingPathComponent("data").path)
      return "read"
    } catch {
      return "\(error)".replacingOccurrences(of: "\(manifestPath): invalid manifest: ", with: "")
    }
  }

  private func edit(_ object: inout [String: Any], _ path: [String], _ value: Any) {
    guard let key = path.first else { return }
    if path.count == 1 {
      object[key] = value
    } else {
      var inner = object[key] as! [String: Any]
      edit(&inner, Array(path.dropFirst()), value)
      object[key] = inner
    }
  }

  func testTheUnchangedManifestIsRead() throws {
    XCTAssertEqual(try error { _ in }, "read")
  }

  func testStatisticsOfTheWrongLengthOrNotPositive() throws {
    XCTAssertEqual(
      try error { edit(&$0, ["normalization", "std"], [Float]()) },
      "normalization needs a finite mean and a positive std for each of the 1 channel(s), it has mean \(mean) and std []"
    )
    XCTAssertTrue(try error { edit(&$0, ["normalization", "std"], [0]) }.hasPrefix("normalization needs"))
    XCTAssertTrue(
      try error { edit(&$0, ["normalization", "mean"], [0.1, 0.2]) }.hasPrefix("normalization needs"))
  }

  func testCountsThatOverflowAreNegativeOrDoNotAddUp() throws {
    XCTAssertEqual(
      try error { edit(&$0, ["splits", "train", "class_counts"], [Int.max, 4]) },
      "splits.train.class_counts do not add up to its count 10")
    XCTAssertEqual(
      try error { edit(&$0, ["splits", "val", "count"], -10) }, "splits.val holds a negative count")
    XCTAssertEqual(
      try error { edit(&$0, ["splits", "test", "class_counts"], [6]) },
      "splits.test needs 2 class counts (one per class name) for the split and each shard")
  }

  func testShardFilesNamedTwiceOrOutsideTheDirectory() throws {
    func renaming(_ file: String) -> (inout [String: Any]) -> Void {
      { object in
        var splits = object["splits"] as! [String: Any]
        var test = splits["test"] as! [String: Any]
        var shards = test["shards"] as! [[String: Any]]
        shards[1]["file"] = file
        test["shards"] = shards
        splits["test"] = test
        object["splits"] = splits
      }
    }
    XCTAssertEqual(
      try error(after: renaming("../../etc/passwd")),
      "splits.test.shards names the file \"../../etc/passwd\", which is not in the dataset directory")
    XCTAssertEqual(
      try error(after: renaming("test-00000-of-00002.imbs")),
      "the shard file test-00000-of-00002.imbs is named twice")
  }

  func testImpossibleImageShapes() throws {
    XCTAssertEqual(
      try error { edit(&$0, ["image", "channels"], 0) },
      "image is 0×3×2: channels must be 1 to 4 and each side 1 to 65536")
  }
}
