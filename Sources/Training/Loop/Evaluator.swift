import Loader
import Model

/// Test-time augmentation of `--tta`: `flip` averages the logits of each image and of its
/// mirror image (left–right), as torchvision-based evaluation scripts commonly do; for class
/// maps, each pixel's logits with those of its mirror pixel in the mirror image's maps.
/// `flip-shift` adds both images moved by one pixel up, down, left and right (10 views; AlexNet's
/// ten crops, Krizhevsky et al. 2012, are the corners and the centre instead), black pixels
/// shifted in as training's padded crops bring them in; image classifiers only.
public enum TestTimeAugmentation: String, CaseIterable, Codable, Sendable {
  case none
  case flip
  case flipShift = "flip-shift"

  /// What the report says of the views, after "evaluated with the best checkpoint".
  public var averaging: String {
    switch self {
    case .none: ""
    case .flip: ", averaging each image with its mirror image"
    case .flipShift:
      ", averaging each image with its mirror image and both moved one pixel up, down, left and right"
    }
  }

  /// The views averaged besides the image itself, as crops of the image padded by
  /// `viewPadding` (`Augmentation.crop`; corner (1, 1) is the image unmoved).
  var views: [Augmentation.Draw] {
    func view(_ flip: Bool, _ cropX: Int, _ cropY: Int) -> Augmentation.Draw {
      var draw = Augmentation.Draw()
      (draw.flip, draw.cropX, draw.cropY) = (flip, cropX, cropY)
      return draw
    }
    switch self {
    case .none: return []
    case .flip: return [view(true, 1, 1)]
    case .flipShift:
      return [view(true, 1, 1)]
        + [false, true].flatMap { flip in [(2, 1), (0, 1), (1, 2), (1, 0)].map { view(flip, $0.0, $0.1) } }
    }
  }

  /// The padding the views are cropped from: their shifts are one pixel.
  static let viewPadding = 1
}

/// Runs a network over a whole split in inference mode, in fixed-size batches, and tallies its
/// predictions against the labels (and, for a model with a decoder, the reconstruction error).
/// Used on rank 0 only.
public struct Evaluator {
  public let batchSize: Int
  public let augmentation: TestTimeAugmentation
  /// Post-hoc adjustment of the predictions (`evaluate --logit-adjust` or `--tau-norm`).
  public let adjustment: ScoreAdjustment?

  public init(
    batchSize: Int = 128, augmentation: TestTimeAugmentation = .none, adjustment: ScoreAdjustment? = nil
  ) {
    self.batchSize = batchSize
    self.augmentation = augmentation
    self.adjustment = adjustment
  }

  /// The split's evaluation: images against their labels, or for a segmentation network every
  /// labelled pixel against its mask.
  public func evaluate(network: Network, images: RecordStore, normalization: Normalization) throws
    -> Evaluation
  {
    if network.prediction == .classMaps {
      return try evaluatePixels(network: network, images: images, normalization: normalization)
    }
    var counts = PredictionCounts(classes: images.classCount)
    var squaredError = 0.0
    let reconstructs = network.hasDecoder
    try forEachBatch(
      of: images, Array(0..<images.count), normalization: normalization, network: network,
      outputs: reconstructs ? [.logits, .reconstruction] : [.logits]
    ) {
      logits, labels, count, input in
      counts.add(logits: logits.pointer, labels: labels, count: count)
      if reconstructs {
        squaredError += reconstructionError(
          network.output(.reconstruction), of: input, normalization: normalization)
      }
    }
    var evaluation = Evaluation(counts)
    if reconstructs && images.count > 0 {
      evaluation.reconstructionMSE = squaredError / Double(images.count * network.inputShape.perImage)
    }
    return evaluation
  }

  private func evaluatePixels(network: Network, images: RecordStore, normalization: Normalization) throws
    -> Evaluation
  {
    precondition(images.hasMasks, "a segmentation network is evaluated on images with masks")
    var counts = PredictionCounts(classes: images.classCount)
    let reader = RecordReader()
    let masks = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: batchSize * images.maskSize)
    defer { masks.deallocate() }
    try run(
      count: images.count, network: network, outputs: [.classMaps], normalization: normalization,
      fill: { positions, input, labels in
        try BatchAssembler.copy(
          positions, of: images, normalization: normalization, into: input.pointer, labels: labels, offset: 0,
          masks: masks.baseAddress!, reader: reader)
      },
      { maps, _, count, _ in
        counts.addPixels(
          maps: maps, masks: UnsafeBufferPointer(rebasing: masks[0..<(count * images.maskSize)]))
      })
    return Evaluation(counts)
  }

  /// Every image's logits (after the augmentation and the adjustment), row by row, and its
  /// label: what `--logit-adjust auto` chooses τ on.
  public func logits(network: Network, images: RecordStore, normalization: Normalization) throws
    -> (logits: [Float], labels: [Int32])
  {
    var all: [Float] = []
    var allLabels: [Int32] = []
    try forEachBatch(
      of: images, Array(0..<images.count), normalization: normalization, network: network, outputs: [.logits]
    ) { logits, labels, count, _ in
      all += UnsafeBufferPointer(start: logits.pointer, count: logits.shape.count)
      allLabels += UnsafeBufferPointer(start: labels, count: count)
    }
    return (all, allLabels)
  }

  /// `Σ (reconstruction − pixels)²` over a batch, the pixels recovered from the normalised input.
  private func reconstructionError(_ reconstruction: Tensor, of input: Tensor, normalization: Normalization)
    -> Double
  {
    var pixels = [Float](repeating: 0, count: input.shape.count)
    pixels.withUnsafeMutableBufferPointer {
      normalization.pixels(
        of: input.pointer, images: input.shape.batch, plane: input.shape.plane, into: $0.baseAddress!)
    }
    var sum = 0.0
    for i in 0..<input.shape.count {
      let d = Double(reconstruction.pointer[i] - pixels[i])
      sum += d * d
    }
    return sum
  }

  /// The classifier's input features (the encoder's output) of `limit` images spread evenly
  /// over the split, row by row, with their labels: what t-SNE embeds.
  public func features(network: Network, images: RecordStore, normalization: Normalization, limit: Int) throws
    -> (features: [[Float]], labels: [Int32])
  {
    let step = max(1, images.count / max(limit, 1))
    let chosen = Array(stride(from: 0, to: images.count, by: step).prefix(limit))
    var features: [[Float]] = []
    var allLabels: [Int32] = []
    try forEachBatch(
      of: images, chosen, normalization: normalization, network: network,
      outputs: [network.prediction, .features],
      augment: false
    ) {
      _, labels, count, _ in
      let activation = network.output(.features)
      let width = activation.shape.perImage
      for n in 0..<count {
        features.append(Array(UnsafeBufferPointer(start: activation.image(n), count: width)))
        allLabels.append(labels[n])
      }
    }
    return (features, allLabels)
  }

  /// Calls `body` with the logits, labels, image count and input of each batch of the images
  /// `indices`, as `run(count:network:outputs:augment:fill:_:)` computes them.
  private func forEachBatch(
    of images: RecordStore, _ indices: [Int], normalization: Normalization, network: Network,
    outputs: [NetworkOutput], augment: Bool = true,
    _ body: (Tensor, UnsafePointer<Int32>, Int, Tensor) throws -> Void
  ) throws {
    let reader = RecordReader()
    try run(
      count: indices.count, network: network, outputs: outputs, augment: augment,
      normalization: normalization,
      fill: { positions, input, labels in
        try BatchAssembler.copy(
          indices[positions], of: images, normalization: normalization, into: input.pointer, labels: labels,
          offset: 0, reader: reader)
      }, body)
  }

  /// Runs `network` in inference mode (restored afterwards) over `count` images in batches:
  /// `fill` writes the images and labels of the positions given, normalised by
  /// `normalization`; `body` gets the logits or class maps (averaged over the `--tta` views
  /// when `augment`, mirrored maps mirrored back first; then adjusted), labels, image count and
  /// input. The network's `outputs` belong to the input passed.
  public func run(
    count: Int, network: Network, outputs: [NetworkOutput] = [.logits], augment: Bool = true,
    normalization: Normalization,
    fill: (Range<Int>, Tensor, UnsafeMutablePointer<Int32>) throws -> Void,
    _ body: (Tensor, UnsafePointer<Int32>, Int, Tensor) throws -> Void
  ) throws {
    let views = augment ? augmentation.views : []
    precondition(
      network.prediction != .classMaps || views.allSatisfy { $0.cropX == 1 && $0.cropY == 1 },
      "class maps are averaged over mirror images only")
    let wasTraining = network.isTraining
    network.setTraining(false)
    defer { network.setTraining(wasTraining) }
    let input = Tensor(shape: network.inputShape.with(batch: batchSize))
    let original = views.isEmpty ? input : Tensor(shape: input.shape)
    let black = normalization.mean.indices.map { -normalization.mean[$0] / normalization.std[$0] }
    var labels = [Int32](repeating: 0, count: batchSize)
    var averaged: Tensor?
    for start in stride(from: 0, to: count, by: batchSize) {
      let size = min(batchSize, count - start)
      input.resize(batch: size)
      try labels.withUnsafeMutableBufferPointer { try fill(start..<(start + size), input, $0.baseAddress!) }
      var logits = network.forward(input, outputs: outputs)
      if !views.isEmpty {
        let sum = averaged ?? Tensor(shape: logits.shape.with(batch: batchSize))
        averaged = sum
        sum.resize(batch: size)
        sum.pointer.update(from: logits.pointer, count: logits.shape.count)
        original.resize(batch: size)
        original.pointer.update(from: input.pointer, count: input.shape.count)
        for view in views {
          crop(original, view, fill: black, into: input)
          logits = network.forward(input, outputs: outputs)
          if network.prediction == .classMaps && view.flip { mirrorLeftRight(logits) }
          for i in 0..<logits.shape.count { sum.pointer[i] += logits.pointer[i] }
        }
        let scale = 1 / Float(views.count + 1)
        for i in 0..<sum.shape.count { sum.pointer[i] *= scale }
        logits = sum
      }
      if augment, let adjustment { adjustment.apply(to: logits.pointer, images: size) }
      try labels.withUnsafeBufferPointer { try body(logits, $0.baseAddress!, size, input) }
    }
  }
}

/// Every plane of `images` cropped into `target` as training's augmentation crops it
/// (`Augmentation.crop` at `TestTimeAugmentation.viewPadding`), the padding `fill` of its channel.
func crop(_ images: Tensor, _ view: Augmentation.Draw, fill: [Float], into target: Tensor) {
  let (height, width, channels) = (images.shape.height, images.shape.width, images.shape.channels)
  for plane in 0..<(images.shape.count / (height * width)) {
    Augmentation.crop(
      images.pointer + plane * height * width, into: target.pointer + plane * height * width, height: height,
      width: width, padding: TestTimeAugmentation.viewPadding, draw: view, fill: fill[plane % channels])
  }
}

/// Reverses every row of every plane of `images` in place (a left–right flip).
func mirrorLeftRight(_ images: Tensor) {
  let width = images.shape.width
  let rows = images.shape.count / width
  for r in 0..<rows {
    let row = images.pointer + r * width
    var (i, j) = (0, width - 1)
    while i < j {
      (row[i], row[j]) = (row[j], row[i])
      i += 1
      j -= 1
    }
  }
}
