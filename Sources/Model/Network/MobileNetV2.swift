/// A MobileNetV2 encoder (Sandler et al. 2018) for 28–32 px inputs: a stride-1 3×3 stem,
/// inverted-residual blocks (1×1 expansion by `t`, 3×3 depthwise, 1×1 linear projection;
/// residual when the shape is kept) with a 32-channel stem, then (t, c, n, s) = (1,16,1,1), (6,24,2,2), (6,32,3,2),
/// (6,64,2,2), and a 1×1 conv to 128 channels, all with batch norm and ReLU6 — 28 → 14 → 7 → 4.
/// The decoder mirrors it with 3×3 stride-2 transposed convolutions back to the input size and
/// a 1×1 conv + sigmoid, or (segmentation) a 1×1 conv to the class maps and no image
/// classifier; the classifier is a 1×1 conv to the classes, globally averaged.
struct MobileNetV2 {
  static let stages: [(t: Int, c: Int, n: Int, s: Int)] = [
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 2),
  ]
  static let encoderWidth = 128

  func build(_ b: NetworkBuilder, classes: Int, cosine: Bool, head: DecoderHead?) {
    let relu6: Float = 6
    var channels = 32
    var x = b.convolution("stem.conv", b.inputShape.channels, channels, cap: relu6)
    /// The encoder's size and width before each downsampling, the decoder's targets.
    var levels: [(shape: Shape, channels: Int)] = []
    var index = 0
    for stage in Self.stages {
      for repeatIndex in 0..<stage.n {
        let stride = repeatIndex == 0 ? stage.s : 1
        if stride > 1 { levels.append((b.shape(of: x), channels)) }
        let name = "block\(index)"
        let hidden = channels * stage.t
        if stage.t != 1 { b.convolution("\(name).expand.conv", channels, hidden, kernel: 1, cap: relu6) }
        b.add(DepthwiseConv2D(name: "\(name).depthwise.conv", channels: hidden, stride: stride))
        b.add(BatchNorm2D(name: "\(name).depthwise.bn", channels: hidden, activationCap: relu6))
        let projected = b.convolution("\(name).project.conv", hidden, stage.c, kernel: 1, relu: false)
        x =
          stride == 1 && channels == stage.c ? b.merge(Add(name: "\(name).add"), [projected, x]) : projected
        channels = stage.c
        index += 1
      }
    }
    let encoded = b.convolution("head.conv", channels, Self.encoderWidth, kernel: 1, cap: relu6)
    b.output(.features, encoded)
    if head?.replacesClassifier != true { classifier(b, on: encoded, classes: classes, cosine: cosine) }
    guard let head else { return }
    b.part = .decoder
    var y = encoded
    var width = Self.encoderWidth
    for (level, target) in levels.reversed().enumerated() {
      let size = b.shape(of: y)
      let padding = ConvTranspose2D.outputPadding(
        from: size.height, to: target.shape.height, kernelSize: 3, stride: 2, padding: 1)!
      precondition(
        padding
          == ConvTranspose2D.outputPadding(
            from: size.width, to: target.shape.width, kernelSize: 3, stride: 2, padding: 1),
        "non-square input")
      b.add(
        ConvTranspose2D(
          name: "decoder.up\(level).conv", inputChannels: width, outputChannels: target.channels,
          kernelSize: 3,
          stride: 2, padding: 1, outputPadding: padding), after: y)
      y = b.add(BatchNorm2D(name: "decoder.up\(level).bn", channels: target.channels, activationCap: relu6))
      width = target.channels
    }
    b.decoderOutput(head, channels: width)
  }

  private func classifier(_ b: NetworkBuilder, on encoded: Int, classes: Int, cosine: Bool) {
    b.part = .classifier
    if cosine {
      b.add(GlobalAvgPool(name: "gap"), after: encoded)
      b.linearClassifier(features: Self.encoderWidth, classes: classes, cosine: true)
    } else {
      b.classifier = b.add(
        Conv2D(name: "classifier", inputChannels: Self.encoderWidth, outputChannels: classes, kernelSize: 1),
        after: encoded)
      b.output(.logits, b.add(GlobalAvgPool(name: "gap")))
    }
  }
}
