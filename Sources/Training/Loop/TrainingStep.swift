import Loader
import Model

/// One optimizer step of data-parallel training. For each objective of the iteration: zero the
/// gradients, forward, the losses, backward with the gradient sync, SGD on the trainable range
/// (as llm.c's `gpt2_zero_grad`, `_forward`, `_backward`, `_update`). The trainer and
/// `imbal-dist bench` both take this step, so the benchmark times exactly what training does.
final class TrainingStep {
  let network: Network
  let optimizer: SGD
  let parallel: DataParallel
  let hooks: [StepHook]
  private let losses: IterationLosses
  private let globalBatch: Int
  private let seed: UInt64
  private let reconstructionWeight: Double
  /// Segmentation: the soft Dice loss's weight beside the per-pixel loss.
  private let diceWeight: Double
  /// Whether the network segments (its loss is on the class maps).
  private let segments: Bool
  private(set) var phase: TrainingPhase
  private(set) var sync: GradientSync
  /// MaxNorm's radius for the classifier's rows after every update (weight balancing's stage).
  private(set) var maxNormRadius: Double?
  /// LWS's scales, updated instead of the classifier's parameters (its stage).
  private(set) var classScales: ClassScales?
  /// The gradient sync's waits, summed over the steps since the last reset.
  var waits = GradientSync.Waits()

  init(
    network: Network, optimizer: SGD, parallel: DataParallel, batch: (local: Int, global: Int),
    normalization: Normalization, seed: UInt64, reconstructionWeight: Double, diceWeight: Double = 0,
    hooks: [StepHook], phase: TrainingPhase
  ) {
    (self.network, self.optimizer, self.parallel, self.hooks) = (network, optimizer, parallel, hooks)
    segments = network.prediction == .classMaps
    self.diceWeight = diceWeight
    losses = IterationLosses(
      network: network, localBatch: batch.local,
      classes: network.shape(of: network.prediction)!.channels,
      normalization: normalization, globalBatch: batch.global)
    (globalBatch, self.seed, self.reconstructionWeight, self.phase) = (
      batch.global, seed, reconstructionWeight, phase
    )
    sync = parallel.gradientSync(for: network, overlapped: false)
    begin(phase)
  }

  /// Trains what `phase` trains from now on, with its weight decay and gradient sync, capping
  /// the classifier's rows at `maxNormRadius` after every update when one is given, or with
  /// `classScales` training LWS's scales in place of the classifier's parameters.
  func begin(_ phase: TrainingPhase, maxNormRadius: Double? = nil, classScales: ClassScales? = nil) {
    network.freeze(phase.frozen)
    network.setTraining(true)
    optimizer.weightDecay = Float(phase.weightDecay)
    (self.maxNormRadius, self.classScales) = (maxNormRadius, classScales)
    self.phase = phase
    sync = parallel.gradientSync(for: network, overlapped: !hooks.contains { $0.readsLocalGradients })
  }

  /// One step on this rank's share of the batch; the first objective's loss, predictions (of
  /// each image's dominant class) and reconstruction error are added to `totals`.
  func callAsFunction(
    input: Tensor, targets: Targets, objectives: [ClassificationLoss?], learningRate: Double,
    at position: StepPosition, totals: inout EpochTotals
  ) throws {
    for hook in hooks { try hook.beforeForward(position, input: input) }
    network.seedStochasticLayers(seed: seed, step: position.step - 1, rank: parallel.rank)
    for (index, objective) in objectives.enumerated() {
      let outputs = index == 0 ? phase.outputs(of: network) : [.logits]
      network.zeroGradients()
      network.forward(input, outputs: outputs)
      let result = try lossesOf(
        objective, reconstructs: outputs.contains(.reconstruction), input, targets, position)
      if index == 0 { add(result, targets, to: &totals) }
      try backward(input, result.contribution.outputGradients, position)
      update(learningRate: learningRate)
      if let maxNormRadius { network.capClassifierRows(radius: maxNormRadius) }
      if index == 0 {
        for hook in hooks {
          try hook.afterFirstUpdate(
            position, loss: result.contribution.loss, normalizer: result.localNormalizer, network: network)
        }
      }
    }
    for hook in hooks { try hook.afterStep(position, network: network) }
  }

  /// SGD on the trainable parameters, or on LWS's scales.
  private func update(learningRate: Double) {
    if classScales != nil {
      classScales!.step(
        network: network, learningRate: learningRate, momentum: Double(optimizer.momentum),
        weightDecay: Double(optimizer.weightDecay))
      return
    }
    optimizer.step(
      parameters: network.parameters, gradients: network.gradients, learningRate: Float(learningRate),
      range: network.trainableRange)
  }

  private struct Losses {
    let contribution: IterationLosses.Contribution
    let localNormalizer: Double
  }

  /// The iteration's losses on the last forward, each rank's gradient scaled by the global
  /// normaliser: the batch size, or for a weighted mean `Σ w_y` over the ranks.
  private func lossesOf(
    _ objective: ClassificationLoss?, reconstructs: Bool, _ input: Tensor, _ targets: Targets,
    _ position: StepPosition
  ) throws -> Losses {
    if segments, let objective, let masks = targets.masks {
      return try segmentationLosses(objective, masks, position)
    }
    var normalizer = (local: Double(targets.labels.count), global: Double(globalBatch))
    if let objective {
      normalizer.local = objective.normalizer(targets: targets)
      if objective.normalizingWeights != nil { normalizer.global = try parallel.sum(normalizer.local) }
    }
    let contribution = losses.compute(
      network: network, input: input, targets: targets, objective: objective,
      globalNormalizer: normalizer.global,
      reconstructionWeight: reconstructs ? (phase.classifies ? reconstructionWeight : 1) : nil)
    guard contribution.loss.isFinite else {
      throw TrainingError.nonFiniteLoss(
        epoch: position.epoch, step: position.stepInEpoch, loss: contribution.loss)
    }
    return Losses(contribution: contribution, localNormalizer: normalizer.local)
  }

  /// The per-pixel loss (and Dice) of the class maps; the normaliser — labelled pixels, or
  /// their `Σ w_y` — is summed over the ranks, which hold different numbers of them.
  private func segmentationLosses(_ objective: ClassificationLoss, _ masks: [UInt8], _ position: StepPosition)
    throws -> Losses
  {
    let local = losses.pixelNormalizer(objective, masks: masks)
    let contribution = try losses.computeSegmentation(
      network: network, masks: masks, objective: objective, normalizer: (local, try parallel.sum(local)),
      diceWeight: diceWeight, sum: parallel.sum)
    guard contribution.loss.isFinite else {
      throw TrainingError.nonFiniteLoss(
        epoch: position.epoch, step: position.stepInEpoch, loss: contribution.loss)
    }
    return Losses(contribution: contribution, localNormalizer: local)
  }

  /// Backward into the gradient arena, then the sum over the ranks: each rank's gradient is
  /// already divided by the global normaliser, so the sum is the gradient of the global mean.
  private func backward(
    _ input: Tensor, _ outputGradients: [(NetworkOutput, Tensor)], _ position: StepPosition
  ) throws {
    sync.prepare(backwardFrom: outputGradients.map(\.0))
    network.backward(input: input, outputGradients: outputGradients, gradientsReady: sync.gradientsReady)
    try parallel.rethrowBatchNormFailure()
    for hook in hooks { try hook.beforeGradientSync(position, network: network) }
    let waited = try sync.finish()
    waits.slowerRanks += waited.slowerRanks
    waits.communication += waited.communication
  }

  private func add(_ losses: Losses, _ targets: Targets, to totals: inout EpochTotals) {
    let labels = targets.dominantLabels
    totals.loss += losses.contribution.loss
    totals.normalizer += losses.localNormalizer
    if segments, let masks = targets.masks {
      masks.withUnsafeBufferPointer {
        totals.predictions.addPixels(maps: network.output(.classMaps), masks: $0)
      }
      return
    }
    labels.withUnsafeBufferPointer {
      totals.predictions.add(
        logits: network.output(.logits).pointer, labels: $0.baseAddress!, count: labels.count)
    }
    if losses.contribution.outputGradients.contains(where: { $0.0 == .reconstruction }) {
      totals.squaredError += losses.contribution.squaredError
      totals.reconstructedElements += Double(network.inputShape.perImage * labels.count)
    }
  }
}
