import Model

/// What one epoch's steps measured: the first objective's summed loss and normaliser (the
/// reconstruction MSE's in an autoencoder phase), the predictions on the drawn batches, and
/// the reconstruction's squared error over its pixels. Every field adds, so ranks sum theirs.
struct EpochTotals: Equatable {
  var loss = 0.0
  var normalizer = 0.0
  var predictions: PredictionCounts
  var squaredError = 0.0
  var reconstructedElements = 0.0

  init(classes: Int) { predictions = PredictionCounts(classes: classes) }

  /// The epoch's mean loss so far.
  var meanLoss: Double { loss / max(normalizer, 1e-12) }

  /// The reconstruction's mean squared error per pixel, when the epoch reconstructed.
  var reconstructionMSE: Double? { reconstructedElements > 0 ? squaredError / reconstructedElements : nil }

  /// One flat array, to gather from the ranks and for `last.state.safetensors`
  /// (`epoch_totals_sparse`): loss, normaliser, squared error, elements, then the flattened
  /// predictions (whose length grows with the confusion matrix's cells that occur).
  var flattened: [Double] {
    [loss, normalizer, squaredError, reconstructedElements] + predictions.flattened
  }

  /// The inverse of `flattened`; `nil` for values that no totals flatten to.
  init?(flattened values: [Double], classes: Int) {
    guard values.count >= 4,
      let predictions = PredictionCounts(flattened: values.dropFirst(4), classes: classes)
    else { return nil }
    (loss, normalizer, squaredError, reconstructedElements) = (values[0], values[1], values[2], values[3])
    self.predictions = predictions
  }

  /// `flattened` of the totals that earlier builds wrote as `epoch_totals`: loss, normaliser,
  /// the K×K matrix row by row, top-5, cross-entropy, squared error, elements; `nil` for
  /// another length.
  static func flattened(fromDense values: [Double]) -> [Double]? {
    let classes = Int(Double(max(values.count - 6, 0)).squareRoot().rounded())
    guard classes > 0, values.count == 6 + classes * classes else { return nil }
    var totals = EpochTotals(classes: classes)
    (totals.loss, totals.normalizer) = (values[0], values[1])
    let tail = 2 + classes * classes
    (totals.squaredError, totals.reconstructedElements) = (values[tail + 2], values[tail + 3])
    var cells = [values[tail], values[tail + 1]]
    for truth in 0..<classes {
      for prediction in 0..<classes where values[2 + truth * classes + prediction] > 0 {
        cells += [Double(truth), Double(prediction), values[2 + truth * classes + prediction]]
      }
    }
    totals.predictions = PredictionCounts(flattened: cells, classes: classes) ?? totals.predictions
    return totals.flattened
  }

  /// Adds another rank's totals.
  mutating func merge(_ other: EpochTotals) {
    loss += other.loss
    normalizer += other.normalizer
    predictions.merge(other.predictions)
    squaredError += other.squaredError
    reconstructedElements += other.reconstructedElements
  }
}
