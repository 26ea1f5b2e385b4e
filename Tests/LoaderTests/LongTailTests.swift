import Loader
import XCTest

final class LongTailTests: XCTestCase {
  /// floor(5900 · 100^(−c/9)) computed in Double (checked with Python:
  /// `[int(5900 * 100 ** (-c / 9)) for c in range(10)]`).
  func testExponentialProfileCountsForRatio100() {
    XCTAssertEqual(
      ImbalanceProfile.exponential(ratio: 100).counts(maxCount: 5900, classes: 10),
      [5900, 3536, 2120, 1271, 762, 456, 273, 164, 98, 59])
    XCTAssertEqual(ImbalanceProfile.exponential(ratio: 1).counts(maxCount: 7, classes: 3), [7, 7, 7])
  }

  /// A toy source of 3 classes × 6 images (labels cycle 0,1,2): validation is the last 2 of
  /// each class in file order, training the first n_c of the rest.
  func testHoldsOutTheLastImagesAndKeepsTheFirst() throws {
    let labels = (0..<18).map { Int32($0 % 3) }
    let source = LabeledImages(
      channels: 1, height: 1, width: 1, classNames: ["a", "b", "c"], pixels: (0..<18).map { UInt8($0) },
      labels: labels)
    let benchmark = try DatasetSplits(
      source: SourceData(train: source, validation: nil, test: source), validationPerClass: 2,
      profile: .exponential(ratio: 4))
    // 4 images per class remain; counts 4, 4·4^(−1/2) = 2, 4·4^(−1) = 1.
    XCTAssertEqual(benchmark.train.classCounts, [4, 2, 1])
    XCTAssertEqual(benchmark.train.pixels, [0, 1, 2, 3, 4, 6, 9])
    XCTAssertEqual(benchmark.validation.pixels, [12, 13, 14, 15, 16, 17])
  }

  /// A source that is already imbalanced (12/5/2 training images per class): `none` keeps
  /// every image (it used to keep 2/2/2); a profile's targets come from the largest class and
  /// no class keeps more than it has.
  func testProfilesOnAnAlreadyImbalancedSource() throws {
    let labels = (0..<19).map { Int32($0 < 12 ? 0 : $0 < 17 ? 1 : 2) }
    let source = LabeledImages(
      channels: 1, height: 1, width: 1, classNames: ["a", "b", "c"], pixels: (0..<19).map { UInt8($0) },
      labels: labels)
    func kept(_ profile: ImbalanceProfile) throws -> [Int] {
      try DatasetSplits(
        source: SourceData(train: source, validation: source, test: source), validationPerClass: 0,
        profile: profile
      ).train.classCounts
    }
    XCTAssertEqual(try kept(.none), [12, 5, 2])
    // Targets ⌊12 · 4^(−c/2)⌋ = 12, 6, 3, capped at 12, 5, 2.
    XCTAssertEqual(try kept(.exponential(ratio: 4)), [12, 5, 2])
    // Targets ⌊12 · 16^(−c/2)⌋ = 12, 3, 0 … 0.75: the third class is left with none.
    XCTAssertThrowsError(try kept(.exponential(ratio: 16)))
    XCTAssertEqual(try kept(.exponential(ratio: 10)), [12, 3, 1])
    XCTAssertEqual(try kept(.step(fraction: 0.25, classes: [0])), [3, 5, 2])
    XCTAssertEqual(ImbalanceProfile.none.kept(available: [12, 5, 2]), [12, 5, 2])
    XCTAssertEqual(ImbalanceProfile.exponential(ratio: 4).kept(available: [20, 20, 3]), [20, 10, 3])
  }

  func testAnEmptyClassIsAnError() {
    let source = LabeledImages(
      channels: 1, height: 1, width: 1, classNames: ["a", "b"], pixels: [0, 1, 2, 3], labels: [0, 1, 0, 1])
    XCTAssertThrowsError(
      try DatasetSplits(
        source: SourceData(train: source, validation: nil, test: source), validationPerClass: 1,
        profile: .exponential(ratio: 10))
    ) { error in
      XCTAssertEqual(
        error as? DatasetError,
        .emptyClass(className: "b", detail: "after applying the imbalance profile exp:10"))
    }
  }

  func testFashionMNISTLongTailFromDebianFiles() throws {
    let source: SourceData
    do {
      source = try SourceKind.fashionMNIST.load(input: FashionMNIST.defaultDirectory, ratios: [], seed: 0)
    } catch DataFileError.missing {
      throw MissingDataset("dataset-fashion-mnist is not installed (make deps installs it)")
    }
    XCTAssertEqual(source.train.count, 60_000)
    XCTAssertEqual(source.test.count, 10_000)
    XCTAssertEqual(source.test.classCounts, [Int](repeating: 1000, count: 10))
    let splits = try DatasetSplits(source: source, validationPerClass: 100, profile: .exponential(ratio: 100))
    XCTAssertEqual(splits.train.classCounts, [5900, 3536, 2120, 1271, 762, 456, 273, 164, 98, 59])
    XCTAssertEqual(splits.validation.classCounts, [Int](repeating: 100, count: 10))
  }

  /// `step:0.5:2,4,6` keeps half of the listed classes (the seeds' imbalanced CIFAR-10:
  /// 4,900 → 2,450 for three classes), `none` everything.
  func testStepAndNoneProfiles() throws {
    XCTAssertEqual(
      try ImbalanceProfile(parsing: "step:0.5:2,4,6").counts(maxCount: 4900, classes: 8),
      [4900, 4900, 2450, 4900, 2450, 4900, 2450, 4900])
    XCTAssertEqual(try ImbalanceProfile(parsing: "none").counts(maxCount: 5, classes: 2), [5, 5])
    XCTAssertEqual(try ImbalanceProfile(parsing: "exp:100"), .exponential(ratio: 100))
    XCTAssertEqual(try ImbalanceProfile(parsing: "step:0.5:2,4,6").description, "step:0.5:2,4,6")
  }

  /// A step profile naming a class the dataset lacks (issue 18: `step:0.5:99` on 10 classes
  /// packed a balanced dataset without a word) is refused naming the class.
  func testAStepProfileOfAClassTheDatasetLacksIsRefused() throws {
    let source = LabeledImages(
      channels: 1, height: 1, width: 1, classNames: ["a", "b", "c"], pixels: (0..<18).map { UInt8($0) },
      labels: (0..<18).map { Int32($0 % 3) })
    XCTAssertThrowsError(
      try DatasetSplits(
        source: SourceData(train: source, validation: nil, test: source), validationPerClass: 1,
        profile: try ImbalanceProfile(parsing: "step:0.5:1,99"))
    ) {
      XCTAssertEqual(
        "\($0)",
        "invalid imbalance profile 'step:0.5:1,99': class 99 does not exist: the dataset has 3 classes (0…2)")
    }
  }

  /// A source whose test split comes out empty (a folder packed with `--split 0.5,0.5,0`) is
  /// refused: train's final report needs test images.
  func testAnEmptyTestSplitIsRefused() throws {
    let source = LabeledImages(
      channels: 1, height: 1, width: 1, classNames: ["a", "b"], pixels: [1, 2, 3, 4], labels: [0, 1, 0, 1])
    XCTAssertThrowsError(
      try DatasetSplits(
        source: SourceData(train: source, validation: source, test: source.subset([])), validationPerClass: 0,
        profile: .none)
    ) {
      XCTAssertEqual(
        "\($0)",
        "the test split is empty: a dataset needs test images, for train's final report (give --split a test share)"
      )
    }
  }

  func testBadProfilesAreRejectedWithTheAcceptedForms() {
    for text in ["exp", "exp:0.5", "step:2:1", "step:0.5:", "log:3", "step:0.5:a"] {
      XCTAssertThrowsError(try ImbalanceProfile(parsing: text), text) { error in
        XCTAssertTrue("\(error)".hasPrefix("invalid imbalance profile '\(text)'"), "\(error)")
      }
    }
  }
}
