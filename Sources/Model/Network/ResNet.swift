/// The CIFAR ResNet of He et al. 2016 (§4.2): a 3×3 conv to 16 channels, three stages of
/// `blocksPerStage` basic blocks with 16, 32 and 64 channels (the first block of stages 2 and
/// 3 halves the size with stride 2), global average pooling and a dense classifier — 6n + 2
/// weighted layers (ResNet-20: n = 3, 0.27 M parameters). Shortcuts are option A: identity,
/// or subsampling with zero-padded channels where the shape changes (no parameters).
struct ResNet {
  let blocksPerStage: Int

  func build(_ b: NetworkBuilder, classes: Int, cosine: Bool) {
    var x = b.convolution("conv1", b.inputShape.channels, 16)
    var channels = 16
    for (stage, width) in [16, 32, 64].enumerated() {
      for block in 0..<blocksPerStage {
        let stride = stage > 0 && block == 0 ? 2 : 1
        let name = "layer\(stage + 1).\(block)"
        b.convolution("\(name).conv1", channels, width, stride: stride)
        let residual = b.convolution("\(name).conv2", width, width, relu: false)
        let shortcut =
          stride == 1 && channels == width
          ? x
          : b.add(IdentityShortcut(name: "\(name).shortcut", outputChannels: width, stride: stride), after: x)
        x = b.merge(Add(name: "\(name).add", activationCap: .infinity), [residual, shortcut])
        channels = width
      }
    }
    b.output(.features, b.add(GlobalAvgPool(name: "gap")))
    b.part = .classifier
    b.linearClassifier(features: 64, classes: classes, cosine: cosine)
  }
}
