import Loader
import Model

/// The losses of one training iteration after the forward pass — a classification loss on the
/// logits and/or the reconstruction's MSE against the input's [0, 1] pixels — with their
/// gradient buffers, planned once. The trainer and `imbal-dist bench` both use it, so the
/// benchmark times exactly what training computes.
final class IterationLosses {
  private let logitsGradient: Tensor
  /// The second class's gradient of mixed targets.
  private let partnerGradient: Tensor
  private let pixelTarget: Tensor?
  private let reconstructionGradient: Tensor?
  private let normalization: Normalization
  private let globalBatch: Int

  init(network: Network, localBatch: Int, classes: Int, normalization: Normalization, globalBatch: Int) {
    logitsGradient = Tensor(shape: Shape(batch: localBatch, channels: classes))
    partnerGradient = Tensor(shape: logitsGradient.shape)
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
}
