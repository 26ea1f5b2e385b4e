/// The skeleton's CNN: conv(C→32), conv(32→32), pool, conv(32→64), conv(64→64), pool,
/// global-avg-pool, dense(64→K); every conv 3×3 / stride 1 / padding 1, followed by batch norm
/// (when `batchNorm`) and ReLU, which is fused into the layer before it.
struct SmallCNN {
  let batchNorm: Bool

  func build(_ b: NetworkBuilder, classes: Int, cosine: Bool) {
    let widths = [(b.inputShape.channels, 32), (32, 32), (32, 64), (64, 64)]
    for (i, (input, output)) in widths.enumerated() {
      if batchNorm {
        b.convolution("conv\(i + 1)", input, output)
      } else {
        b.add(
          Conv2D(name: "conv\(i + 1)", inputChannels: input, outputChannels: output, activationCap: .infinity)
        )
      }
      if i % 2 == 1 { b.add(MaxPool2D(name: "pool\(i / 2 + 1)")) }
    }
    b.output(.features, b.add(GlobalAvgPool(name: "gap")))
    b.part = .classifier
    b.linearClassifier(features: 64, classes: classes, cosine: cosine)
  }
}
