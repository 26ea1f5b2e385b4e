import ArgumentParser
import Distributed
import Foundation
import Loader
import Model
import Training

extension SamplerKind: ExpressibleByArgument {}

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a model; every rank of an mpirun job runs this same command.")

  @Option(help: "Passes over the training data (an epoch is --epoch-size images).")
  var epochs = 12

  @Option(
    name: .customLong("batch-size"), help: "Global batch: images per optimizer step, summed over all ranks.")
  var batchSize = 128

  @Option(name: .customLong("lr"), help: "Peak learning rate of the cosine schedule.")
  var learningRate = 0.05

  @Option(help: "SGD momentum.")
  var momentum = 0.9

  @Option(name: .customLong("weight-decay"), help: "L2 weight decay, added to every parameter's gradient.")
  var weightDecay = 5e-4

  @Option(
    name: .customLong("warmup-epochs"),
    help: "Epochs of linear learning-rate warm-up before the cosine decay.")
  var warmupEpochs = 1

  @Option(help: "How training images are drawn: uniform (shuffle) or oversample (class weights 1/n_c).")
  var sampler: SamplerKind = .oversample

  @Option(
    help:
      "A packed dataset directory (see `imbal-dist pack`). (default: long-tailed Fashion-MNIST, packed on first use)"
  )
  var data: String?

  @Option(
    name: .customLong("imbalance-ratio"),
    help: "Without --data: largest over smallest class of the default dataset's exponential long tail.")
  var imbalanceRatio = 100.0

  @Option(
    name: .customLong("epoch-size"),
    help: "Images per epoch, over all ranks. (default: the training split's size)")
  var epochSize: Int?

  @Option(help: "Seed of every random choice (initialisation, sampling). Same seed, same result.")
  var seed: UInt64 = 0

  @Option(
    name: .customLong("max-steps"),
    help: "Debugging: stop after this many optimizer steps and skip evaluation.")
  var maxSteps: Int?

  @Option(
    name: .customLong("dump-parameters"),
    help: "Debugging: each rank writes its final parameters as raw float32 to PREFIX.rank<r>.f32.")
  var dumpParameters: String?

  func validate() throws {
    guard epochs > 0 else { throw ValidationError("--epochs must be at least 1 (got \(epochs))") }
    guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
    guard learningRate > 0, learningRate.isFinite else {
      throw ValidationError("--lr must be positive (got \(learningRate))")
    }
    guard momentum >= 0, momentum < 1 else {
      throw ValidationError("--momentum must be in [0, 1) (got \(momentum))")
    }
    guard weightDecay >= 0 else {
      throw ValidationError("--weight-decay must be non-negative (got \(weightDecay))")
    }
    guard warmupEpochs >= 0 else { throw ValidationError("--warmup-epochs must be non-negative") }
    guard imbalanceRatio >= 1, imbalanceRatio.isFinite else {
      throw ValidationError("--imbalance-ratio must be at least 1 (got \(imbalanceRatio))")
    }
    if let epochSize, epochSize < 1 { throw ValidationError("--epoch-size must be at least 1") }
    if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
  }

  func run() throws {
    var config = TrainingConfiguration()
    config.epochs = epochs
    config.globalBatch = batchSize
    config.learningRate = learningRate
    config.momentum = momentum
    config.weightDecay = weightDecay
    config.warmupEpochs = warmupEpochs
    config.sampler = sampler
    config.imbalanceRatio = imbalanceRatio
    config.epochSize = epochSize
    config.seed = seed
    config.dataDirectory = data
    config.maxSteps = maxSteps
    config.dumpParametersPrefix = dumpParameters
    try runDistributed { communicator in
      try Trainer(configuration: config, communicator: communicator).run()
    }
  }
}
