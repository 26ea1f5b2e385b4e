/// Per-channel standardisation of uint8 pixels: `x = (p/255 − mean_c) / std_c`, with the
/// mean and standard deviation measured on the training split.
public struct Normalization: Codable, Sendable, Equatable {
  public let mean: [Float]
  public let std: [Float]

  public init(mean: [Float], std: [Float]) {
    precondition(mean.count == std.count && std.allSatisfy { $0 > 0 })
    self.mean = mean
    self.std = std
  }

  /// The statistics of `images`, per channel, over every pixel (in Double).
  public init(measuredOn images: LabeledImages) {
    let plane = images.height * images.width
    var sum = [Double](repeating: 0, count: images.channels)
    var squares = [Double](repeating: 0, count: images.channels)
    images.pixels.withUnsafeBufferPointer { pixels in
      for n in 0..<images.count {
        for c in 0..<images.channels {
          let start = (n * images.channels + c) * plane
          var s = 0
          var q = 0
          for p in start..<(start + plane) {
            let v = Int(pixels[p])
            s += v
            q += v * v
          }
          sum[c] += Double(s)
          squares[c] += Double(q)
        }
      }
    }
    let n = Double(max(images.count * plane, 1))
    let means = sum.map { $0 / n / 255 }
    let stds = zip(squares, means).map { q, m in max((q / n / (255 * 255) - m * m).squareRoot(), 1e-6) }
    self.init(mean: means.map { Float($0) }, std: stds.map { Float($0) })
  }

  /// Undoes the standardisation of `images` images of `channels` planes of `plane` pixels:
  /// `p/255 = x·std_c + mean_c`, the [0, 1] pixels an autoencoder reconstructs.
  public func pixels(
    of normalized: UnsafePointer<Float>, images: Int, plane: Int, into target: UnsafeMutablePointer<Float>
  ) {
    let channels = mean.count
    for n in 0..<images {
      for c in 0..<channels {
        let start = (n * channels + c) * plane
        let (scale, shift) = (std[c], mean[c])
        for p in start..<(start + plane) { target[p] = normalized[p] * scale + shift }
      }
    }
  }
}

/// Turns chosen images into a float batch: `(count, C, H, W)` normalised pixels and labels.
public enum BatchAssembler {
  /// Writes the images `indices` of `store` starting at image slot `offset` of `pixels` (and
  /// their label masks at the same slots of `masks`, when given).
  public static func copy(
    _ indices: some Collection<Int>, of store: RecordStore, normalization: Normalization,
    into pixels: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>, offset: Int,
    masks: UnsafeMutablePointer<UInt8>? = nil, reader: RecordReader
  ) throws {
    var image = [UInt8](repeating: 0, count: store.imageSize)
    try image.withUnsafeMutableBufferPointer { image in
      for (slot, index) in zip(offset..., indices) {
        try store.pixels(
          index, into: image.baseAddress!, mask: masks.map { $0 + slot * store.maskSize }, reader: reader)
        normalize(
          image.baseAddress!, channels: store.channels, plane: store.height * store.width,
          normalization: normalization, into: pixels + slot * store.imageSize)
        labels[slot] = store.labels[index]
      }
    }
  }

  /// One planar uint8 image as normalised floats, `(p/255 − mean_c) / std_c`.
  public static func normalize(
    _ image: UnsafePointer<UInt8>, channels: Int, plane: Int, normalization: Normalization,
    into target: UnsafeMutablePointer<Float>
  ) {
    for c in 0..<channels {
      let scale = 1 / (255 * normalization.std[c])
      let shift = -normalization.mean[c] / normalization.std[c]
      for p in (c * plane)..<((c + 1) * plane) { target[p] = Float(image[p]) * scale + shift }
    }
  }
}
