import Foundation
import Loader
import Model

/// A configuration is read and written flat under `train`'s option names: `batch-size: 64`,
/// `loss: ldam`, `sync-bn: true` in a `--config` YAML file or a sweep's `base` and `grid`, so a
/// file means exactly what the same flags mean; `hparams.json` writes them in snake_case
/// (`batch_size`), as every JSON file of a run, and either spelling is read. A key left out
/// keeps its default; an unknown key, a wrong type or an unknown value is a
/// `ConfigurationError` naming the option.
extension TrainingConfiguration: Codable {
  /// Every option a configuration has, by its long name.
  public enum Option: String, CodingKey, CaseIterable, Sendable {
    case model, task, mode
    case reconWeight = "recon-weight"
    case aeEpochs = "ae-epochs"
    case syncBN = "sync-bn"
    case epochs
    case batchSize = "batch-size"
    case lr, momentum
    case weightDecay = "weight-decay"
    case warmupEpochs = "warmup-epochs"
    case restartEpochs = "restart-epochs"
    case crtEpochs = "crt-epochs"
    case lwsEpochs = "lws-epochs"
    case wbEpochs = "wb-epochs"
    case wbLR = "wb-lr"
    case wbWeightDecay = "wb-weight-decay"
    case wbMaxNorm = "wb-max-norm"
    case sampler
    case undersampleThreshold = "undersample-threshold"
    case stage1Epochs = "stage1-epochs"
    case loss
    case classWeights = "class-weights"
    case beta, gamma
    case cceGamma = "cce-gamma"
    case tau
    case drwEpoch = "drw-epoch"
    case diceWeight = "dice-weight"
    case data
    case augment
    case cropPadding = "crop-padding"
    case flip, cutout, brightness, contrast, saturation
    case resizedCropScale = "resized-crop-scale"
    case resizedCropRatio = "resized-crop-ratio"
    case mix
    case mixAlpha = "mix-alpha"
    case remixKappa = "remix-kappa"
    case remixTau = "remix-tau"
    case copyPaste = "copy-paste"
    case imbalanceRatio = "imbalance-ratio"
    case epochSize = "epoch-size"
    case seed
    case loaderThreads = "loader-threads"
    case loaderMemory = "loader-memory"
    case out
    case evalEvery = "eval-every"
    case selectBy = "select-by"
    case tta
    case tsnePoints = "tsne-points"
    case manyShotAbove = "many-shot-above"
    case fewShotBelow = "few-shot-below"
    case logEvery = "log-every"
    case quiet
    case stopAfterEpoch = "stop-after-epoch"
    case debug
    case debugSamples = "debug-samples"
    case checkReplicas = "check-replicas"
    case injectFault = "inject-fault"
    case maxSteps = "max-steps"
    case dumpParameters = "dump-parameters"
  }

  /// The option names, sorted: what an unknown key's message lists.
  public static var optionNames: [String] { Option.allCases.map(\.rawValue).sorted() }

  public init(from decoder: Decoder) throws {
    let container = try decoder.container(keyedBy: AnyOptionKey.self)
    var keys: [Option: AnyOptionKey] = [:]
    for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
      guard let option = Option(spelling: key.stringValue) else {
        throw ConfigurationError.unknownOption(key.stringValue, valid: Self.optionNames)
      }
      guard keys.updateValue(key, forKey: option) == nil else {
        throw ConfigurationError.invalid("option \"\(option.rawValue)\" is given twice")
      }
    }
    let r = OptionReader(container: container, keys: keys)
    self.init()
    try r.choice(.model, &model.architecture)
    try r.choice(.task, &model.task)
    try r.choice(.mode, &model.mode)
    try r.value(.reconWeight, &model.reconstructionWeight)
    try r.value(.aeEpochs, &model.autoencoderEpochs)
    try r.value(.syncBN, &model.syncBatchNorm)
    try r.value(.epochs, &optimization.epochs)
    try r.value(.batchSize, &optimization.globalBatch)
    try r.value(.lr, &optimization.learningRate)
    try r.value(.momentum, &optimization.momentum)
    try r.value(.weightDecay, &optimization.weightDecay)
    try r.value(.warmupEpochs, &optimization.warmupEpochs)
    try r.value(.restartEpochs, &optimization.restartEpochs)
    try r.value(.crtEpochs, &optimization.classifierRetrainingEpochs)
    try r.value(.lwsEpochs, &optimization.weightScalingEpochs)
    try r.value(.wbEpochs, &optimization.weightBalancing.epochs)
    try r.value(.wbLR, &optimization.weightBalancing.learningRate)
    try r.value(.wbWeightDecay, &optimization.weightBalancing.weightDecay)
    try r.value(.wbMaxNorm, &optimization.weightBalancing.maxNorm)
    try r.choice(.sampler, &sampler.kind)
    try r.optional(.undersampleThreshold, &sampler.undersampleThreshold)
    try r.value(.stage1Epochs, &sampler.stage1Epochs)
    try r.choice(.loss, &loss.kind)
    try r.choice(.classWeights, &loss.classWeights)
    try r.value(.beta, &loss.beta)
    sampler.beta = loss.beta
    try r.value(.gamma, &loss.gamma)
    try r.value(.cceGamma, &loss.cceGamma)
    try r.value(.tau, &loss.tau)
    try r.optional(.drwEpoch, &loss.drwEpoch)
    try r.value(.diceWeight, &loss.diceWeight)
    try readDataOutputAndDebugging(r)
  }

  private mutating func readDataOutputAndDebugging(_ r: OptionReader) throws {
    try r.optional(.data, &data.directory)
    try r.value(.imbalanceRatio, &data.imbalanceRatio)
    try r.optional(.epochSize, &data.epochSize)
    try r.value(.seed, &data.seed)
    try r.optional(.loaderThreads, &data.loaderThreads)
    try r.value(.loaderMemory, &data.loaderMemory)
    try r.choice(.augment, &augmentation.preset)
    try r.optional(.cropPadding, &augmentation.cropPadding)
    try r.optional(.flip, &augmentation.flip)
    try r.optional(.cutout, &augmentation.cutout)
    try r.optional(.brightness, &augmentation.brightness)
    try r.optional(.resizedCropScale, &augmentation.resizedCropScale)
    try r.optional(.resizedCropRatio, &augmentation.resizedCropRatio)
    try r.optional(.contrast, &augmentation.contrast)
    try r.optional(.saturation, &augmentation.saturation)
    try r.choice(.mix, &augmentation.mixing.kind)
    try r.value(.mixAlpha, &augmentation.mixing.alpha)
    try r.value(.remixKappa, &augmentation.mixing.remixKappa)
    try r.value(.remixTau, &augmentation.mixing.remixTau)
    try r.value(.copyPaste, &augmentation.copyPaste.probability)
    try r.optional(.out, &output.directory)
    try r.value(.evalEvery, &output.evalEvery)
    try r.choice(.selectBy, &output.selectBy)
    try r.choice(.tta, &output.testTimeAugmentation)
    try r.value(.tsnePoints, &output.tsnePoints)
    try r.value(.manyShotAbove, &output.manyShotAbove)
    try r.value(.fewShotBelow, &output.fewShotBelow)
    try r.value(.logEvery, &output.logEvery)
    try r.value(.quiet, &output.quiet)
    try r.optional(.stopAfterEpoch, &output.stopAfterEpoch)
    try r.value(.debug, &debugging.enabled)
    try r.value(.debugSamples, &debugging.samples)
    try r.optional(.checkReplicas, &debugging.checkReplicasEvery)
    var fault: String?
    try r.optional(.injectFault, &fault)
    if let fault {
      guard let parsed = FaultInjection(fault) else {
        throw ConfigurationError.invalidValue(
          option: "inject-fault", value: fault, expected: FaultInjection.syntax)
      }
      debugging.fault = parsed
    }
    try r.optional(.maxSteps, &debugging.maxSteps)
    try r.optional(.dumpParameters, &debugging.dumpParametersPrefix)
  }

  public func encode(to encoder: Encoder) throws {
    var c = SnakeCaseContainer(encoder.container(keyedBy: AnyOptionKey.self))
    try c.encode(model.architecture, forKey: .model)
    try c.encode(model.task, forKey: .task)
    try c.encode(model.mode, forKey: .mode)
    try c.encode(model.reconstructionWeight, forKey: .reconWeight)
    try c.encode(model.autoencoderEpochs, forKey: .aeEpochs)
    try c.encode(model.syncBatchNorm, forKey: .syncBN)
    try c.encode(optimization.epochs, forKey: .epochs)
    try c.encode(optimization.globalBatch, forKey: .batchSize)
    try c.encode(optimization.learningRate, forKey: .lr)
    try c.encode(optimization.momentum, forKey: .momentum)
    try c.encode(optimization.weightDecay, forKey: .weightDecay)
    try c.encode(optimization.warmupEpochs, forKey: .warmupEpochs)
    try c.encode(optimization.restartEpochs, forKey: .restartEpochs)
    try c.encode(optimization.classifierRetrainingEpochs, forKey: .crtEpochs)
    try c.encode(optimization.weightScalingEpochs, forKey: .lwsEpochs)
    try c.encode(optimization.weightBalancing.epochs, forKey: .wbEpochs)
    try c.encode(optimization.weightBalancing.learningRate, forKey: .wbLR)
    try c.encode(optimization.weightBalancing.weightDecay, forKey: .wbWeightDecay)
    try c.encode(optimization.weightBalancing.maxNorm, forKey: .wbMaxNorm)
    try c.encode(sampler.kind, forKey: .sampler)
    try c.encodeIfPresent(sampler.undersampleThreshold, forKey: .undersampleThreshold)
    try c.encode(sampler.stage1Epochs, forKey: .stage1Epochs)
    try c.encode(loss.kind, forKey: .loss)
    try c.encode(loss.classWeights, forKey: .classWeights)
    try c.encode(loss.beta, forKey: .beta)
    try c.encode(loss.gamma, forKey: .gamma)
    try c.encode(loss.cceGamma, forKey: .cceGamma)
    try c.encode(loss.tau, forKey: .tau)
    try c.encodeIfPresent(loss.drwEpoch, forKey: .drwEpoch)
    try c.encode(loss.diceWeight, forKey: .diceWeight)
    try c.encodeIfPresent(data.directory, forKey: .data)
    try c.encode(data.imbalanceRatio, forKey: .imbalanceRatio)
    try c.encodeIfPresent(data.epochSize, forKey: .epochSize)
    try c.encode(data.seed, forKey: .seed)
    try c.encodeIfPresent(data.loaderThreads, forKey: .loaderThreads)
    try c.encode(data.loaderMemory, forKey: .loaderMemory)
    try c.encode(augmentation.preset, forKey: .augment)
    try c.encodeIfPresent(augmentation.cropPadding, forKey: .cropPadding)
    try c.encodeIfPresent(augmentation.flip, forKey: .flip)
    try c.encodeIfPresent(augmentation.cutout, forKey: .cutout)
    try c.encodeIfPresent(augmentation.brightness, forKey: .brightness)
    try c.encodeIfPresent(augmentation.contrast, forKey: .contrast)
    try c.encodeIfPresent(augmentation.saturation, forKey: .saturation)
    try c.encodeIfPresent(augmentation.resizedCropScale, forKey: .resizedCropScale)
    try c.encodeIfPresent(augmentation.resizedCropRatio, forKey: .resizedCropRatio)
    try c.encode(augmentation.mixing.kind, forKey: .mix)
    try c.encode(augmentation.mixing.alpha, forKey: .mixAlpha)
    try c.encode(augmentation.mixing.remixKappa, forKey: .remixKappa)
    try c.encode(augmentation.mixing.remixTau, forKey: .remixTau)
    try c.encode(augmentation.copyPaste.probability, forKey: .copyPaste)
    try c.encodeIfPresent(output.directory, forKey: .out)
    try c.encode(output.evalEvery, forKey: .evalEvery)
    try c.encodeIfPresent(output.selectBy, forKey: .selectBy)
    try c.encode(output.testTimeAugmentation, forKey: .tta)
    try c.encode(output.tsnePoints, forKey: .tsnePoints)
    try c.encode(output.manyShotAbove, forKey: .manyShotAbove)
    try c.encode(output.fewShotBelow, forKey: .fewShotBelow)
    try c.encode(output.logEvery, forKey: .logEvery)
    try c.encode(output.quiet, forKey: .quiet)
    try c.encodeIfPresent(output.stopAfterEpoch, forKey: .stopAfterEpoch)
    try c.encode(debugging.enabled, forKey: .debug)
    try c.encode(debugging.samples, forKey: .debugSamples)
    try c.encodeIfPresent(debugging.checkReplicasEvery, forKey: .checkReplicas)
    try c.encodeIfPresent(debugging.fault?.description, forKey: .injectFault)
    try c.encodeIfPresent(debugging.maxSteps, forKey: .maxSteps)
    try c.encodeIfPresent(debugging.dumpParametersPrefix, forKey: .dumpParameters)
  }
}

extension TrainingConfiguration.Option {
  /// The option a key spells: `batch-size`, `batch_size`, or `batchSize` (what a decoder that
  /// converts from snake_case hands over).
  init?(spelling key: String) {
    var name = ""
    for character in key {
      if character.isUppercase {
        name += "-" + character.lowercased()
      } else {
        name.append(character == "_" ? "-" : character)
      }
    }
    self.init(rawValue: name)
  }
}

/// Any key at all, to read every spelling and find the ones that are not options.
private struct AnyOptionKey: CodingKey {
  let stringValue: String
  init(stringValue: String) { self.stringValue = stringValue }
  var intValue: Int? { nil }
  init?(intValue: Int) { nil }
}

/// Writes each option under its snake_case spelling.
private struct SnakeCaseContainer {
  var container: KeyedEncodingContainer<AnyOptionKey>
  init(_ container: KeyedEncodingContainer<AnyOptionKey>) { self.container = container }

  private func key(_ option: TrainingConfiguration.Option) -> AnyOptionKey {
    AnyOptionKey(stringValue: option.rawValue.replacingOccurrences(of: "-", with: "_"))
  }

  mutating func encode<T: Encodable>(_ value: T, forKey option: TrainingConfiguration.Option) throws {
    try container.encode(value, forKey: key(option))
  }

  mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey option: TrainingConfiguration.Option) throws
  {
    try container.encodeIfPresent(value, forKey: key(option))
  }
}

/// Reads options that are present into a configuration's fields, turning decoding failures
/// into errors that name the option and what it takes.
private struct OptionReader {
  let container: KeyedDecodingContainer<AnyOptionKey>
  /// The key each option was given under.
  let keys: [TrainingConfiguration.Option: AnyOptionKey]

  func value<T: Decodable>(_ option: TrainingConfiguration.Option, _ field: inout T) throws {
    if let value = try decode(T.self, option) { field = value }
  }

  func optional<T: Decodable>(_ option: TrainingConfiguration.Option, _ field: inout T?) throws {
    if let value = try decode(T.self, option) { field = value }
  }

  /// One of an enumeration's spelled-out values.
  func choice<T: RawRepresentable & CaseIterable>(_ option: TrainingConfiguration.Option, _ field: inout T)
    throws where T.RawValue == String
  {
    var chosen: T?
    try choice(option, &chosen)
    if let chosen { field = chosen }
  }

  /// One of an enumeration's spelled-out values, for a field whose absence means a default.
  func choice<T: RawRepresentable & CaseIterable>(_ option: TrainingConfiguration.Option, _ field: inout T?)
    throws where T.RawValue == String
  {
    guard let text = try decode(String.self, option) else { return }
    guard let value = T(rawValue: text) else {
      throw ConfigurationError.invalidValue(
        option: option.rawValue, value: text,
        expected: "one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
    }
    field = value
  }

  private func decode<T: Decodable>(_ type: T.Type, _ option: TrainingConfiguration.Option) throws -> T? {
    guard let key = keys[option] else { return nil }
    do {
      return try container.decodeIfPresent(T.self, forKey: key)
    } catch DecodingError.typeMismatch, DecodingError.dataCorrupted, DecodingError.valueNotFound {
      throw ConfigurationError.wrongType(option: option.rawValue, expected: Self.describe(T.self))
    }
  }

  private static func describe(_ type: Any.Type) -> String {
    switch type {
    case is Bool.Type: "true or false"
    case is Int.Type: "an integer"
    case is UInt64.Type: "a non-negative integer"
    case is Double.Type: "a number"
    default: "a string"
    }
  }
}
