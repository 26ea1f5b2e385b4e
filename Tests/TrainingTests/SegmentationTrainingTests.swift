import Foundation
import Loader
import Training
import XCTest

/// `train --task segmentation` end to end on the garment-canvas benchmark: class maps trained
/// with focal + Dice on augmented images and masks (copy-paste too), validated by mIoU (the task's default
/// selection), tested into test.json with the pixel metrics, logged with mIoU (CSV, TensorBoard:
/// checked with TensorBoard's own reader when the venv is there), reported with the test images'
/// masks, `evaluate` reproducing them (and taking `--tta flip`); `predict` and `export` refuse
/// the run in one line, as `train` refuses a dataset without masks.
final class SegmentationTrainingTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "seg-train-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  func testASegmentationRunTrainsValidatesAndTestsByPixels() throws {
    let data = directory.appendingPathComponent("seg").path
    let pack = try CommandRunner.single([
      "pack", "--source", "fashion-mnist-seg", "--out", data, "--imbalance", "exp:100", "--shards", "2",
    ])
    XCTAssertEqual(pack.status, 0, pack.standardError)
    let run = directory.appendingPathComponent("run").path
    let train = try CommandRunner.single([
      "train", "--data", data, "--task", "segmentation", "--model", "unet", "--loss", "focal",
      "--dice-weight",
      "0.5", "--augment", "standard", "--copy-paste", "0.5", "--epochs", "2", "--epoch-size", "256",
      "--batch-size", "32",
      "--tsne-points", "50", "--out", run,
    ])
    XCTAssertEqual(train.status, 0, train.standardError)
    let epochLines = train.lines.filter { $0.hasPrefix("epoch ") }
    XCTAssertEqual(epochLines.count, 2, train.standardOutput)
    XCTAssertTrue(epochLines.allSatisfy { $0.contains("train pixel acc") && $0.contains("val mIoU") })
    XCTAssertTrue(epochLines[0].hasSuffix("(best miou)"), epochLines[0])
    XCTAssertTrue(train.standardOutput.contains(", copy-paste 0.5, "), train.standardOutput)

    let report = try TestReport(contentsOf: "\(run)/test.json")
    let segmentation = try XCTUnwrap(report.segmentation)
    XCTAssertEqual(segmentation, SegmentationMetrics(report.confusion))
    XCTAssertEqual(segmentation.iou.count, 11)
    XCTAssertNil(report.shotGroups)
    // Every labelled test pixel is counted once; the ignored ones nowhere.
    let test = try DatasetDirectory(path: data).maskTotals(.test)
    XCTAssertEqual(report.perClass.map(\.support), test.pixels)
    XCTAssertGreaterThan(test.ignored, 0)
    XCTAssertTrue(train.standardOutput.contains("  pixels: mIoU \(fixed(segmentation.meanIoU, 4))"))
    // valid.csv's mIoU per epoch, the best of them the tested checkpoint's epoch.
    let valid = try MetricsLog(path: "\(run)/valid.csv", keepingEpochsUpTo: .max).rows
    XCTAssertEqual(valid.count, 2)
    let scores = valid.map { $0.meanIoU ?? -1 }
    XCTAssertTrue(scores.allSatisfy { $0 >= 0 } && valid.allSatisfy { $0.frequencyWeightedIoU != nil })
    XCTAssertEqual(report.epoch, scores[1] > scores[0] ? 2 : 1)
    XCTAssertTrue(epochLines[0].contains("val mIoU \(fixed(scores[0], 4))"), epochLines[0])
    // The report's pixel metrics: the headline table, IoU, Dice and pixel share per class (also
    // in per_class.csv), the mIoU curve and IoU bars, and the test images' masks.
    let html = try String(contentsOfFile: "\(run)/report.html", encoding: .utf8)
    XCTAssertTrue(html.contains("<tr><td>\(fixed(segmentation.meanIoU, 4))</td>"), "mIoU in the report")
    XCTAssertTrue(html.contains("<th>IoU</th><th>Dice</th><th>pixel share</th>"))
    XCTAssertTrue(html.contains("<img src=\"test-masks.png\""))
    for file in ["miou.svg", "iou-by-pixel-share.svg", "test-masks.png"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/\(file)"), file)
    }
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: "\(run)/recall-by-class.svg"), "image counts by rarest class")
    let perClass = try String(contentsOfFile: "\(run)/per_class.csv", encoding: .utf8).split(separator: "\n")
    XCTAssertTrue(perClass[0].hasSuffix(",shot_group,iou,dice,pixel_share"), String(perClass[0]))
    XCTAssertEqual(perClass.count, 12)

    let evaluate = try CommandRunner.single(["evaluate", "--run", run])
    XCTAssertEqual(evaluate.status, 0, evaluate.standardError)
    let line = directory.appendingPathComponent("evaluate.json")
    try Data(evaluate.lines.last!.utf8).write(to: line)
    let again = try TestReport(contentsOf: line.path)
    XCTAssertEqual(again.segmentation, report.segmentation)
    XCTAssertEqual(again.confusionMatrix, report.confusionMatrix)
    let flip = try CommandRunner.single(["evaluate", "--run", run, "--tta", "flip"])
    XCTAssertEqual(flip.status, 0, flip.standardError)
    XCTAssertTrue(flip.lines.last!.contains("\"tta\":\"flip\""))
    XCTAssertTrue(flip.lines.last!.contains("\"segmentation\":{"))
    let adjusted = try CommandRunner.single(["evaluate", "--run", run, "--logit-adjust", "1"])
    XCTAssertEqual(adjusted.status, 1)
    XCTAssertEqual(
      adjusted.standardError,
      "imbal-dist: error: \(run) is a segmentation run: --logit-adjust and --tau-norm adjust image classifiers\n"
    )
    let shifted = try CommandRunner.single(["evaluate", "--run", run, "--tta", "flip-shift"])
    XCTAssertEqual(shifted.status, 1)
    XCTAssertEqual(
      shifted.standardError,
      "imbal-dist: error: \(run) is a segmentation run: --tta flip-shift averages image classifiers' scores; use none or flip\n"
    )

    for (command, arguments) in [
      ("predict", ["predict", "--run", run, data]),
      ("export", ["export", "--run", run, "--out", directory.appendingPathComponent("model").path]),
    ] {
      let refused = try CommandRunner.single(arguments)
      XCTAssertEqual(refused.status, 1, command)
      XCTAssertEqual(
        refused.standardError,
        "imbal-dist: error: \(run) is a segmentation run; \(command) takes image classifiers only in this build\n"
      )
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("model").path))

    let fashion = try CommandRunner.packFashionMNIST(into: directory, imbalance: "exp:10", shards: 2)
    let noMasks = try CommandRunner.single([
      "train", "--data", fashion, "--task", "segmentation", "--model", "unet", "--max-steps", "1",
    ])
    XCTAssertEqual(noMasks.status, 1)
    XCTAssertEqual(
      noMasks.standardError,
      "imbal-dist: error: \(fashion): has no label masks; --task segmentation needs a dataset packed with masks (pack --source seg-folder, voc or fashion-mnist-seg)\n"
    )

    let python = CommandRunner.repositoryRoot.appendingPathComponent(".build/python-venv/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: python) else {
      throw MissingRequirement.skip("no .build/python-venv: TensorBoard's reader did not check the run")
    }
    let check = try CommandRunner.run(
      executable: python,
      arguments: [CommandRunner.repositoryRoot.appendingPathComponent("scripts/check-interop.py").path, run])
    XCTAssertEqual(check.status, 0, check.standardOutput + check.standardError)
    XCTAssertTrue(
      check.standardOutput.contains("valid.csv's miou"), check.standardOutput + check.standardError)
  }
}
