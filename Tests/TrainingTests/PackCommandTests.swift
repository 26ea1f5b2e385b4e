import CPNG
import Foundation
import Training
import XCTest

/// `imbal-dist pack` and `inspect` as a user runs them.
final class PackCommandTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "pack-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  /// A pack killed half-way leaves no dataset at --out (and so no manifest over half-written
  /// shards); only its `.partial-PID` staging directory remains. Level 19 compresses at about
  /// 2 MB/s, so the full 70,000 images keep the packer busy long enough to be caught mid-way.
  func testAPackKilledHalfWayLeavesNoDataset() throws {
    let output = directory.appendingPathComponent("fm").path
    let process = try CommandRunner.start(
      ["pack", "--out", output, "--zstd-level", "19", "--shards", "4", "--val-per-class", "0"])
    let staging = "\(output).partial-\(process.processIdentifier)"
    let deadline = Date().addingTimeInterval(60)
    while !FileManager.default.fileExists(atPath: staging) && process.isRunning && Date() < deadline {
      Thread.sleep(forTimeInterval: 0.05)
    }
    XCTAssertTrue(process.isRunning, "the pack finished before it could be interrupted")
    XCTAssertTrue(FileManager.default.fileExists(atPath: staging))
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: output), "a killed pack must leave nothing at --out")
    let inspect = try CommandRunner.single(["inspect", output])
    XCTAssertNotEqual(inspect.status, 0)
    XCTAssertTrue(inspect.standardError.contains("not a packed dataset"), inspect.standardError)
  }

  func testPackThenInspectVerifyAndJSON() throws {
    let output = directory.appendingPathComponent("fm").path
    let pack = try CommandRunner.single(["pack", "--out", output, "--imbalance", "exp:100", "--shards", "4"])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    XCTAssertTrue(
      pack.standardOutput.contains("train 14639, val 1000, test 10000 images, 4 shards per split"))
    let inspect = try CommandRunner.single(["inspect", output, "--verify"])
    XCTAssertEqual(inspect.status, 0, inspect.standardError)
    XCTAssertTrue(
      inspect.lines.contains("train: 14639 images in 4 shards, imbalance ratio 100.0 (5900 / 59)"))
    XCTAssertTrue(inspect.lines.contains { $0.hasPrefix("verified: every shard's checksums") })
    let json = try CommandRunner.single(["inspect", output, "--json"])
    let object = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
    let splits = try XCTUnwrap(object["splits"] as? [String: Any])
    let train = try XCTUnwrap(splits["train"] as? [String: Any])
    XCTAssertEqual(train["class_counts"] as? [Int], [5900, 3536, 2120, 1271, 762, 456, 273, 164, 98, 59])
    XCTAssertEqual(train["imbalance_ratio"] as? Double, 100)
    // Packing again over it is refused without --force.
    let again = try CommandRunner.single(["pack", "--out", output])
    XCTAssertNotEqual(again.status, 0)
    XCTAssertTrue(
      again.standardError.contains("already exists; pass --force to replace it"), again.standardError)
  }

  /// The same images packed raw and as PNG records train to bit-identical parameters (PNG is
  /// lossless and is decoded when drawn), whether every record is kept in memory or each is read
  /// from its shard when drawn, on the training thread or two loader threads, with the standard
  /// augmentation and a random-resized crop; JPEG records train too. `inspect`
  /// names the encoding, the bytes per image and the decode rate.
  func testEncodedAndStreamedRecordsTrainLikeRawOnes() throws {
    let raw = directory.appendingPathComponent("raw").path
    let png = directory.appendingPathComponent("png").path
    let jpeg = directory.appendingPathComponent("jpeg").path
    for (output, encoding) in [(raw, ["raw"]), (png, ["png"]), (jpeg, ["jpeg", "--jpeg-quality", "80"])] {
      let pack = try CommandRunner.single(
        ["pack", "--out", output, "--imbalance", "exp:100", "--shards", "2", "--encoding"] + encoding)
      XCTAssertEqual(pack.status, 0, pack.standardError)
    }
    let inspect = try CommandRunner.single(["inspect", jpeg])
    let line = try XCTUnwrap(
      inspect.lines.first { $0.hasPrefix("records jpeg (quality 80), ") }, inspect.standardOutput)
    XCTAssertTrue(line.contains(" bytes per image on disk, read and decoded at "), line)
    for path in [raw, png, jpeg] {
      let json = try CommandRunner.single(["inspect", path, "--json"])
      let object = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
      XCTAssertGreaterThan(try XCTUnwrap(object["decode_images_per_s"] as? Double), 0)
      XCTAssertGreaterThan(try XCTUnwrap(object["bytes_per_image"] as? Double), 100)
      XCTAssertEqual(object["encoding"] as? String, URL(fileURLWithPath: path).lastPathComponent)
    }
    let common = [
      "--max-steps", "4", "--batch-size", "32", "--augment", "standard", "--resized-crop-scale", "0.5,1",
      "--quiet",
    ]
    func parameters(_ data: String, _ name: String, _ extra: [String]) throws -> Data {
      let prefix = directory.appendingPathComponent(name).path
      let result = try CommandRunner.single(["--data", data, "--dump-parameters", prefix] + common + extra)
      XCTAssertEqual(result.status, 0, result.standardError)
      return try Data(contentsOf: URL(fileURLWithPath: "\(prefix).rank0.f32"))
    }
    let reference = try parameters(raw, "raw", ["--loader-threads", "0"])
    XCTAssertEqual(try parameters(png, "png", ["--loader-threads", "2", "--loader-memory", "0"]), reference)
    XCTAssertEqual(
      try parameters(raw, "streamed", ["--loader-threads", "1", "--loader-memory", "0"]), reference)
    XCTAssertNotEqual(try parameters(jpeg, "jpeg", []), reference, "JPEG records are lossy")
  }

  /// Split shares that are not finite are a usage error naming the option, not a trap.
  func testNonFiniteSplitSharesAreRefused() throws {
    for shares in ["inf,1,1", "nan,1,1", "1,-1,1"] {
      let result = try CommandRunner.single(
        [
          "pack", "--source", "folder", "--input", directory.path, "--out",
          directory.appendingPathComponent("x").path,
          "--split", shares,
        ])
      XCTAssertEqual(result.status, 64, shares)
      XCTAssertTrue(
        result.standardError.contains("--split must be three non-negative shares"), result.standardError)
    }
  }

  /// A dataset packed in format 1 is refused with the command that packs it again.
  func testAnOldFormatDatasetIsRefusedWithTheRepackCommand() throws {
    let output = directory.appendingPathComponent("old").path
    XCTAssertEqual(try CommandRunner.single(["pack", "--out", output, "--shards", "1"]).status, 0)
    let manifest = "\(output)/manifest.json"
    let text = try String(contentsOfFile: manifest, encoding: .utf8)
    try text.replacingOccurrences(of: "\"format_version\" : 2", with: "\"format_version\" : 1")
      .write(toFile: manifest, atomically: true, encoding: .utf8)
    let train = try CommandRunner.single(["--data", output, "--max-steps", "1"])
    XCTAssertEqual(train.status, 1)
    XCTAssertTrue(
      train.standardError.contains(
        "\(output): packed in dataset format 1; this build reads format 2 (records readable one by one): "
          + "pack it again with `imbal-dist pack --source fashion-mnist --input /usr/share/datasets/fashion-mnist --out \(output) --force`"
      ), train.standardError)
  }

  /// `inspect --verify` exits non-zero on a shard whose record has one flipped byte.
  func testVerifyFailsOnAFlippedByte() throws {
    let output = directory.appendingPathComponent("fm").path
    XCTAssertEqual(
      try CommandRunner.single(["pack", "--out", output, "--imbalance", "exp:100", "--shards", "2"]).status, 0
    )
    let shard = "\(output)/test-00001-of-00002.imbs"
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: shard)))
    bytes[bytes.count - 1000] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: shard))
    XCTAssertEqual(try CommandRunner.single(["inspect", output]).status, 0, "the header alone is intact")
    let verify = try CommandRunner.single(["inspect", output, "--verify"])
    XCTAssertNotEqual(verify.status, 0)
    XCTAssertTrue(verify.standardError.contains("\(shard): record "), verify.standardError)
    XCTAssertTrue(verify.standardError.contains("is corrupt"), verify.standardError)
  }

  /// Two shards swapped (same split, same size, both intact) are caught when opened: the
  /// manifest records each shard's header checksum (issue 18: they trained silently).
  func testSwappedShardsAreNamed() throws {
    let output = directory.appendingPathComponent("fm").path
    XCTAssertEqual(
      try CommandRunner.single(["pack", "--out", output, "--imbalance", "exp:10", "--shards", "2"]).status, 0)
    let (first, second) = ("\(output)/train-00000-of-00002.imbs", "\(output)/train-00001-of-00002.imbs")
    try FileManager.default.moveItem(atPath: first, toPath: "\(output)/swap")
    try FileManager.default.moveItem(atPath: second, toPath: first)
    try FileManager.default.moveItem(atPath: "\(output)/swap", toPath: second)
    let inspect = try CommandRunner.single(["inspect", output])
    XCTAssertEqual(inspect.status, 1)
    XCTAssertTrue(
      inspect.standardError.hasPrefix(
        "imbal-dist: error: \(first): does not match the manifest: it is not the manifest's train shard 0 (header checksum "
      ),
      inspect.standardError)
    XCTAssertTrue(
      inspect.standardError.hasSuffix("): shards swapped, or copied from another dataset\n"),
      inspect.standardError)
    let train = try CommandRunner.single(["train", "--data", output, "--max-steps", "1"])
    XCTAssertEqual(train.status, 1)
    XCTAssertTrue(train.standardError.contains("it is not the manifest's train shard 0"), train.standardError)
  }

  /// `inspect --weights` shows every class under every scheme. Ankle boot (59 of 14,639 images,
  /// K = 10): inverse 1/59 = 0.0169492, balanced 14639/(10·59) = 24.8119, log ln(1 + (5900/59)²)
  /// = 9.21044, effective (β = 0.9999, Σ = K) 3.98649 (numpy).
  func testInspectWeightsShowsEverySchemeForEveryClass() throws {
    let output = directory.appendingPathComponent("fm").path
    XCTAssertEqual(
      try CommandRunner.single(["pack", "--out", output, "--imbalance", "exp:100", "--shards", "1"]).status, 0
    )
    let result = try CommandRunner.single(["inspect", output, "--weights"])
    XCTAssertEqual(result.status, 0, result.standardError)
    let row = try XCTUnwrap(
      result.lines.first { $0.contains("Ankle boot") && $0.contains("0.0169492") }, result.standardOutput)
    let fields = row.split(separator: " ").suffix(6)
    XCTAssertEqual(fields.map(String.init), ["59", "1", "0.0169492", "24.8119", "3.98649", "9.21044"])
    let rejected = try CommandRunner.single(["inspect", output, "--weights", "--beta", "1.5"])
    XCTAssertNotEqual(rejected.status, 0)
    XCTAssertTrue(rejected.standardError.contains("--beta must be in [0, 1)"), rejected.standardError)
  }

  /// A dataset without validation images is packed with a warning, trains with the last epoch
  /// as best (the old behaviour kept epoch 1 forever: an empty split's macro-F1 of 0 never
  /// improves), and `evaluate --split val` refuses it.
  func testEmptySplitsAreWarnedAboutOrRefused() throws {
    let output = directory.appendingPathComponent("noval").path
    let pack = try CommandRunner.single(
      ["pack", "--out", output, "--imbalance", "exp:10", "--shards", "1", "--val-per-class", "0"])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    XCTAssertEqual(
      pack.standardError,
      "imbal-dist: warning: \(output): the validation split is empty (--val-per-class 0, or no validation share in --split); train will keep the last epoch as best.safetensors\n"
    )
    let run = directory.appendingPathComponent("run").path
    let train = try CommandRunner.single(
      [
        "train", "--data", output, "--out", run, "--epochs", "2", "--debug", "--debug-samples", "64",
        "--batch-size", "32", "--tsne-points", "0", "--quiet",
      ])
    XCTAssertEqual(train.status, 0, train.standardError)
    XCTAssertEqual(
      train.standardError,
      "imbal-dist: warning: \(output) has no validation images: every epoch's checkpoint counts as best.safetensors (the last one is tested)\n"
    )
    XCTAssertEqual(try SafeTensors(contentsOf: "\(run)/best.safetensors").metadata["epoch"], "2")
    let evaluate = try CommandRunner.single(["evaluate", "--run", run, "--split", "val"])
    XCTAssertEqual(evaluate.status, 1)
    XCTAssertEqual(
      evaluate.standardError,
      "imbal-dist: error: the val split is empty: \(output) has no val images to evaluate\n")
  }
}

/// `pack --source seg-folder` as a user runs it: a dataset whose records carry masks, which
/// `inspect` describes by the images and pixels of each class and `train` refuses in one line;
/// `--image-size` resizes masks with their images; the generated benchmark packs the same way.
final class SegmentationPackCommandTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("seg-pack-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// An 8-bit grey PNG through libpng's simplified writer (images and masks alike here).
  private func writeGrey(_ pixels: [UInt8], side: Int, to path: String) throws {
    var image = png_image()
    image.version = cpng_image_version()
    (image.width, image.height, image.format) = (UInt32(side), UInt32(side), cpng_format_gray())
    let ok = pixels.withUnsafeBytes { png_image_write_to_file(&image, path, 0, $0.baseAddress, 0, nil) }
    png_image_free(&image)
    XCTAssertNotEqual(ok, 0, path)
  }

  func testASegmentationFolderPacksInspectsAndIsRefusedByTrain() throws {
    let root = directory.appendingPathComponent("photos")
    // 10 images of 4×4 (train 0–5, val 6–7, test 8–9): class 1 on the first row of every image,
    // class 2 on the second row of every third image, background elsewhere.
    for (split, images) in [("train", 0..<6), ("val", 6..<8), ("test", 8..<10)] {
      let folder = root.appendingPathComponent(split)
      for sub in ["images", "masks"] {
        try FileManager.default.createDirectory(
          at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
      }
      for i in images {
        let pixels = (0..<16).map { UInt8($0 * 9 + i) }
        try writeGrey(pixels, side: 4, to: folder.appendingPathComponent("images/\(i).png").path)
        let mask = (0..<16).map { p -> UInt8 in p < 4 ? 1 : p < 8 && i % 3 == 0 ? 2 : 0 }
        try writeGrey(mask, side: 4, to: folder.appendingPathComponent("masks/\(i).png").path)
      }
    }
    let classes = root.appendingPathComponent("classes.txt")
    try "background\nshirt\nbag\n".write(to: classes, atomically: true, encoding: .utf8)
    let data = directory.appendingPathComponent("seg").path
    let pack = try CommandRunner.single([
      "pack", "--source", "seg-folder", "--input", root.path, "--out", data,
    ])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    XCTAssertTrue(pack.standardOutput.contains("train 6, val 2, test 2 images"), pack.standardOutput)
    let inspect = try CommandRunner.single(["inspect", data, "--verify"])
    XCTAssertEqual(inspect.status, 0, inspect.standardError)
    // Training pixels: background 6·12 − 2·4 = 64, shirt 24, bag 8 of 96. Images 0 and 3 hold
    // the bag, the rarest class; the others tie background and shirt (6 images each): 0.
    let lines = inspect.lines
    XCTAssertTrue(
      lines.contains { $0.hasSuffix("pixel imbalance ratio 8.0 (64 / 8)") }, inspect.standardOutput)
    for row in [
      "  0      background       4  66.67%                   6        66.67%",
      "  2      bag              2  33.33%                   2         8.33%",
    ] {
      XCTAssertTrue(lines.contains(row), inspect.standardOutput)
    }
    let run = directory.appendingPathComponent("run").path
    let train = try CommandRunner.single(["train", "--data", data, "--out", run])
    XCTAssertEqual(train.status, 1)
    XCTAssertEqual(
      train.standardError,
      "imbal-dist: error: \(data): holds label masks (a segmentation dataset); train it with --task segmentation\n"
    )
    // Twice the size (scale 2, nothing cut): every mask pixel becomes 2×2, every count ×4.
    let resized = try CommandRunner.single([
      "pack", "--source", "seg-folder", "--input", root.path, "--out", data + "8", "--image-size", "8",
    ])
    XCTAssertEqual(resized.status, 0, resized.standardError)
    let inspected = try CommandRunner.single(["inspect", data + "8"])
    XCTAssertTrue(inspected.standardOutput.contains("images 1×8×8, 3 classes"), inspected.standardOutput)
    XCTAssertTrue(
      inspected.standardOutput.contains("pixel imbalance ratio 8.0 (256 / 32)"), inspected.standardOutput)
    // The default benchmark, generated from Debian's Fashion-MNIST.
    let benchmark = directory.appendingPathComponent("benchmark").path
    let generated = try CommandRunner.single([
      "pack", "--source", "fashion-mnist-seg", "--imbalance", "exp:100", "--out", benchmark, "--shards", "2",
    ])
    XCTAssertEqual(generated.status, 0, generated.standardError)
    XCTAssertTrue(
      generated.standardOutput.contains("train 3000, val 500, test 1000 images"), generated.standardOutput)
    let described = try CommandRunner.single(["inspect", benchmark])
    XCTAssertTrue(described.standardOutput.contains("images 1×64×64, 11 classes"), described.standardOutput)
    let profiled = try CommandRunner.single([
      "pack", "--source", "seg-folder", "--input", root.path, "--out", data + "p", "--imbalance", "exp:10",
    ])
    XCTAssertEqual(profiled.status, 64)
    XCTAssertTrue(profiled.standardError.contains("keeps every image"), profiled.standardError)
  }
}
