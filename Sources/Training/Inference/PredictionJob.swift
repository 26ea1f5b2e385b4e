import Distributed
import Foundation
import Loader

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `imbal-dist predict` on every rank: each rank classifies its contiguous share of the
/// inputs, rank 0 gathers the lines in input order and writes them at once (a file is
/// replaced atomically, so an error leaves nothing half-written).
public struct PredictionJob: Sendable {
  /// Where the model comes from: a run's checkpoint (`best` or `last`) or an exported file.
  public enum ModelSource: Sendable {
    case run(path: String, checkpoint: String, dataset: String?)
    case exported(path: String)
  }

  public var model: ModelSource
  public var inputs: [String]
  public var split = SplitName.test
  public var format = PredictionFormat.csv
  /// The output file; `nil`: standard output.
  public var out: String?
  public var force = false
  public var topK = 5
  public var batchSize = 128
  public var tta = TestTimeAugmentation.none
  /// A post-hoc adjustment of the scores (`--logit-adjust` or `--tau-norm`).
  public var adjustment: (method: ScoreAdjustment.Method, choice: TauChoice)?
  public var logits = false
  public var skipUnreadable = false

  public init(model: ModelSource, inputs: [String]) {
    self.model = model
    self.inputs = inputs
  }

  public func run(_ communicator: Communicator) throws {
    if let out, !force, FileManager.default.fileExists(atPath: out) {
      throw PredictionError.outputExists(path: out)
    }
    let started = Date()
    let classifier =
      switch model {
      case .run(let path, let checkpoint, let dataset):
        try Classifier(run: RunDirectory(path: path), checkpoint: checkpoint, dataset: dataset)
      case .exported(let path): try Classifier(exported: path)
      }
    let resolved = try PredictionInputs.resolve(inputs, split: split, for: classifier)
    let predictor = Predictor(
      classifier: classifier, evaluator: try evaluator(for: classifier), topK: topK, keepLogits: logits,
      skipUnreadable: skipUnreadable)
    let (rank, ranks, total) = (communicator.rank, communicator.size, resolved.count)
    let share = (rank * total / ranks)..<((rank + 1) * total / ranks)
    var progress = PredictionProgress(total: total, ranks: ranks, enabled: rank == 0)
    let (predictions, skipped) = try predictor.predict(resolved, range: share) { progress.update(done: $0) }
    progress.finish()
    for error in skipped { Console.warning("skipped \(error)") }
    let text = predictions.map { prediction in
      format.line(
        prediction, image: resolved.name(prediction.index), label: resolved.label(prediction.index),
        classNames: classifier.classNames) + "\n"
    }.joined()
    var skippedCount = [Double(skipped.count)]
    try communicator.allreduceSum(&skippedCount)
    guard let parts = try communicator.gather(text: text, root: 0) else { return }
    let labelled = resolved.label(0) != nil
    let header = format.header(
      topK: predictor.topK, labelled: labelled, logitsOf: logits ? classifier.classNames : nil)
    let output = Data(((header.map { $0 + "\n" } ?? "") + parts.joined()).utf8)
    if let out { try writeAtomically(output, to: out) } else { FileHandle.standardOutput.write(output) }
    let seconds = Date().timeIntervalSince(started)
    let written = total - Int(skippedCount[0])
    FileHandle.standardError.write(
      Data(
        ("predicted \(written) images\(skippedCount[0] > 0 ? " (\(Int(skippedCount[0])) skipped)" : "") on \(ranks) rank\(ranks == 1 ? "" : "s") in \(fixed(seconds, 1)) s (\(Int((Double(written) / max(seconds, 1e-9)).rounded())) img/s)"
          + (out.map { ": \($0)" } ?? "") + "\n").utf8))
  }

  /// The evaluator of `--tta` and the post-hoc adjustment (`auto` chooses τ on the run's
  /// validation split, so it needs a run).
  private func evaluator(for classifier: Classifier) throws -> Evaluator {
    let plain = Evaluator(batchSize: batchSize, augmentation: tta)
    guard let adjustment else { return plain }
    return try plain.adjusted(
      adjustment.method, adjustment.choice, network: classifier.network, trainCounts: classifier.trainCounts,
      scoreScale: classifier.scoreScale,
      validation: classifier.dataset.map { dataset in
        { try dataset.nonEmptyRecords(.val, purpose: "to choose τ on") }
      }, normalization: classifier.normalization, metric: classifier.selectBy
    ).0
  }
}

/// Rank 0's progress line on standard error: rewritten in place on a terminal, a plain line
/// every 10 % otherwise. Counts rank 0's share times the ranks (they share the work evenly).
struct PredictionProgress {
  let total: Int
  let ranks: Int
  let enabled: Bool
  private let inPlace = isatty(STDERR_FILENO) == 1
  private let started = Date()
  private var lastTenth = 0

  init(total: Int, ranks: Int, enabled: Bool) {
    (self.total, self.ranks, self.enabled) = (total, ranks, enabled)
  }

  mutating func update(done: Int) {
    guard enabled else { return }
    let estimate = min(total, done * ranks)
    let rate = Double(estimate) / max(Date().timeIntervalSince(started), 1e-9)
    let text = "predict: \(estimate)/\(total) images  \(Int(rate.rounded())) img/s"
    if inPlace {
      FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    } else if estimate * 10 / max(total, 1) > lastTenth {
      lastTenth = estimate * 10 / max(total, 1)
      FileHandle.standardError.write(Data((text + "\n").utf8))
    }
  }

  func finish() {
    if enabled && inPlace { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
  }
}
