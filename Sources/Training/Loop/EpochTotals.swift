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

  /// One flat array, for an allreduce and for `last.state.safetensors` (`epoch_totals`):
  /// loss, normaliser, the flattened predictions, squared error, elements.
  var flattened: [Double] {
    [loss, normalizer] + predictions.flattened + [squaredError, reconstructedElements]
  }

  /// The inverse of `flattened`; `nil` when `values` has another length.
  init?(flattened values: [Double], classes: Int) {
    let countsEnd = 2 + classes * classes + 2
    guard values.count == countsEnd + 2 else { return nil }
    (loss, normalizer) = (values[0], values[1])
    predictions = PredictionCounts(flattened: Array(values[2..<countsEnd]), classes: classes)
    (squaredError, reconstructedElements) = (values[countsEnd], values[countsEnd + 1])
  }
}
