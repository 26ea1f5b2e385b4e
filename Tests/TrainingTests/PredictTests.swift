import Foundation
import Training
import XCTest

/// `imbal-dist predict`: on a packed split it predicts what `evaluate` counts, on 1 or 2 ranks;
/// on image files of mixed sizes it predicts exactly what it does on their packed records
/// (the preparation recorded at pack time is repeated, never re-specified); bad input is one
/// line and no output file.
final class PredictTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("predict-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  func testPredictOnAPackedSplitCountsWhatEvaluateCounts() throws {
    let data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
    let run = directory.appendingPathComponent("run").path
    let train = try CommandRunner.single([
      "train", "--data", data, "--epochs", "1", "--epoch-size", "512", "--out", run, "--tsne-points", "0",
    ])
    XCTAssertEqual(train.status, 0, train.standardError)
    // The whole test split as it is; the validation split with each option of the scores.
    for (split, options) in [
      ("test", []), ("val", ["--tta", "flip"]), ("val", ["--tta", "flip-shift"]),
      ("val", ["--logit-adjust", "1.5"]), ("val", ["--tau-norm", "0.8"]),
    ] {
      let evaluate = try CommandRunner.single(["evaluate", "--run", run, "--split", split] + options)
      XCTAssertEqual(evaluate.status, 0, evaluate.standardError)
      let report = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(evaluate.lines.last!.utf8)) as? [String: Any])
      let names = try XCTUnwrap(report["per_class"] as? [[String: Any]]).map { $0["name"] as! String }
      let predict = try CommandRunner.single(
        ["predict", "--run", run, data, "--split", split, "--top-k", "1"] + options)
      XCTAssertEqual(predict.status, 0, predict.standardError)
      XCTAssertEqual(predict.lines.first, "image,label,class_1,probability_1")
      var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
      for line in predict.lines.dropFirst() {
        let fields = line.split(separator: ",").map(String.init)
        confusion[names.firstIndex(of: fields[1])!][names.firstIndex(of: fields[2])!] += 1
      }
      XCTAssertEqual(confusion, report["confusion_matrix"] as? [[Int]], "\(split) \(options)")
      if options.first == "--tau-norm" {
        XCTAssertEqual((report["tau_normalization"] as? [String: Any])?["tau"] as? Double, 0.8)
      }
      XCTAssertEqual(predict.lines.count, 1 + (split == "test" ? CommandRunner.fixtureTestImages : 1000))
    }
    // On 2 ranks each classifies half; rank 0 writes every line in split order.
    let single = try CommandRunner.single(["predict", "--run", run, data, "--split", "val", "--top-k", "3"])
    let ranked = try CommandRunner.mpirun(
      ranks: 2, ["predict", "--run", run, data, "--split", "val", "--top-k", "3"])
    XCTAssertEqual(ranked.status, 0, ranked.standardError)
    XCTAssertEqual(ranked.lines.count, single.lines.count)
    for (a, b) in zip(ranked.lines, single.lines) where a != b {
      // The same classes; probabilities equal to float rounding (batches are split differently).
      let (x, y) = (a.split(separator: ","), b.split(separator: ","))
      XCTAssertEqual(
        x.enumerated().filter { $0.offset % 2 == 0 }.map(\.element),
        y.enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
      for (p, q) in zip(x, y) where Double(p) != nil {
        XCTAssertEqual(Double(p)!, Double(q)!, accuracy: 1e-5, "\(a) vs \(b)")
      }
    }
    XCTAssertTrue(ranked.standardError.contains("predicted 1000 images on 2 ranks"), ranked.standardError)
  }

  func testImageFilesOfMixedSizesPredictLikeTheirPackedRecords() throws {
    let root = directory.appendingPathComponent("photos")
    let sizes = [(20, 24), (40, 30), (16, 16), (50, 18), (9, 33)]
    for split in ["train", "valid", "test"] {
      for c in 0..<3 {
        let folder = root.appendingPathComponent("\(split)/kind\(c)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for n in 0..<(split == "train" ? 12 : 4) {
          let (height, width) = sizes[(n + c) % sizes.count]
          try SyntheticData.writeNetpbm(
            class: c, image: n, height: height, width: width, channels: n % 3 == 0 ? 1 : 3,
            to: folder.appendingPathComponent("\(split)-\(n).\(n % 3 == 0 ? "pgm" : "ppm")").path)
        }
      }
    }
    let data = directory.appendingPathComponent("data").path
    let pack = try CommandRunner.single([
      "pack", "--source", "folder", "--input", root.path, "--out", data, "--image-size", "16", "--resize",
      "pad",
      "--background", "10,200,30", "--channels", "3", "--shards", "1",
    ])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    let manifest = try String(contentsOfFile: "\(data)/manifest.json", encoding: .utf8)
    XCTAssertTrue(manifest.contains("\"resize\" : \"pad\""), manifest)
    let run = directory.appendingPathComponent("run").path
    let train = try CommandRunner.single([
      "train", "--data", data, "--epochs", "1", "--batch-size", "8", "--epoch-size", "32", "--out", run,
      "--tsne-points", "0",
    ])
    XCTAssertEqual(train.status, 0, train.standardError)

    // Batch size 1: every image goes through the network alone, so equal pixels give equal bits.
    let common = ["--batch-size", "1", "--logits", "--format", "jsonl", "--top-k", "1"]
    let files = try CommandRunner.single(
      ["predict", "--run", run, root.appendingPathComponent("test").path] + common)
    XCTAssertEqual(files.status, 0, files.standardError)
    let records = try CommandRunner.single(["predict", "--run", run, data] + common)
    XCTAssertEqual(records.status, 0, records.standardError)
    func rows(_ result: CommandRunner.Result, truth: ([String: Any]) -> String) throws -> [String] {
      try result.lines.map { line in
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let top = try XCTUnwrap((object["top"] as? [[String: Any]])?.first?["class"] as? String)
        return "\(truth(object)) \(top) \(object["logits"]!)"
      }.sorted()
    }
    let fromFiles = try rows(files) {
      ($0["image"] as! String).split(separator: "/").dropLast().last.map(String.init)!
    }
    let fromRecords = try rows(records) { $0["label"] as! String }
    XCTAssertEqual(fromFiles.count, 12)
    XCTAssertEqual(fromFiles, fromRecords)

    // The exported model carries the same preparation.
    let model = directory.appendingPathComponent("model.safetensors").path
    XCTAssertEqual(try CommandRunner.single(["export", "--run", run, "--out", model]).status, 0)
    let exported = try CommandRunner.single(
      ["predict", "--model", model, root.appendingPathComponent("test").path] + common)
    XCTAssertEqual(exported.standardOutput, files.standardOutput)

    // A file that is not an image stops the command, naming it, and writes nothing ...
    let broken = root.appendingPathComponent("test/kind1/zz-notes.ppm").path
    try Data("not an image".utf8).write(to: URL(fileURLWithPath: broken))
    let out = directory.appendingPathComponent("out.csv").path
    let failed = try CommandRunner.single(["predict", "--run", run, root.path, "--out", out])
    XCTAssertEqual(failed.status, 1)
    XCTAssertTrue(
      failed.standardError.hasPrefix("imbal-dist: error: \(broken): cannot be decoded"), failed.standardError)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    // ... or is reported and skipped on request.
    let skipping = try CommandRunner.single([
      "predict", "--run", run, root.path, "--out", out, "--skip-unreadable",
    ])
    XCTAssertEqual(skipping.status, 0, skipping.standardError)
    XCTAssertTrue(
      skipping.standardError.contains("warning: skipped \(broken): cannot be decoded"), skipping.standardError
    )
    XCTAssertTrue(skipping.standardError.contains("predicted 60 images (1 skipped)"), skipping.standardError)
    let written = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(written.count, 1 + 60)
    XCTAssertFalse(written.contains { $0.contains("zz-notes") })
    // An existing output is never replaced without --force.
    let again = try CommandRunner.single([
      "predict", "--run", run, root.path, "--out", out, "--skip-unreadable",
    ])
    XCTAssertEqual(again.status, 1)
    XCTAssertEqual(
      again.standardError,
      "imbal-dist: error: \(out) already exists; choose another --out or add --force to replace it\n")
  }

  func testInputsPredictCannotUseAreRefusedWithOneLine() throws {
    let cifar = try SyntheticData.cifar10(in: directory, perBatch: 10, test: 20)
    let data = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
    let run = directory.appendingPathComponent("run").path
    XCTAssertEqual(
      try CommandRunner.single([
        "train", "--data", data, "--epochs", "1", "--epoch-size", "128", "--out", run, "--tsne-points", "0",
      ]).status, 0)
    let other = try CommandRunner.single(["predict", "--run", run, cifar])
    XCTAssertEqual(other.status, 1)
    XCTAssertEqual(
      other.standardError,
      "imbal-dist: error: \(cifar): holds 3×32×32 images of 10 classes; the model takes 1×28×28 images of 10 classes (predict on its image files instead)\n"
    )
    let mixed = try CommandRunner.single(["predict", "--run", run, data, cifar])
    XCTAssertEqual(mixed.status, 1)
    XCTAssertTrue(mixed.standardError.contains("is a packed dataset: give it alone"), mixed.standardError)
    let model = directory.appendingPathComponent("model.safetensors").path
    XCTAssertEqual(try CommandRunner.single(["export", "--run", run, "--out", model]).status, 0)
    let elsewhere = try CommandRunner.single(["evaluate", "--model", model, "--data", cifar])
    XCTAssertEqual(elsewhere.status, 1)
    XCTAssertEqual(
      elsewhere.standardError,
      "imbal-dist: error: \(cifar): holds 3×32×32 images of 10 classes; the model takes 1×28×28 images of 10 classes\n"
    )
    let auto = try CommandRunner.single(["predict", "--model", model, data, "--logit-adjust", "auto"])
    XCTAssertEqual(auto.status, 1)
    XCTAssertTrue(auto.standardError.contains("--logit-adjust auto chooses τ on the run's validation split"))
    let missing = try CommandRunner.single([
      "predict", "--run", run, directory.appendingPathComponent("nope").path,
    ])
    XCTAssertEqual(missing.status, 1)
    XCTAssertTrue(missing.standardError.contains("nope"), missing.standardError)
    let usage = try CommandRunner.single(["predict", "--run", run, data, "--logit-adjust", "much"])
    XCTAssertEqual(usage.status, 64)
    XCTAssertTrue(usage.standardError.contains("--logit-adjust must be auto or a τ from 0 to 10, not much"))
    let both = try CommandRunner.single([
      "predict", "--run", run, data, "--logit-adjust", "1", "--tau-norm", "1",
    ])
    XCTAssertEqual(both.status, 64)
    XCTAssertTrue(both.standardError.contains("--logit-adjust and --tau-norm are two post-hoc corrections"))
    // τ chosen on the validation split: the report says which and why.
    let tauNorm = try CommandRunner.single(["evaluate", "--run", run, "--tau-norm", "auto"])
    XCTAssertEqual(tauNorm.status, 0, tauNorm.standardError)
    let report = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(tauNorm.lines.last!.utf8)) as? [String: Any])
    let chosen = try XCTUnwrap(report["tau_normalization"] as? [String: Any])
    XCTAssertEqual(chosen["chosen_by"] as? String, "macro-f1 on val")
    XCTAssertTrue(
      ScoreAdjustment.candidates(.tauNormalization).contains(try XCTUnwrap(chosen["tau"] as? Double)))
    XCTAssertTrue(tauNorm.lines.first!.contains("classifier τ-normalised with τ = "), tauNorm.lines.first!)
  }
}
