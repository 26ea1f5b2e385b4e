import Model
import Training
import XCTest

/// Post-hoc logit adjustment, τ-normalisation and predict's probabilities against numbers NumPy computed
/// independently (float64; the script is in each test's comment).
final class ScoreAdjustmentTests: XCTestCase {
  /// `np.log(counts / counts.sum())` for counts [100, 10, 1]; adjusted = [2, 0, −1] − that.
  func testOffsetsAreTauTimesTheLogPrior() {
    let adjustment = ScoreAdjustment.logitAdjustment(tau: 1, trainCounts: [100, 10, 1])
    let expected = [-0.10436001532424276, -2.4069451083182885, -4.709530201312334]
    for (offset, value) in zip(adjustment.offsets, expected) {
      XCTAssertEqual(Double(offset), value, accuracy: 1e-6)
    }
    var logits: [Float] = [2, 0, -1]
    logits.withUnsafeMutableBufferPointer { adjustment.apply(to: $0.baseAddress!, images: 1) }
    for (logit, value) in zip(logits, [2.1043600153242425, 2.4069451083182885, 3.709530201312334]) {
      XCTAssertEqual(Double(logit), value, accuracy: 1e-6)
    }
    // τ is on the softmax's scale: a cosine classifier's offsets are divided by its s.
    let cosine = ScoreAdjustment.logitAdjustment(tau: 1, trainCounts: [100, 10, 1], scale: 30)
    XCTAssertEqual(Double(cosine.offsets[2]), -4.709530201312334 / 30, accuracy: 1e-7)
    // A class without training images counts as one image, not −∞.
    XCTAssertTrue(
      ScoreAdjustment.logitAdjustment(tau: 1, trainCounts: [5, 0]).offsets.allSatisfy(\.isFinite))
  }

  /// 30 images, 10 per class, logits `((7n + 3j) mod 5)/4 + 1.5·[j = label] + [2, 0.5, 0][j]`
  /// (float32): NumPy's macro-F1 of argmax(logits − τ·log π) over τ = 0, 0.25 … 3 is 0.3757,
  /// 0.9327, 1.0, 0.5694, 0.4461, then 0.1667: τ = 0.5 wins with 1.0.
  func testAutoChoosesTheTauWithTheBestValidationScore() {
    let labels = (0..<30).map { Int32($0 % 3) }
    var logits: [Float] = []
    for n in 0..<30 {
      for j in 0..<3 {
        logits.append(
          Float((n * 7 + j * 3) % 5) / 4 + (j == Int(labels[n]) ? 1.5 : 0) + [Float(2), 0.5, 0][j])
      }
    }
    let (adjustment, score) = ScoreAdjustment.chosen(
      .logitAdjustment, logits: logits, labels: labels, classes: 3, metric: .macroF1
    ) { .logitAdjustment(tau: $0, trainCounts: [100, 10, 1]) }
    XCTAssertEqual(adjustment.tau, 0.5)
    XCTAssertEqual(score, 1.0, accuracy: 1e-12)
    XCTAssertEqual(ScoreAdjustment.candidates(.logitAdjustment).count, 13)
    XCTAssertEqual(ScoreAdjustment.candidates(.tauNormalization).count, 21)
  }

  /// τ-normalisation on the logits equals the classifier with rows `w_k / ‖w_k‖^τ` and no bias.
  /// W = [[3, 4], [1, 0], [0, 0.5]], b = [0.5, −1, 2], x = [1, 2]: logits W x + b = [11.5, 0, 3];
  /// NumPy's `(W @ x) / np.linalg.norm(W, axis=1) ** tau` is [2.2, 1, 2] at τ = 1 and
  /// [4.919349550499537, 1, 1.4142135623730951] at τ = ½; τ = 0 keeps W x (the bias dropped).
  func testTauNormalisationRescalesEachClassByItsWeightNorm() {
    for (tau, expected) in [
      (1.0, [2.2, 1, 2]), (0.5, [4.919349550499537, 1, 1.4142135623730951]), (0.0, [11, 1, 1]),
    ] {
      let adjustment = ScoreAdjustment.tauNormalization(tau: tau, rowNorms: [5, 1, 0.5], bias: [0.5, -1, 2])
      var logits: [Float] = [11.5, 0, 3]
      logits.withUnsafeMutableBufferPointer { adjustment.apply(to: $0.baseAddress!, images: 1) }
      for (value, reference) in zip(logits, expected) {
        XCTAssertEqual(Double(value), reference, accuracy: 1e-5, "τ = \(tau)")
      }
    }
  }

  /// On a real network: the adjusted logits equal the logits of the same network whose
  /// classifier rows were divided by their norms to the power τ and whose bias was zeroed.
  func testTauNormalisationEqualsNormalisingTheClassifier() throws {
    let network = try Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    network.initializeParameters(seed: 3)
    network.setTraining(false)
    let input = Tensor(
      shape: network.inputShape.with(batch: 4), values: (0..<(4 * 784)).map { Float($0 % 17) / 8 - 1 })
    network.forward(input, outputs: [.logits])
    var adjusted = network.output(.logits).toArray()
    let adjustment = ScoreAdjustment.tauNormalization(
      tau: 0.7, rowNorms: network.classifierRowNorms, bias: Array(try XCTUnwrap(network.classifierBias)))
    adjusted.withUnsafeMutableBufferPointer { adjustment.apply(to: $0.baseAddress!, images: 4) }
    let (weights, norms) = (try XCTUnwrap(network.classifierWeight), network.classifierRowNorms)
    let features = weights.count / 10
    for k in 0..<10 {
      for i in (k * features)..<((k + 1) * features) { weights[i] /= Float(pow(norms[k], 0.7)) }
    }
    try XCTUnwrap(network.classifierBias).update(repeating: 0)
    network.forward(input, outputs: [.logits])
    for (a, b) in zip(adjusted, network.output(.logits).toArray()) { XCTAssertEqual(a, b, accuracy: 1e-4) }
  }

  /// A cosine classifier (LDAM) ignores its weight norms, so τ-normalisation is refused; so is
  /// logit adjustment without training counts, and `auto` without a validation split.
  func testAdjustmentsThatCannotApplyAreRefused() throws {
    let cosine = try Architecture.smallCNN.makeNetwork(
      channels: 1, height: 28, width: 28, classes: 10, cosineClassifier: true)
    let plain = Evaluator()
    let normalization = Normalization(mean: [0.5], std: [0.25])
    XCTAssertThrowsError(
      try plain.adjusted(
        .tauNormalization, .fixed(1), network: cosine, trainCounts: nil, scoreScale: 30, validation: nil,
        normalization: normalization, metric: .macroF1)
    ) { XCTAssertEqual($0 as? AdjustmentError, .cosineClassifier) }
    XCTAssertThrowsError(
      try plain.adjusted(
        .logitAdjustment, .fixed(1), network: cosine, trainCounts: nil, scoreScale: 30, validation: nil,
        normalization: normalization, metric: .macroF1)
    ) { XCTAssertEqual($0 as? AdjustmentError, .noTrainingCounts) }
    let linear = try Architecture.smallCNN.makeNetwork(channels: 1, height: 28, width: 28, classes: 10)
    XCTAssertThrowsError(
      try plain.adjusted(
        .tauNormalization, .auto, network: linear, trainCounts: nil, scoreScale: 1, validation: nil,
        normalization: normalization, metric: .macroF1)
    ) {
      XCTAssertEqual(
        "\($0)",
        "--tau-norm auto chooses τ on the run's validation split: give --run, or a τ (`imbal-dist evaluate --run RUN --tau-norm auto` prints the one it chooses)"
      )
    }
  }

  /// `softmax([1, 2, 3])` and `softmax(30 · float32([0.1, 0.2, 0.3]))`.
  func testProbabilitiesAreTheScaledSoftmax() {
    let plain = Predictor.probabilities([Float(1), 2, 3], scale: 1)
    for (p, q) in zip(plain, [0.09003057317038046, 0.24472847105479764, 0.6652409557748218]) {
      XCTAssertEqual(p, q, accuracy: 1e-12)
    }
    let cosine = Predictor.probabilities([Float(0.1), 0.2, 0.3], scale: 30)
    for (p, q) in zip(cosine, [0.002355632375292672, 0.0473141431665042, 0.950330224458203]) {
      XCTAssertEqual(p, q, accuracy: 1e-12)
    }
  }

  func testTheOptionTakesAutoOrATauFromZeroToTen() {
    XCTAssertEqual(TauChoice(argument: "auto"), .auto)
    XCTAssertEqual(TauChoice(argument: "1.5"), .fixed(1.5))
    for bad in ["-1", "11", "nan", "inf", "x", ""] { XCTAssertNil(TauChoice(argument: bad), bad) }
  }
}
