/// What a network predicts (`--task`): one class per image from the `logits`, or one class
/// per pixel from the decoder's `classMaps` (Long et al. 2015's fully convolutional setting).
public enum TaskKind: String, CaseIterable, Codable, Sendable {
  case classification, segmentation
}

/// The architectures `--model` can name. Channel counts and the input size come from the
/// dataset (1×28×28 Fashion-MNIST and 3×32×32 CIFAR both work).
public enum Architecture: String, CaseIterable, Codable, Sendable {
  /// The small CNN of the walking skeleton, each 3×3 convolution followed by batch norm.
  case smallCNN = "small-cnn"
  /// The same without batch norm (convolutions with bias): exact rank-count invariance
  /// without `--sync-bn`, the skeleton's model.
  case smallCNNNoBN = "small-cnn-nobn"
  /// CIFAR ResNets of He et al. 2016 (§4.2): 6n + 2 layers, option-A shortcuts.
  case resnet20, resnet32
  /// A MobileNetV2 encoder (Sandler et al. 2018) sized for 28–32 px, a transposed-conv decoder
  /// and a 1×1-conv classifier head.
  case mobilenetv2
  /// A UNet (Ronneberger et al. 2015) encoder with skip connections into a decoder that
  /// reconstructs the input, and a dense classifier on the bottleneck.
  case unet

  /// Whether the architecture has a decoder (for `--mode end-to-end` and `separate`).
  public var hasDecoder: Bool { self == .mobilenetv2 || self == .unet }

  /// `cosineClassifier` makes the last layer `CosineDense` (for LDAM, as its reference code
  /// does); `decoder` adds the decoder and the `reconstruction` output (architectures that have
  /// one). For `segmentation` the decoder ends in a 1×1 convolution to the `classes` maps
  /// (the `classMaps` output) and there is no image classifier. Throws, saying which sizes the
  /// architecture accepts, for an input it cannot take.
  public func makeNetwork(
    channels: Int, height: Int, width: Int, classes: Int, cosineClassifier: Bool = false,
    decoder: Bool = false, task: TaskKind = .classification
  ) throws -> Network {
    let segments = task == .segmentation
    precondition(!(decoder || segments) || hasDecoder, "\(rawValue) has no decoder")
    precondition(!(segments && (decoder || cosineClassifier)), "a segmentation network has one output")
    if let accepted = rejection(height: height, width: width, decoder: decoder || segments) {
      throw ArchitectureError.unsupportedInput(
        architecture: rawValue, height: height, width: width, accepted: accepted)
    }
    guard channels >= 1, classes >= 1 else {
      throw ArchitectureError.unsupportedInput(
        architecture: rawValue, height: height, width: width, accepted: "at least one channel and one class")
    }
    let builder = NetworkBuilder(channels: channels, height: height, width: width)
    let head = DecoderHead(task, decoder: decoder, classes: classes)
    switch self {
    case .smallCNN, .smallCNNNoBN:
      SmallCNN(batchNorm: self == .smallCNN).build(builder, classes: classes, cosine: cosineClassifier)
    case .resnet20:
      ResNet(blocksPerStage: 3).build(builder, classes: classes, cosine: cosineClassifier)
    case .resnet32:
      ResNet(blocksPerStage: 5).build(builder, classes: classes, cosine: cosineClassifier)
    case .mobilenetv2:
      MobileNetV2().build(builder, classes: classes, cosine: cosineClassifier, head: head)
    case .unet:
      UNet().build(builder, classes: classes, cosine: cosineClassifier, head: head)
    }
    return builder.build()
  }

  /// `nil` when the architecture takes `height`×`width` images, else the sizes it takes. Two
  /// 2×2 max pools (floor) need 4 pixels; a decoder that mirrors stride-2 steps restores an odd
  /// and an even size with different output paddings, so height and width must have the same
  /// parity at every size it restores.
  func rejection(height: Int, width: Int, decoder: Bool) -> String? {
    func sameParity(atHalvings halvings: Int, rounding: (Int) -> Int) -> Bool {
      var (h, w) = (height, width)
      for _ in 0..<halvings {
        if h % 2 != w % 2 { return false }
        (h, w) = (rounding(h), rounding(w))
      }
      return true
    }
    switch self {
    case .smallCNN, .smallCNNNoBN:
      return height >= 4 && width >= 4 ? nil : "height and width of at least 4 (two 2×2 max pools)"
    case .resnet20, .resnet32:
      return height >= 1 && width >= 1 ? nil : "any height and width"
    case .mobilenetv2:
      guard height >= 1 && width >= 1 else { return "any height and width" }
      return !decoder || sameParity(atHalvings: 3, rounding: { ($0 + 1) / 2 })
        ? nil
        : "with the decoder, height and width of the same parity at full, 1/2 and 1/4 size (square images always work)"
    case .unet:
      guard height >= 4 && width >= 4 else { return "height and width of at least 4 (two 2×2 max pools)" }
      return !decoder || sameParity(atHalvings: 2, rounding: { $0 / 2 })
        ? nil
        : "with the decoder, height and width of the same parity at full and 1/2 size (square images always work)"
    }
  }
}

/// A model that cannot be built for the data it is given.
public enum ArchitectureError: Error, CustomStringConvertible, Equatable {
  case unsupportedInput(architecture: String, height: Int, width: Int, accepted: String)

  public var description: String {
    switch self {
    case .unsupportedInput(let architecture, let height, let width, let accepted):
      return "--model \(architecture) cannot take \(height)×\(width) images; it accepts \(accepted)"
    }
  }
}

extension NetworkBuilder {
  /// Convolution → batch norm → ReLU (capped at `cap`; none when `relu` is false), the unit of
  /// every BN architecture here, the ReLU fused into the batch norm. The convolution has no
  /// bias: β of batch norm replaces it.
  @discardableResult
  func convolution(
    _ name: String, _ inputChannels: Int, _ outputChannels: Int, kernel: Int = 3, stride: Int = 1,
    relu: Bool = true, cap: Float = .infinity
  ) -> Int {
    add(
      Conv2D(
        name: name, inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernel,
        stride: stride,
        bias: false))
    return add(
      BatchNorm2D(
        name: name.replacingConv(with: "bn"), channels: outputChannels, activationCap: relu ? cap : nil))
  }

  /// The end of a decoder of `channels` at input resolution: a 1×1 convolution to the input's
  /// channels and a sigmoid (the reconstruction), or to the class maps.
  func decoderOutput(_ head: DecoderHead, channels: Int) {
    switch head {
    case .reconstruction:
      add(
        Conv2D(
          name: "decoder.out", inputChannels: channels, outputChannels: inputShape.channels, kernelSize: 1))
      output(.reconstruction, add(Sigmoid(name: "decoder.sigmoid")))
    case .classMaps(let classes):
      part = .classifier
      classifier = add(
        Conv2D(name: "classifier", inputChannels: channels, outputChannels: classes, kernelSize: 1))
      output(.classMaps, last)
    }
  }

  /// The final linear layer `fc` on a feature vector of `features`.
  func linearClassifier(features: Int, classes: Int, cosine: Bool) {
    classifier = add(
      cosine
        ? CosineDense(name: "fc", inputFeatures: features, outputFeatures: classes)
        : Dense(name: "fc", inputFeatures: features, outputFeatures: classes))
    output(.logits, last)
  }
}

/// What an encoder–decoder architecture builds after its encoder: the image classifier
/// alone (`nil`), with a decoder that reconstructs the input, or a decoder that ends in class
/// maps and no image classifier.
enum DecoderHead {
  case reconstruction
  case classMaps(classes: Int)

  var replacesClassifier: Bool {
    if case .classMaps = self { return true }
    return false
  }

  init?(_ task: TaskKind, decoder: Bool, classes: Int) {
    switch task {
    case .segmentation: self = .classMaps(classes: classes)
    case .classification:
      guard decoder else { return nil }
      self = .reconstruction
    }
  }
}

extension String {
  /// `layer1.0.conv2` → `layer1.0.bn2`: names of a convolution's companions.
  fileprivate func replacingConv(with kind: String) -> String {
    guard let range = range(of: "conv", options: .backwards) else { return "\(self).\(kind)" }
    return replacingCharacters(in: range, with: kind)
  }
}
