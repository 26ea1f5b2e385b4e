import Loader
import Model

/// The losses of one training iteration after the forward pass — a classification loss on the
/// logits and/or the reconstruction's MSE against the input's [0, 1] pixels, or a segmentation
/// network's per-pixel loss and soft Dice on its class maps — with their gradient buffers,
/// planned once. The trainer and `imbal-dist bench` both use it, so the
/// benchmark times exactly what training computes.
final class IterationLosses {
  private let logitsGradient: Tensor
  /// The second class's gradient of mixed targets.
  private let partnerGradient: Tensor
  private let pixelTarget: Tensor?
  private let reconstructionGradient: Tensor?
  private let normalization: Normalization
  private let globalBatch: Int
  /// Segmentation's losses at every pixel and the Dice term's gradient.
  private let pixels: (loss: PixelLoss, dice: DiceLoss, diceGradient: Tensor)?

  init(network: Network, localBatch: Int, classes: Int, normalization: Normalization, globalBatch: Int) {
    let maps = network.shape(of: .classMaps)?.with(batch: localBatch)
    logitsGradient = Tensor(shape: maps ?? Shape(batch: localBatch, channels: classes))
    partnerGradient = Tensor(shape: logitsGradient.shape)
    pixels = maps.map {
      (PixelLoss(CrossEntropyLoss(), capacity: $0), DiceLoss(capacity: $0), Tensor(shape: $0))
    }
    let images = network.inputShape.with(batch: localBatch)
    pixelTarget = network.hasDecoder ? Tensor(shape: images) : nil
    reconstructionGradient = network.hasDecoder ? Tensor(shape: images) : nil
    self.normalization = normalization
    self.globalBatch = globalBatch
  }

  /// What one rank's share of the batch contributed: `loss` summed over its images (the MSE
  /// term per image, weighted), the reconstruction's `Σ (y − t)²`, and the gradients w.r.t.
  /// the outputs for `Network.backward`.
  struct Contribution {
    var loss = 0.0
    var squaredError = 0.0
    var outputGradients: [(NetworkOutput, Tensor)] = []
  }

  /// Computes the losses of the last `network.forward(input, …)`: `objective` scaled by
  /// `1/globalNormalizer` (each rank's gradient is then a share of the global mean's), and,
  /// with a `reconstructionWeight`, that weight × the mean squared error over the global
  /// batch's pixels.
  func compute(
    network: Network, input: Tensor, targets: Targets, objective: ClassificationLoss?,
    globalNormalizer: Double,
    reconstructionWeight: Double?
  ) -> Contribution {
    var result = Contribution()
    if let objective {
      result.loss = objective.lossAndGradient(
        logits: network.output(.logits), targets: targets, scale: Float(1 / globalNormalizer),
        gradient: logitsGradient, scratch: partnerGradient)
      result.outputGradients.append((.logits, logitsGradient))
    }
    if let weight = reconstructionWeight, let pixelTarget, let reconstructionGradient {
      let elements = Double(globalBatch * input.shape.perImage)
      normalization.pixels(
        of: input.pointer, images: input.shape.batch, plane: input.shape.plane, into: pixelTarget.pointer)
      result.squaredError = MeanSquaredError.lossAndGradient(
        output: network.output(.reconstruction), target: pixelTarget, scale: Float(weight / elements),
        gradient: reconstructionGradient)
      result.loss += weight * result.squaredError / Double(input.shape.perImage)
      result.outputGradients.append((.reconstruction, reconstructionGradient))
    }
    return result
  }

  /// This rank's share of a segmentation loss's normaliser: its labelled pixels, or `Σ w_y`
  /// over them for a weighted mean.
  func pixelNormalizer(_ objective: ClassificationLoss, masks: [UInt8]) -> Double {
    pixels!.loss.loss = objective
    return masks.withUnsafeBufferPointer { pixels!.loss.normalizer(targets: $0) }
  }

  /// The per-pixel `objective` on the class maps of the last forward, scaled by
  /// `1/globalNormalizer`, plus `diceWeight` × the soft Dice of the global batch, whose
  /// statistics `sum` adds over the ranks. The contribution's loss is the pixel sum plus the
  /// Dice term times this rank's normaliser, so that the ranks' sum over their normalisers is
  /// the global loss.
  func computeSegmentation(
    network: Network, masks: [UInt8], objective: ClassificationLoss,
    normalizer: (local: Double, global: Double),
    diceWeight: Double, sum: ([Double]) throws -> [Double]
  ) throws -> Contribution {
    let (pixelLoss, dice, diceGradient) = pixels!
    let maps = network.output(.classMaps)
    pixelLoss.loss = objective
    logitsGradient.resize(batch: maps.shape.batch)
    var result = Contribution()
    try masks.withUnsafeBufferPointer { masks in
      result.loss = pixelLoss.lossAndGradient(
        logits: maps, targets: masks, scale: Float(normalizer.global > 0 ? 1 / normalizer.global : 0),
        gradient: logitsGradient)
      guard diceWeight > 0 else { return }
      let global = try sum(dice.statistics(logits: maps, targets: masks))
      diceGradient.resize(batch: maps.shape.batch)
      dice.gradient(targets: masks, global: global, scale: Float(diceWeight), gradient: diceGradient)
      for i in 0..<maps.shape.count { logitsGradient.pointer[i] += diceGradient.pointer[i] }
      result.loss += diceWeight * dice.loss(global: global) * normalizer.local
    }
    result.outputGradients.append((.classMaps, logitsGradient))
    return result
  }
}
