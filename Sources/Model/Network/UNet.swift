/// A UNet (Ronneberger et al. 2015) sized for 28–32 px: three levels of two 3×3 conv + BN +
/// ReLU blocks with 16, 32 and 64 channels, 2×2 max pooling between them (the last is the
/// bottleneck); a dense classifier on the flattened bottleneck (dense 128, ReLU, dropout 0.5,
/// dense K); a decoder of 2×2 stride-2 transposed convolutions, each followed by the
/// concatenation of the encoder's map of that size (the skip connection) and two conv blocks,
/// ending in a 1×1 conv + sigmoid that reconstructs the input, or (segmentation) in a 1×1 conv
/// to the class maps, without the dense classifier.
struct UNet {
  static let widths = [16, 32, 64]
  static let hidden = 128

  func build(_ b: NetworkBuilder, classes: Int, cosine: Bool, head: DecoderHead?) {
    var skips: [Int] = []
    var channels = b.inputShape.channels
    for (level, width) in Self.widths.enumerated() {
      if level > 0 { b.add(MaxPool2D(name: "encoder\(level).pool")) }
      b.convolution("encoder\(level + 1).conv1", channels, width)
      skips.append(b.convolution("encoder\(level + 1).conv2", width, width))
      channels = width
    }
    let bottleneck = skips.removeLast()
    b.output(.features, bottleneck)
    if head?.replacesClassifier != true { classifier(b, on: bottleneck, classes: classes, cosine: cosine) }
    guard let head else { return }
    b.part = .decoder
    var y = bottleneck
    for (level, skip) in skips.enumerated().reversed() {
      let width = Self.widths[level]
      let (size, target) = (b.shape(of: y), b.shape(of: skip))
      guard
        let padding = ConvTranspose2D.outputPadding(
          from: size.height, to: target.height, kernelSize: 2, stride: 2, padding: 0),
        padding
          == ConvTranspose2D.outputPadding(
            from: size.width, to: target.width, kernelSize: 2, stride: 2, padding: 0)
      else { preconditionFailure("unet: cannot upsample \(size) to \(target)") }
      let up = b.add(
        ConvTranspose2D(
          name: "decoder\(level + 1).up", inputChannels: channels, outputChannels: width, kernelSize: 2,
          stride: 2,
          outputPadding: padding), after: y)
      b.merge(Concat(name: "decoder\(level + 1).concat"), [up, skip])
      b.convolution("decoder\(level + 1).conv1", 2 * width, width)
      y = b.convolution("decoder\(level + 1).conv2", width, width)
      channels = width
    }
    b.decoderOutput(head, channels: channels)
  }

  private func classifier(_ b: NetworkBuilder, on bottleneck: Int, classes: Int, cosine: Bool) {
    b.part = .classifier
    b.add(
      Dense(
        name: "classifier.fc1", inputFeatures: b.shape(of: bottleneck).perImage, outputFeatures: Self.hidden),
      after: bottleneck)
    b.add(ReLU(name: "classifier.relu"))
    b.add(Dropout(name: "classifier.dropout", rate: 0.5))
    b.linearClassifier(features: Self.hidden, classes: classes, cosine: cosine)
  }
}
