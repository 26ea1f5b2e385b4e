extension TrainingConfiguration {
  /// Checks ranges and combinations before any work starts, wherever the values came from
  /// (flags, a YAML file, a sweep); the message names the option as the command line spells it.
  public func validate() throws {
    func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
      if !condition { throw ConfigurationError.invalid(message()) }
    }
    try validateModelAndOptimization(check)
    try validateImbalance(check)
    let (o, d) = (output, debugging)
    if let epochSize = data.epochSize { try check(epochSize >= 1, "--epoch-size must be at least 1") }
    if let threads = data.loaderThreads {
      try check((0...64).contains(threads), "--loader-threads must be between 0 and 64")
    }
    try check(data.loaderMemory >= 0, "--loader-memory must be 0 MB or more")
    let a = augmentation
    if let padding = a.cropPadding { try check(padding >= 0, "--crop-padding must be non-negative") }
    if let cutout = a.cutout { try check(cutout >= 0, "--cutout must be non-negative") }
    if let scale = a.resizedCropScale {
      try check(
        scale.lower > 0 && scale.upper <= 1, "--resized-crop-scale must lie in (0, 1] (got \(scale))")
    }
    if let ratio = a.resizedCropRatio {
      try check(a.resizedCropScale != nil, "--resized-crop-ratio needs --resized-crop-scale")
      try check(ratio.lower > 0, "--resized-crop-ratio must be positive (got \(ratio))")
    }
    for (name, value) in [
      ("brightness", a.brightness), ("contrast", a.contrast), ("saturation", a.saturation),
    ] {
      if let value {
        try check(value >= 0 && value.isFinite, "--\(name) must be non-negative (got \(value))")
      }
    }
    let mixing = a.mixing
    try check(
      mixing.alpha > 0 && mixing.alpha.isFinite, "--mix-alpha must be positive (got \(mixing.alpha))")
    try check(
      mixing.remixKappa >= 1 && mixing.remixKappa.isFinite,
      "--remix-kappa must be at least 1 (got \(mixing.remixKappa))")
    try check(
      mixing.remixTau >= 0 && mixing.remixTau <= 1, "--remix-tau must be in [0, 1] (got \(mixing.remixTau))")
    try check(
      data.imbalanceRatio >= 1 && data.imbalanceRatio.isFinite,
      "--imbalance-ratio must be at least 1 (got \(data.imbalanceRatio))")
    try check(o.evalEvery >= 1, "--eval-every must be at least 1")
    try check(o.tsnePoints >= 0, "--tsne-points must be non-negative")
    try check(
      o.fewShotBelow >= 0 && o.fewShotBelow <= o.manyShotAbove + 1,
      "--few-shot-below must be between 0 and --many-shot-above + 1 (\(o.manyShotAbove + 1))")
    try check(o.logEvery >= 0, "--log-every must be non-negative")
    if let stop = o.stopAfterEpoch { try check(stop >= 1, "--stop-after-epoch must be at least 1") }
    try check(d.samples >= 1, "--debug-samples must be at least 1")
    if let every = d.checkReplicasEvery { try check(every >= 1, "--check-replicas must be at least 1") }
    if let steps = d.maxSteps { try check(steps >= 1, "--max-steps must be at least 1") }
  }

  private func validateModelAndOptimization(_ check: (Bool, @autoclosure () -> String) throws -> Void) throws
  {
    let (m, o) = (model, optimization)
    if let reason = m.mode.unsupportedReason(for: m.architecture) { try check(false, reason) }
    try validateSegmentation(check)
    try check(
      m.reconstructionWeight >= 0 && m.reconstructionWeight.isFinite,
      "--recon-weight must be non-negative (got \(m.reconstructionWeight))")
    try check(m.autoencoderEpochs >= 1, "--ae-epochs must be at least 1 (got \(m.autoencoderEpochs))")
    try check(o.epochs > 0, "--epochs must be at least 1 (got \(o.epochs))")
    try check(o.globalBatch > 0, "--batch-size must be at least 1 (got \(o.globalBatch))")
    try check(o.learningRate > 0 && o.learningRate.isFinite, "--lr must be positive (got \(o.learningRate))")
    try check(o.momentum >= 0 && o.momentum < 1, "--momentum must be in [0, 1) (got \(o.momentum))")
    try check(o.weightDecay >= 0, "--weight-decay must be non-negative (got \(o.weightDecay))")
    try check(o.warmupEpochs >= 0, "--warmup-epochs must be non-negative")
    try check(
      o.restartEpochs.allSatisfy { $0 >= 1 },
      "--restart-epochs must list epochs of at least 1 (got \(o.restartEpochs.map(String.init).joined(separator: ",")))"
    )
    try check(
      o.classifierRetrainingEpochs >= 0,
      "--crt-epochs must be non-negative (got \(o.classifierRetrainingEpochs))")
    let wb = o.weightBalancing
    try check(wb.epochs >= 0, "--wb-epochs must be non-negative (got \(wb.epochs))")
    try check(
      wb.learningRate > 0 && wb.learningRate.isFinite, "--wb-lr must be positive (got \(wb.learningRate))")
    try check(wb.weightDecay >= 0, "--wb-weight-decay must be non-negative (got \(wb.weightDecay))")
    try check(wb.maxNorm >= 0 && wb.maxNorm <= 1, "--wb-max-norm must be in [0, 1] (got \(wb.maxNorm))")
    let stages = [
      ("--crt-epochs", o.classifierRetrainingEpochs), ("--lws-epochs", o.weightScalingEpochs),
      ("--wb-epochs", wb.epochs),
    ]
    try check(o.weightScalingEpochs >= 0, "--lws-epochs must be non-negative (got \(o.weightScalingEpochs))")
    try check(
      stages.filter { $0.1 > 0 }.count <= 1,
      "\(stages.filter { $0.1 > 0 }.map(\.0).joined(separator: " and ")) are second stages for the classifier: give one"
    )
    for (option, epochs) in stages {
      try check(
        epochs == 0 || m.mode != .separate,
        "\(option) trains the classifier of a jointly trained model in a second stage; --mode separate already trains it alone"
      )
    }
    try check(
      wb.epochs == 0 || !loss.needsCosineClassifier,
      "--wb-epochs caps the classifier's weight norms, which LDAM's cosine classifier does not use")
    try check(
      o.weightScalingEpochs == 0 || !loss.needsCosineClassifier,
      "--lws-epochs scales the classifier's rows, which LDAM's cosine classifier normalises away")
  }

  /// A segmentation run trains the decoder's class maps with a per-pixel loss, alone.
  private func validateSegmentation(_ check: (Bool, @autoclosure () -> String) throws -> Void) throws {
    try check(
      loss.diceWeight >= 0 && loss.diceWeight.isFinite,
      "--dice-weight must be non-negative (got \(loss.diceWeight))")
    let paste = augmentation.copyPaste.probability
    try check(paste >= 0 && paste <= 1, "--copy-paste must be a probability in [0, 1] (got \(paste))")
    guard model.task == .segmentation else {
      try check(paste == 0, "--copy-paste applies to --task segmentation")
      return try check(loss.diceWeight == 0, "--dice-weight applies to --task segmentation")
    }
    try check(
      model.architecture.hasDecoder,
      "--task segmentation needs a model with a decoder (unet or mobilenetv2); \(model.architecture.rawValue) has none"
    )
    try check(
      model.mode == .classification,
      "--task segmentation trains encoder and decoder together; --mode \(model.mode.rawValue) is for classifiers"
    )
    try check(
      [.ce, .weightedCE, .focal].contains(loss.kind),
      "--task segmentation takes --loss ce, weighted-ce or focal at every pixel (and --dice-weight); not \(loss.kind.rawValue)"
    )
    try check(
      !augmentation.mixing.mixes,
      "--task segmentation does not mix images (--mix \(augmentation.mixing.kind.rawValue))")
    try check(
      optimization.classifierStageEpochs == 0,
      "--crt-epochs, --lws-epochs and --wb-epochs re-train an image classifier; --task segmentation has none")
    try check(
      output.testTimeAugmentation != .flipShift,
      "--tta flip-shift averages an image classifier's scores; --task segmentation takes --tta none or flip")
  }

  private func validateImbalance(_ check: (Bool, @autoclosure () -> String) throws -> Void) throws {
    try check(loss.beta >= 0 && loss.beta < 1, "--beta must be in [0, 1) (got \(loss.beta))")
    try check(loss.gamma >= 0 && loss.gamma.isFinite, "--gamma must be non-negative (got \(loss.gamma))")
    try check(
      loss.cceGamma >= 0 && loss.cceGamma.isFinite, "--cce-gamma must be non-negative (got \(loss.cceGamma))")
    try check(loss.tau >= 0 && loss.tau.isFinite, "--tau must be non-negative (got \(loss.tau))")
    if sampler.kind == .underOver {
      guard let threshold = sampler.undersampleThreshold else {
        throw ConfigurationError.invalid("--sampler under-over needs --undersample-threshold T")
      }
      try check(threshold >= 1, "--undersample-threshold must be at least 1")
    }
    try check(sampler.stage1Epochs >= 0, "--stage1-epochs must be non-negative")
    if let drw = loss.drwEpoch { try check(drw >= 1, "--drw-epoch must be at least 1") }
    try check(
      loss.kind != .weightedCE || loss.classWeights != .none,
      "--loss weighted-ce needs --class-weights (inverse, balanced, effective or log)")
    try check(
      loss.classWeights == .none || [.weightedCE, .focal].contains(loss.kind),
      "--class-weights applies to weighted-ce and focal; \(loss.kind.rawValue) brings its own weighting")
  }
}
