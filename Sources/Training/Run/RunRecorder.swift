import Foundation
import Model

/// Rank 0's writer of the run directory while training: the metric logs and TensorBoard
/// scalars after every epoch, `last` checkpoint and state after every epoch, `best` when the
/// validation score improves, and at the end test.json, the embedding and the report.
final class RunRecorder {
  let run: RunDirectory
  private var trainLog: MetricsLog
  private var validLog: MetricsLog
  private let events: EventFileWriter
  /// Stamped on every checkpoint (`run_identity`).
  private let identity: [String: String]
  private let classNames: [String]

  /// A fresh run writes `hparams.json`; a resumed one adds the resume to its rank history and
  /// keeps the log rows of the epochs its checkpoint covers.
  init(run: RunDirectory, hyperParameters: HyperParameters, resumedFrom state: TrainingState?) throws {
    self.run = run
    var recorded = hyperParameters
    if let state {
      recorded = try HyperParameters(run: run)
      recorded.resumed(
        ranks: hyperParameters.ranks, afterEpoch: state.epochsDone, step: state.stepsDone,
        restartEpochs: hyperParameters.configuration.optimization.restartEpochs)
      trainLog = try MetricsLog(path: run.trainLog, keepingEpochsUpTo: state.epochsDone)
      validLog = try MetricsLog(path: run.validLog, keepingEpochsUpTo: state.epochsDone)
    } else {
      trainLog = MetricsLog(path: run.trainLog)
      validLog = MetricsLog(path: run.validLog)
    }
    try writeAtomically(recorded.encoded(), to: run.hyperParameters)
    identity = recorded.runIdentity.map { [HyperParameters.identityKey: $0] } ?? [:]
    classNames = recorded.dataset.classNames
    try trainLog.write()
    try validLog.write()
    events = try EventFileWriter(directory: run.path)
  }

  func record(train row: MetricsRow) throws {
    try trainLog.append(row)
    try events.scalars(row.scalars.map { ("train/\($0.name)", $0.value) }, step: row.step)
  }

  /// `classIoU`: a segmentation run's IoU per class (none for a class in neither the ground
  /// truth nor the predictions), TensorBoard's `valid/iou/<class name>` ('/' in a name as '_').
  func record(valid row: MetricsRow, classIoU: [Double?] = []) throws {
    try validLog.append(row)
    let perClass = zip(classNames, classIoU).compactMap { name, iou in
      iou.map { ("valid/iou/" + name.replacingOccurrences(of: "/", with: "_"), $0) }
    }
    try events.scalars(row.scalars.map { ("valid/\($0.name)", $0.value) } + perClass, step: row.step)
  }

  func saveBest(_ network: Network, epoch: Int, metric: SelectionMetric, score: Double) throws {
    let file = ModelCheckpoint.make(
      network,
      metadata: identity.merging(["epoch": "\(epoch)", "select_by": metric.rawValue, "score": "\(score)"]) {
        $1
      })
    try writeAtomically(file.encoded(), to: run.bestCheckpoint)
  }

  /// The parameters first, then the state that points at them: a crash between the two
  /// leaves a state of the previous epoch with newer parameters, which `--resume` detects by
  /// the step both files record.
  func saveLast(_ network: Network, optimizer: SGD, state: TrainingState) throws {
    let parameters = ModelCheckpoint.make(
      network,
      metadata: identity.merging(["epoch": "\(state.epochsDone)", "step": "\(state.stepsDone)"]) { $1 })
    try writeAtomically(parameters.encoded(), to: run.lastCheckpoint)
    var stateFile = state.file(velocity: optimizer.velocity, layout: network.layout)
    stateFile.metadata.merge(identity) { $1 }
    try writeAtomically(stateFile.encoded(), to: run.lastState)
  }

  func finish(test: TestReport, embedding: [(x: Double, y: Double)], labels: [Int32]) throws {
    try writeAtomically(test.file, to: run.testResult)
    if !embedding.isEmpty { try RunReport.writeEmbedding(embedding, labels: labels, to: run.embedding) }
    try RunReport.build(run)
  }
}
