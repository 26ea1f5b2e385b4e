import Distributed
import Foundation
import Loader
import Model

/// The data-parallel training loop of DESIGN.md, top to bottom: data → identical replicas →
/// for every step (batch → forward → loss → backward → allreduce → SGD) → rank-0 evaluation
/// after every epoch → test with the best model.
public final class Trainer {
  public let configuration: TrainingConfiguration
  public let communicator: Communicator
  /// A new run, one replacing the run in `configuration.output.directory`, or continuing it
  /// from its last checkpoint.
  public let start: RunStart
  var resume: Bool { start == .resume }
  let console: Console

  public init(configuration: TrainingConfiguration, communicator: Communicator, start: RunStart = .fresh) {
    self.configuration = configuration
    self.communicator = communicator
    self.start = start
    console = Console(enabled: communicator.rank == 0 && !configuration.output.quiet)
  }

  /// How the epochs ended.
  enum Ending: Equatable {
    /// Every epoch (or `--max-steps`) done, at this many training images per second.
    case finished(imagesPerSecond: Double)
    /// `--stop-after-epoch`.
    case stoppedEarly
    /// SIGTERM or SIGUSR1 on some rank, after a checkpoint.
    case stoppedBySignal
  }

  /// Trains and returns the test report on rank 0 (`nil` on other ranks, or when the run
  /// stopped early: `maxSteps`, which also skips evaluation and the run directory, or
  /// `stopAfterEpoch`).
  @discardableResult
  public func run() throws -> TestReport? {
    let session = try TrainingSession(
      configuration, parallel: DataParallel(communicator: communicator), start: start, console: console)
    printHeader(session)
    let ending = try trainEpochs(session)
    if let prefix = configuration.debugging.dumpParametersPrefix {
      // Raw little-endian Float32 values.
      try writeAtomically(
        Data(buffer: UnsafeBufferPointer(session.network.parameters.buffer)),
        to: "\(prefix).rank\(communicator.rank).f32")
    }
    var report: TestReport?
    if case .finished(let imagesPerSecond) = ending, configuration.debugging.maxSteps == nil,
      let recorder = session.recorder, let test = session.evaluationSplits?.test
    {
      report = try testBestCheckpoint(
        session, recorder: recorder, test: test, imagesPerSecond: imagesPerSecond)
    }
    try session.parallel.barrier()
    if ending == .stoppedBySignal { throw TrainingError.stoppedBySignal }
    return report
  }

  /// The epochs from the first not yet done, each followed by its recording on rank 0.
  func trainEpochs(_ session: TrainingSession) throws -> Ending {
    let config = configuration
    let firstStep = session.stepsDone
    var trainingSeconds = 0.0
    var progress = Progress(console: console, every: config.output.logEvery, quiet: config.output.quiet)
    for epoch in stride(from: session.state.epochsDone + 1, through: config.totalEpochs, by: 1)
    where session.stepsDone < session.lastStep {
      let started = ContinuousClock.now
      let phase = TrainingPhase.phase(ofEpoch: epoch, in: session.phases)
      let stepsBefore = session.stepsDone
      guard let totals = try trainEpoch(epoch, phase: phase, session, progress: &progress) else {
        return .stoppedBySignal
      }
      let seconds = seconds(since: started)
      trainingSeconds += seconds
      try session.parallel.averageBatchNormBuffers(of: session.network)
      try session.parallel.checkReplicasIdentical(session.network, after: "epoch \(epoch)")
      guard config.debugging.maxSteps == nil else { continue }
      if let recorder = session.recorder, let validation = session.evaluationSplits?.validation {
        let summary = EpochSummary(
          epoch: epoch, phase: phase, step: session.stepsDone, totals: totals, seconds: seconds,
          images: (session.stepsDone - stepsBefore) * session.plan.globalBatch,
          learningRate: session.learningRate(
            of: phase, step: session.stepsDone - 1 - (phase.firstEpoch - 1) * session.plan.stepsPerEpoch,
            config))
        try record(summary, session, recorder: recorder, validation: validation)
      }
      // The other ranks wait here while rank 0 evaluates; a stop signal on any rank stops all.
      if try session.parallel.anyRankSignalled(StopRequest.received) && epoch < config.totalEpochs {
        console.line(
          "stopped by a signal after epoch \(epoch); checkpoint saved, continue with --resume \(session.run.path)"
        )
        return .stoppedBySignal
      }
      if epoch == config.output.stopAfterEpoch && epoch < config.totalEpochs {
        console.line(
          "stopped after epoch \(epoch) of \(config.totalEpochs); continue with --resume \(session.run.path)")
        return .stoppedEarly
      }
    }
    let images = Double((session.stepsDone - firstStep) * session.plan.globalBatch)
    return .finished(imagesPerSecond: trainingSeconds > 0 ? images / trainingSeconds : 0)
  }

  /// The steps of one epoch; returns its totals summed over the ranks, or `nil` when a stop
  /// signal ended it early (after a checkpoint).
  func trainEpoch(
    _ epoch: Int, phase: TrainingPhase, _ session: TrainingSession, progress: inout Progress
  ) throws -> EpochTotals? {
    let plan = session.plan
    session.stream.startEpoch(epoch - 1, firstStep: session.state.stepInEpoch)
    if phase.isClassifierStage && epoch == phase.firstEpoch && session.state.stepInEpoch == 0 {
      try session.beginClassifierStage(phase, configuration)
    }
    session.trainingStep.begin(
      phase, maxNormRadius: phase.maxNorm == nil ? nil : session.state.maxNormRadius,
      classScales: phase.kind == .lws ? session.state.classScales : nil)
    let phaseFirstStep = (phase.firstEpoch - 1) * plan.stepsPerEpoch
    // An autoencoder phase has no classification objective: one iteration on the MSE alone.
    let objectives: [ClassificationLoss?] =
      phase.classifies ? session.objectives(of: phase).losses(epoch: epoch - phase.firstEpoch + 1) : [nil]
    // A run resumed mid-epoch starts late, rank 0 from the saved (global) totals.
    let firstStepInEpoch = session.state.stepInEpoch
    var totals = EpochTotals(classes: session.classes)
    if firstStepInEpoch > 0 && session.parallel.rank == 0 {
      totals = EpochTotals(flattened: session.state.epochTotals, classes: session.classes) ?? totals
    }
    (session.state.stepInEpoch, session.state.epochTotals) = (0, [])
    let started = ContinuousClock.now
    for s in firstStepInEpoch..<plan.stepsPerEpoch where session.stepsDone < session.lastStep {
      try session.loadBatch(step: s)
      let position = StepPosition(epoch: epoch, stepInEpoch: s + 1, step: session.stepsDone + 1)
      try session.trainingStep(
        input: session.input, targets: session.targets, objectives: objectives,
        learningRate: session.learningRate(
          of: phase, step: session.stepsDone - phaseFirstStep, configuration),
        at: position,
        totals: &totals)
      session.stepsDone += 1
      if let scales = session.trainingStep.classScales { session.state.classScales = scales }
      if let every = configuration.debugging.checkReplicasEvery, session.stepsDone % every == 0 {
        try session.parallel.checkReplicasIdentical(session.network, after: "step \(session.stepsDone)")
      }
      let consensus = try session.parallel.stepConsensus(signal: StopRequest.received, totals: totals)
      if !configuration.debugging.enabled {
        let (done, elapsed) = (s + 1 - firstStepInEpoch, seconds(since: started))
        progress.update(
          epoch: epoch, epochs: configuration.totalEpochs, step: done,
          steps: plan.stepsPerEpoch - firstStepInEpoch,
          loss: consensus.meanLoss, imagesPerSecond: Double(done * plan.globalBatch) / elapsed,
          seconds: elapsed)
      }
      if consensus.stop && s + 1 < plan.stepsPerEpoch && session.stepsDone < session.lastStep {
        progress.finishEpoch()
        try stopMidEpoch(epoch, afterStep: s + 1, totals: totals, session)
        return nil
      }
    }
    progress.finishEpoch()
    return try session.parallel.gatherOnRankZero(totals)
  }

  /// A stop signal mid-epoch: every rank stops after the same step, and rank 0 saves `last.*`
  /// with the epoch's totals so far, which `--resume` continues exactly.
  private func stopMidEpoch(
    _ epoch: Int, afterStep step: Int, totals: EpochTotals, _ session: TrainingSession
  )
    throws
  {
    let summed = try session.parallel.gatherOnRankZero(totals)
    try session.parallel.averageBatchNormBuffers(of: session.network)
    if let recorder = session.recorder {
      var partial = session.state
      (partial.epochsDone, partial.stepsDone, partial.stepInEpoch, partial.epochTotals) = (
        epoch - 1, session.stepsDone, step, summed.flattened
      )
      try recorder.saveLast(session.network, optimizer: session.optimizer, state: partial)
    }
    console.line(
      "stopped by a signal after step \(step) of epoch \(epoch); checkpoint saved, continue with --resume \(session.run.path)"
    )
  }

  private func printHeader(_ session: TrainingSession) {
    let config = configuration
    let (manifest, plan, network) = (session.manifest, session.plan, session.network)
    let train = manifest.splits.train
    let outputs = session.phases[0].outputs(of: network)
    console.line(
      "imbal-dist: \(config.model.architecture.rawValue) (\(config.model.setting)\(config.model.syncBatchNorm ? ", sync-bn" : "")), "
        + "\(network.layout.count) parameters, "
        + "\(fixed(Double(network.forwardFLOPsPerImage(for: outputs)) / 1e6, 1)) M multiply-adds per image")
    console.line(
      "data: \(session.dataset.path) (\(manifest.source.kind), imbalance \(manifest.imbalance)), train \(train.count) "
        + "(per class \(train.classCounts.map(String.init).joined(separator: " "))), "
        + "val \(manifest.splits.val.count), test \(manifest.splits.test.count)")
    console.line(
      "run: \(communicator.size) rank(s), global batch \(plan.globalBatch) (\(session.stream.localBatch) on rank 0), "
        + "\(plan.shards) training shards, \(plan.stepsPerEpoch) steps/epoch, sampler \(config.sampler.kind.rawValue), loss \(config.loss.kind.rawValue)"
        + (config.loss.diceWeight > 0 ? " + \(config.loss.diceWeight) × Dice" : "") + ", "
        + "lr \(config.optimization.learningRate), seed \(config.data.seed)"
        + (config.augmentation.preset == .none ? "" : ", augment \(config.augmentation.preset.rawValue)")
        + (config.augmentation.resizedCropScale.map { ", resized crop \($0)" } ?? "")
        + (config.augmentation.mixing.mixes
          ? ", mix \(config.augmentation.mixing.kind.rawValue) α \(config.augmentation.mixing.alpha)" : "")
        + (config.augmentation.copyPaste.pastes
          ? ", copy-paste \(config.augmentation.copyPaste.probability)" : "")
        + ", loader \(session.stream.loaderThreads) thread(s), \(config.data.loaderMemory) MB")
    let state = session.state
    if resume {
      let within =
        state.stepInEpoch > 0 ? " and \(state.stepInEpoch) steps of epoch \(state.epochsDone + 1)" : ""
      console.line(
        "resuming \(session.run.path) after epoch \(state.epochsDone)\(within) (step \(state.stepsDone))")
    }
  }
}
