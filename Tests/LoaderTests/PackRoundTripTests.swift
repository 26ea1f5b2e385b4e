import Foundation
import Loader
import XCTest

/// pack → read gives back exactly the source's images and labels, for every source kind;
/// shards are stratified; and every bad dataset input gets its own clear error.
final class PackRoundTripTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory("pack-tests") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private func pack(
    _ source: SourceKind, input: String, shards: Int = 3, validationPerClass: Int = 0,
    profile: ImbalanceProfile = .none,
    ratios: [Double] = [0.8, 0.1, 0.1]
  ) throws -> DatasetDirectory {
    var options = PackOptions()
    options.source = source
    options.input = input
    options.output = directory.appendingPathComponent("out-\(UUID().uuidString)").path
    options.shards = shards
    options.validationPerClass = validationPerClass
    options.profile = profile
    options.splitRatios = ratios
    _ = try Packer.pack(options)
    return try DatasetDirectory(path: options.output)
  }

  // MARK: - Round trips

  /// The real Fashion-MNIST with no imbalance and no hold-out: the training shards are exactly
  /// the stratified parts of the source file, image for image, in order.
  func testFashionMNISTRoundTripIsExact() throws {
    let source = try SourceKind.fashionMNIST.load(input: FashionMNIST.defaultDirectory, ratios: [], seed: 0)
    let dataset = try pack(.fashionMNIST, input: FashionMNIST.defaultDirectory, shards: 4)
    for (split, images) in [(SplitName.train, source.train), (.test, source.test)] {
      let parts = StratifiedPartitioning.indices(labels: images.labels, classes: 10, partitions: 4)
      for shard in 0..<4 {
        let read = try dataset.readShard(split, shard)
        let expected = images.subset(parts[shard])
        XCTAssertEqual(read.labels, expected.labels, "\(split) shard \(shard)")
        XCTAssertTrue(read.pixels == expected.pixels, "\(split) shard \(shard)")
      }
    }
    XCTAssertEqual(dataset.manifest.splits.train.count, 60_000)
    XCTAssertEqual(dataset.manifest.splits.val.count, 0)
  }

  /// A generic IDX directory (raw, not gzipped), written byte by byte here.
  func testIDXRoundTrip() throws {
    func idx(_ dims: [Int], _ body: [UInt8]) -> [UInt8] {
      var bytes: [UInt8] = [0, 0, 8, UInt8(dims.count)]
      for d in dims { bytes += (0..<4).map { UInt8(truncatingIfNeeded: d >> (8 * (3 - $0))) } }
      return bytes + body
    }
    let trainPixels = (0..<6).flatMap { Fixtures.pixels(index: $0, count: 4) }
    let testPixels = (6..<8).flatMap { Fixtures.pixels(index: $0, count: 4) }
    try Fixtures.write(
      idx([6, 2, 2], trainPixels), to: directory.appendingPathComponent("idx/train-images-idx3-ubyte").path)
    try Fixtures.write(
      idx([6], [0, 1, 2, 0, 1, 2]), to: directory.appendingPathComponent("idx/train-labels-idx1-ubyte").path)
    try Fixtures.write(
      idx([2, 2, 2], testPixels), to: directory.appendingPathComponent("idx/t10k-images-idx3-ubyte").path)
    try Fixtures.write(
      idx([2], [2, 0]), to: directory.appendingPathComponent("idx/t10k-labels-idx1-ubyte").path)
    let dataset = try pack(.idx, input: directory.appendingPathComponent("idx").path, shards: 2)
    XCTAssertEqual(dataset.manifest.classNames, ["0", "1", "2"])
    let expectedTrain = (0..<6).map { [UInt8($0 % 3)] + Fixtures.pixels(index: $0, count: 4) }.sorted {
      $0.lexicographicallyPrecedes($1)
    }
    XCTAssertEqual(Fixtures.records(try dataset.readSplit(.train)), expectedTrain)
    XCTAssertEqual(
      Fixtures.records(try dataset.readSplit(.test)),
      [[2] + Fixtures.pixels(index: 6, count: 4), [0] + Fixtures.pixels(index: 7, count: 4)].sorted {
        $0.lexicographicallyPrecedes($1)
      })
  }

  /// CIFAR-10 binary batches written byte by byte: 5 × 4 training records (every class present),
  /// 3 test records.
  func testCIFAR10RoundTrip() throws {
    let root = directory.appendingPathComponent("cifar-10-batches-bin")
    var expected: [[UInt8]] = []
    for batch in 1...5 {
      var bytes: [UInt8] = []
      for r in 0..<4 {
        let index = batch * 10 + r
        let label = UInt8((batch * 4 + r) % 10)
        bytes += Fixtures.cifarRecord(labels: [label], index: index)
        expected.append([label] + Fixtures.pixels(index: index, count: 3072))
      }
      try Fixtures.write(bytes, to: root.appendingPathComponent("data_batch_\(batch).bin").path)
    }
    let test = (0..<3).flatMap { Fixtures.cifarRecord(labels: [UInt8($0 * 3)], index: 100 + $0) }
    try Fixtures.write(test, to: root.appendingPathComponent("test_batch.bin").path)
    let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    try Fixtures.write(
      Array((names.joined(separator: "\n") + "\n\n").utf8),
      to: root.appendingPathComponent("batches.meta.txt").path)

    // The input may be the archive's parent folder: the reader looks inside cifar-10-batches-bin/.
    let dataset = try pack(.cifar10, input: directory.path, shards: 2)
    XCTAssertEqual(dataset.manifest.classNames, names)
    XCTAssertEqual(dataset.manifest.image, Manifest.Image(channels: 3, height: 32, width: 32))
    XCTAssertEqual(
      Fixtures.records(try dataset.readSplit(.train)), expected.sorted { $0.lexicographicallyPrecedes($1) })
    XCTAssertEqual(try dataset.readSplit(.test).labels.sorted(), [0, 3, 6])
  }

  /// CIFAR-100: two label bytes (coarse, fine); the fine label is the class.
  func testCIFAR100UsesFineLabels() throws {
    let root = directory.appendingPathComponent("c100")
    let train = (0..<4).flatMap { Fixtures.cifarRecord(labels: [UInt8($0), UInt8(90 + $0)], index: $0) }
    try Fixtures.write(train, to: root.appendingPathComponent("train.bin").path)
    try Fixtures.write(
      Fixtures.cifarRecord(labels: [1, 42], index: 9), to: root.appendingPathComponent("test.bin").path)
    try Fixtures.write(
      Array((0..<100).map { "fine\($0)" }.joined(separator: "\n").utf8),
      to: root.appendingPathComponent("fine_label_names.txt").path)
    let source = try SourceKind.cifar100.load(input: root.path, ratios: [], seed: 0)
    XCTAssertEqual(source.train.labels, [90, 91, 92, 93])
    XCTAssertEqual(source.test.labels, [42])
    XCTAssertEqual(Array(source.train.pixels.prefix(3072)), Fixtures.pixels(index: 0, count: 3072))
  }

  /// An ImageFolder tree already split into train/valid/test, RGB PNGs: exact pixels, planar.
  func testImageFolderSplitLayoutRoundTripIsExact() throws {
    var expected: [String: [[UInt8]]] = [:]
    for (split, perClass) in [("train", 3), ("valid", 1), ("test", 2)] {
      for (label, name) in ["cat", "dog"].enumerated() {
        for i in 0..<perClass {
          let index = split.count * 100 + label * 10 + i
          let interleaved = Fixtures.pixels(index: index, count: 4 * 3 * 3)
          try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("tree/\(split)/\(name)"), withIntermediateDirectories: true)
          try Fixtures.writePNG(
            interleaved, width: 4, height: 3, channels: 3,
            to: directory.appendingPathComponent("tree/\(split)/\(name)/\(i).png").path)
          let planar = (0..<3).flatMap { c in (0..<12).map { interleaved[$0 * 3 + c] } }
          expected[split, default: []].append([UInt8(label)] + planar)
        }
      }
    }
    let dataset = try pack(.folder, input: directory.appendingPathComponent("tree").path, shards: 2)
    XCTAssertEqual(dataset.manifest.classNames, ["cat", "dog"])
    XCTAssertEqual(dataset.manifest.image, Manifest.Image(channels: 3, height: 3, width: 4))
    for (split, name) in [(SplitName.train, "train"), (.val, "valid"), (.test, "test")] {
      XCTAssertEqual(
        Fixtures.records(try dataset.readSplit(split)),
        expected[name]!.sorted { $0.lexicographicallyPrecedes($1) }, name)
    }
  }

  /// JPEG is lossy: at quality 100 without subsampling the decoded pixels stay within a few
  /// levels of what was encoded. Grey JPEGs in an RGB dataset are expanded to three planes.
  func testImageFolderReadsJPEGAndConvertsChannels() throws {
    let smooth: [UInt8] = (0..<64).map { (p: Int) -> UInt8 in UInt8(60 + (p % 8) * 10 + (p / 8) * 5) }
    let root = directory.appendingPathComponent("jpeg")
    for split in ["train", "test"] {
      for name in ["a", "b"] {
        try FileManager.default.createDirectory(
          at: root.appendingPathComponent("\(split)/\(name)"), withIntermediateDirectories: true)
      }
      // Class a: an RGB PNG first, so the dataset is RGB; class b: a grey JPEG.
      let rgb = smooth.flatMap { [$0, $0 &+ 20, $0 &+ 40] }
      try Fixtures.writePNG(
        rgb, width: 8, height: 8, channels: 3, to: root.appendingPathComponent("\(split)/a/0.png").path)
      try Fixtures.writeJPEG(
        smooth, width: 8, height: 8, channels: 1, to: root.appendingPathComponent("\(split)/b/0.jpg").path)
    }
    let source = try SourceKind.folder.load(input: root.path, ratios: [], seed: 0)
    XCTAssertEqual(source.train.channels, 3)
    let grey = Array(source.train.pixels[(3 * 64)..<(6 * 64)])
    for c in 0..<3 {
      for p in 0..<64 {
        XCTAssertLessThanOrEqual(abs(Int(grey[c * 64 + p]) - Int(smooth[p])), 4, "plane \(c) pixel \(p)")
      }
    }
  }

  /// A split whose class folders differ from the training split's is refused, naming the
  /// folders that are extra and those that are missing (a torchvision ImageFolder would number
  /// the classes differently in each split without a word).
  func testSplitsWithDifferentClassFoldersAreRefusedWithTheirNames() throws {
    let root = directory.appendingPathComponent("classes")
    for (split, classes) in [("train", ["cat", "dog", "owl"]), ("test", ["cat", "dgo"])] {
      for name in classes {
        try FileManager.default.createDirectory(
          at: root.appendingPathComponent("\(split)/\(name)"), withIntermediateDirectories: true)
        try Fixtures.writePNG(
          [UInt8](repeating: 9, count: 4), width: 2, height: 2, channels: 1,
          to: root.appendingPathComponent("\(split)/\(name)/0.png").path)
      }
    }
    XCTAssertThrowsError(try SourceKind.folder.load(input: root.path, ratios: [], seed: 0)) {
      XCTAssertEqual(
        "\($0)",
        "\(root.path)/test: has class folders the training split does not: dgo; lacks class folders the "
          + "training split has: dog, owl (every split needs the same class folders)")
    }
  }

  /// An unsplit ImageFolder is split per class by the ratios, after a seeded shuffle: every
  /// image lands in exactly one split, and the same seed gives the same split.
  func testUnsplitImageFolderIsSplitByRatiosPerClass() throws {
    var all: [[UInt8]] = []
    for (label, name) in ["a", "b", "c"].enumerated() {
      try FileManager.default.createDirectory(
        at: directory.appendingPathComponent("flat/\(name)"), withIntermediateDirectories: true)
      for i in 0..<10 {
        let pixels = Fixtures.pixels(index: label * 10 + i, count: 6)
        try Fixtures.writePNG(
          pixels, width: 3, height: 2, channels: 1,
          to: directory.appendingPathComponent("flat/\(name)/\(i).png").path)
        all.append([UInt8(label)] + pixels)
      }
    }
    let input = directory.appendingPathComponent("flat").path
    let source = try SourceKind.folder.load(input: input, ratios: [0.6, 0.2, 0.2], seed: 5)
    XCTAssertEqual(source.train.classCounts, [6, 6, 6])
    XCTAssertEqual(source.validation?.classCounts, [2, 2, 2])
    XCTAssertEqual(source.test.classCounts, [2, 2, 2])
    let union =
      Fixtures.records(source.train) + Fixtures.records(source.validation!) + Fixtures.records(source.test)
    XCTAssertEqual(
      union.sorted { $0.lexicographicallyPrecedes($1) }, all.sorted { $0.lexicographicallyPrecedes($1) })
    let again = try SourceKind.folder.load(input: input, ratios: [0.6, 0.2, 0.2], seed: 5)
    XCTAssertEqual(again.test.pixels, source.test.pixels)
    let other = try SourceKind.folder.load(input: input, ratios: [0.6, 0.2, 0.2], seed: 6)
    XCTAssertNotEqual(other.test.pixels, source.test.pixels)
  }

  /// A user's own long-tailed folder (train 12/5/2 images per class, test 2 each) packed with
  /// the default `--imbalance none` keeps every image: the manifest, the shards and the
  /// records all say 12/5/2 (the packer used to cut every class to the smallest, 2/2/2).
  func testNoImbalanceKeepsEveryImageOfAnUnequalFolder() throws {
    let root = directory.appendingPathComponent("unequal")
    for (split, counts) in [("train", [12, 5, 2]), ("test", [2, 2, 2])] {
      for (label, name) in ["common", "rare", "rarest"].enumerated() {
        let folder = root.appendingPathComponent("\(split)/\(name)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in 0..<counts[label] {
          try Fixtures.writePNG(
            Fixtures.pixels(index: label * 100 + i, count: 4), width: 2, height: 2, channels: 1,
            to: folder.appendingPathComponent("\(i).png").path)
        }
      }
    }
    let dataset = try pack(.folder, input: root.path, shards: 2, validationPerClass: 1)
    // One image of each class is held out for validation: 11/4/1 train.
    XCTAssertEqual(dataset.manifest.splits.train.classCounts, [11, 4, 1])
    XCTAssertEqual(dataset.manifest.splits.val.classCounts, [1, 1, 1])
    XCTAssertEqual(try dataset.readSplit(.train).classCounts, [11, 4, 1])
    XCTAssertEqual(dataset.manifest.imbalance, "none")
    let benchmark = try pack(
      .folder, input: root.path, shards: 2, validationPerClass: 1, profile: .exponential(ratio: 4))
    // Targets ⌊11 · 4^(−c/2)⌋ = 11, 5, 2, capped at what each class has.
    XCTAssertEqual(benchmark.manifest.splits.train.classCounts, [11, 4, 1])
  }

  /// Every shard of a split holds each class within ±1 of every other shard.
  func testShardsAreStratified() throws {
    let dataset = try pack(
      .fashionMNIST, input: FashionMNIST.defaultDirectory, shards: 7, validationPerClass: 100,
      profile: .exponential(ratio: 100))
    for split in SplitName.allCases {
      let shards = dataset.manifest.split(split).shards
      XCTAssertEqual(shards.count, 7)
      for c in 0..<10 {
        let perShard = shards.map { $0.classCounts[c] }
        XCTAssertLessThanOrEqual(perShard.max()! - perShard.min()!, 1, "\(split) class \(c): \(perShard)")
      }
    }
  }

  // MARK: - Bad input

  func testMissingInput() {
    XCTAssertThrowsError(try pack(.cifar10, input: "/nonexistent/cifar")) {
      XCTAssertEqual($0 as? DataFileError, .missing(path: "/nonexistent/cifar/batches.meta.txt"))
    }
    XCTAssertThrowsError(try pack(.folder, input: "/nonexistent/tree")) {
      XCTAssertEqual($0 as? DataFileError, .missing(path: "/nonexistent/tree"))
    }
  }

  func testCIFARLabelOutsideTheClasses() throws {
    let root = directory.appendingPathComponent("bad-cifar")
    try Fixtures.write(
      Fixtures.cifarRecord(labels: [11], index: 0), to: root.appendingPathComponent("test_batch.bin").path)
    for batch in 1...5 {
      try Fixtures.write(
        Fixtures.cifarRecord(labels: [1], index: batch),
        to: root.appendingPathComponent("data_batch_\(batch).bin").path)
    }
    try Fixtures.write(
      Array((0..<10).map { "n\($0)" }.joined(separator: "\n").utf8),
      to: root.appendingPathComponent("batches.meta.txt").path)
    XCTAssertThrowsError(try SourceKind.cifar10.load(input: root.path, ratios: [], seed: 0)) {
      XCTAssertEqual(
        $0 as? DatasetError,
        .labelOutOfRange(
          path: root.appendingPathComponent("test_batch.bin").path, index: 0, label: 11, classes: 10))
    }
  }

  /// 6,000 − 5,999 = 1 image per class remains; ⌊1 · 2^(−1/9)⌋ = 0 empties class 1.
  func testEmptyClassAfterImbalancing() {
    XCTAssertThrowsError(
      try pack(
        .fashionMNIST, input: FashionMNIST.defaultDirectory, validationPerClass: 5999,
        profile: .exponential(ratio: 2))
    ) {
      XCTAssertEqual(
        $0 as? DatasetError,
        .emptyClass(className: "Trouser", detail: "after applying the imbalance profile exp:2"))
    }
  }

  func testImageFolderWithANonImageFileNamesIt() throws {
    let root = directory.appendingPathComponent("tree")
    for name in ["a", "b"] {
      try FileManager.default.createDirectory(
        at: root.appendingPathComponent(name), withIntermediateDirectories: true)
      try Fixtures.writePNG(
        [1, 2, 3, 4], width: 2, height: 2, channels: 1, to: root.appendingPathComponent("\(name)/0.png").path)
    }
    let notes = root.appendingPathComponent("b/notes.txt").path
    try Fixtures.write(Array("not an image".utf8), to: notes)
    XCTAssertThrowsError(try SourceKind.folder.load(input: root.path, ratios: [0.8, 0.1, 0.1], seed: 0)) {
      guard case .undecodable(let path, let reason) = $0 as? ImageError else {
        return XCTFail("\($0) is not an undecodable image")
      }
      XCTAssertEqual(path, notes)
      XCTAssertEqual("\($0)", "\(notes): cannot be decoded (\(reason))")
    }
  }

  func testImageFolderClassWithNoImages() throws {
    let root = directory.appendingPathComponent("tree")
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("a"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("b"), withIntermediateDirectories: true)
    try Fixtures.writePNG(
      [1, 2, 3, 4], width: 2, height: 2, channels: 1, to: root.appendingPathComponent("a/0.png").path)
    XCTAssertThrowsError(try SourceKind.folder.load(input: root.path, ratios: [0.8, 0.1, 0.1], seed: 0)) {
      XCTAssertEqual(
        $0 as? DatasetError,
        .emptyClass(className: "b", detail: "in \(root.appendingPathComponent("b").path)"))
    }
  }

  func testImageFolderRejectsAnImageOfAnotherSize() throws {
    let root = directory.appendingPathComponent("tree")
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("a"), withIntermediateDirectories: true)
    try Fixtures.writePNG(
      [1, 2, 3, 4], width: 2, height: 2, channels: 1, to: root.appendingPathComponent("a/0.png").path)
    let big = root.appendingPathComponent("a/1.png").path
    try Fixtures.writePNG([UInt8](repeating: 9, count: 9), width: 3, height: 3, channels: 1, to: big)
    XCTAssertThrowsError(try SourceKind.folder.load(input: root.path, ratios: [0.8, 0.1, 0.1], seed: 0)) {
      XCTAssertEqual(
        $0 as? ImageError, .sizeMismatch(path: big, width: 3, height: 3, expectedWidth: 2, expectedHeight: 2))
    }
  }

  /// A manifest whose per-shard counts disagree with the shard's header is rejected when the
  /// shard is opened (and by the header check `inspect` runs).
  func testManifestCountsThatDisagreeWithTheShards() throws {
    let dataset = try pack(
      .fashionMNIST, input: FashionMNIST.defaultDirectory, shards: 2, validationPerClass: 100,
      profile: .exponential(ratio: 100))
    var manifest = dataset.manifest
    // Move one image from class 0 to class 1 in shard 0's entry: totals still add up.
    manifest.splits.train.shards[0].classCounts[0] -= 1
    manifest.splits.train.shards[0].classCounts[1] += 1
    manifest.splits.train.classCounts[0] -= 1
    manifest.splits.train.classCounts[1] += 1
    try manifest.encoded().write(to: URL(fileURLWithPath: "\(dataset.path)/manifest.json"))
    let edited = try DatasetDirectory(path: dataset.path)
    let shard = edited.shardPath(.train, 0)
    XCTAssertThrowsError(try edited.readShard(.train, 0)) { error in
      guard case .manifestDisagrees(let path, _) = error as? DatasetError else { return XCTFail("\(error)") }
      XCTAssertEqual(path, shard)
    }
    XCTAssertThrowsError(try edited.checkHeaders())
  }

  func testManifestWithAMissingFieldIsNamed() throws {
    let dataset = try pack(
      .fashionMNIST, input: FashionMNIST.defaultDirectory, shards: 1, validationPerClass: 100,
      profile: .exponential(ratio: 100))
    let path = "\(dataset.path)/manifest.json"
    var json =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    json["class_names"] = nil
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try DatasetDirectory(path: dataset.path)) {
      XCTAssertEqual($0 as? DatasetError, .badManifest(path: path, detail: "missing field 'class_names'"))
    }
  }

  /// `--force` replaces a dataset, never the images it reads nor files that are not the
  /// dataset's (issue 18: `pack --force --out photos` deleted the user's photos).
  func testForceReplacesOnlyADatasetsOwnFiles() throws {
    let photos = directory.appendingPathComponent("photos")
    for (label, name) in ["a", "b"].enumerated() {
      try FileManager.default.createDirectory(
        at: photos.appendingPathComponent(name), withIntermediateDirectories: true)
      for i in 0..<5 {
        try Fixtures.writePNG(
          Fixtures.pixels(index: label * 5 + i, count: 4), width: 2, height: 2, channels: 1,
          to: photos.appendingPathComponent("\(name)/\(i).png").path)
      }
    }
    try Data("mine".utf8).write(to: directory.appendingPathComponent("notes.txt"))
    func snapshot() throws -> [String] {
      try FileManager.default.subpathsOfDirectory(atPath: directory.path).sorted()
    }
    let before = try snapshot()
    var options = PackOptions()
    options.source = .folder
    options.input = photos.path
    options.shards = 1
    options.validationPerClass = 0
    options.splitRatios = [0.6, 0.2, 0.2]
    options.force = true
    func refusal(out: String) -> String {
      options.output = out
      do {
        _ = try Packer.pack(options)
        return "packed"
      } catch { return "\(error)" }
    }
    XCTAssertEqual(
      refusal(out: photos.path),
      "\(photos.path): holds --input \(photos.path); --force would delete the images it packs, choose another --out"
    )
    XCTAssertEqual(
      refusal(out: directory.path),
      "\(directory.path): holds --input \(photos.path); --force would delete the images it packs, choose another --out"
    )
    XCTAssertEqual(
      refusal(out: photos.appendingPathComponent("a").path),
      "\(photos.path)/a: exists and is not a packed dataset (no manifest.json); --force replaces datasets only"
    )
    XCTAssertEqual(try snapshot(), before, "a refused pack changed files")

    let dataset = directory.appendingPathComponent("packed").path
    XCTAssertEqual(refusal(out: dataset), "packed")
    XCTAssertEqual(refusal(out: dataset), "packed", "--force replaces a dataset")
    try Data("mine".utf8).write(to: URL(fileURLWithPath: "\(dataset)/notes.txt"))
    XCTAssertEqual(
      refusal(out: dataset),
      "\(dataset): holds notes.txt, which is not part of the dataset; --force replaces a dataset's own files only"
    )
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dataset)/notes.txt"))
  }
}
