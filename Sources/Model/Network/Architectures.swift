/// The architectures `--model` can name.
public enum Architecture: String, CaseIterable, Codable, Sendable {
  /// The small CNN of the walking skeleton (no batch norm, so rank-count invariance is exact):
  /// conv(C→32), conv(32→32), pool, conv(32→64), conv(64→64), pool, global-avg-pool, dense(64→K),
  /// every conv 3×3 / stride 1 / padding 1 followed by ReLU.
  case smallCNN = "small-cnn"

  /// `cosineClassifier` replaces the last dense layer by `CosineDense` (for LDAM, as its
  /// reference code does).
  public func makeNetwork(
    channels: Int, height: Int, width: Int, classes: Int, cosineClassifier: Bool = false
  ) -> Network {
    switch self {
    case .smallCNN:
      let layers: [Layer] = [
        Conv2D(name: "conv1", inputChannels: channels, outputChannels: 32), ReLU(name: "relu1"),
        Conv2D(name: "conv2", inputChannels: 32, outputChannels: 32), ReLU(name: "relu2"),
        MaxPool2D(name: "pool1"),
        Conv2D(name: "conv3", inputChannels: 32, outputChannels: 64), ReLU(name: "relu3"),
        Conv2D(name: "conv4", inputChannels: 64, outputChannels: 64), ReLU(name: "relu4"),
        MaxPool2D(name: "pool2"),
        GlobalAvgPool(name: "gap"),
        cosineClassifier
          ? CosineDense(name: "fc", inputFeatures: 64, outputFeatures: classes)
          : Dense(name: "fc", inputFeatures: 64, outputFeatures: classes),
      ]
      return Network(layers: layers, channels: channels, height: height, width: width)
    }
  }
}
