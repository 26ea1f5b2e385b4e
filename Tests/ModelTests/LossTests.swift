import Model
import XCTest

/// Every loss: its value against numpy (float64) and its analytic gradient against central
/// finite differences of the summed loss.
///
/// Reference values: z = [[1, −0.5, 0.3, 2], [0.2, 0.1, −1.2, 0.4]], y = [0, 2], class counts
/// [100, 50, 10, 5]; effective-number weights at β = 0.9999 normalised to sum to K = 4:
/// [0.12174538282132114, 0.2428835277260656, 1.2119923214754234, 2.42337876797719]; balanced
/// weights N/(K n_c) = [0.4125, 0.825, 4.125, 8.25]. Each sum below is numpy's
/// `(w[y] * per_image_loss).sum()` for the formula in the loss's doc comment.
final class LossTests: XCTestCase {
  let logits: [Float] = [1, -0.5, 0.3, 2, 0.2, 0.1, -1.2, 0.4]
  let labels: [Int32] = [0, 2]
  let effective: [Float] = [0.12174538282132114, 0.2428835277260656, 1.2119923214754234, 2.42337876797719]
  let balanced: [Float] = [0.4125, 0.825, 4.125, 8.25]
  /// 0.5 · m_c / max m with m_c = n_c^(−1/4), from numpy.
  let ldamMargins: [Float] = [0.23643540225079396, 0.28117066259517454, 0.42044820762685725, 0.5]
  /// log(n_c / N) for counts [100, 50, 10, 5].
  var logPrior: [Float] { [100, 50, 10, 5].map { Float(log(Double($0) / 165)) } }

  /// Mixed targets: image 0 is 0.7 class 0 and 0.3 class 3, image 1 is 0.2 class 2 and 0.8 class 1.
  let mixed = Targets(labels: [0, 2], partners: [3, 1], weights: [0.7, 0.2])

  private func sum(_ loss: ClassificationLoss, logits values: [Float]? = nil, targets: Targets? = nil)
    -> Double
  {
    let shape = Shape(batch: 2, channels: 4)
    return loss.lossAndGradient(
      logits: Tensor(shape: shape, values: values ?? logits), targets: targets ?? Targets(labels: labels),
      scale: 1, gradient: Tensor(shape: shape), scratch: Tensor(shape: shape))
  }

  /// Central differences of `Σ ℓ` against the analytic gradient, normwise relative error.
  private func checkGradient(
    _ loss: ClassificationLoss, logits values: [Float]? = nil, targets: Targets? = nil, epsilon: Float = 1e-2,
    file: StaticString = #filePath,
    line: UInt = #line
  ) {
    let base = values ?? logits
    let shape = Shape(batch: 2, channels: 4)
    let gradient = Tensor(shape: shape)
    _ = loss.lossAndGradient(
      logits: Tensor(shape: shape, values: base), targets: targets ?? Targets(labels: labels), scale: 1,
      gradient: gradient, scratch: Tensor(shape: shape))
    let analytic = gradient.toArray()
    var difference = 0.0
    var norm = 0.0
    for i in base.indices {
      var plus = base
      var minus = base
      plus[i] += epsilon
      minus[i] -= epsilon
      let numeric =
        (sum(loss, logits: plus, targets: targets) - sum(loss, logits: minus, targets: targets))
        / Double(2 * epsilon)
      difference += (numeric - Double(analytic[i])) * (numeric - Double(analytic[i]))
      norm += numeric * numeric
    }
    XCTAssertGreaterThan(norm, 0, file: file, line: line)
    XCTAssertLessThan(difference.squareRoot() / norm.squareRoot(), 1e-3, "\(loss)", file: file, line: line)
  }

  /// The reconstruction loss: `Σ (y − t)²` = 0.01 + 0.01 + 0 + 0.09 + 0.09 + 0.09 = 0.29 by
  /// hand, the gradient `scale · 2(y − t)`, and that gradient against central differences.
  func testMeanSquaredError() {
    let shape = Shape(batch: 2, channels: 3)
    let output: [Float] = [0.2, 0.9, 0.5, 0.1, 0, 1]
    let target = Tensor(shape: shape, values: [0.1, 1, 0.5, 0.4, 0.3, 0.7])
    let gradient = Tensor(shape: shape)
    func loss(_ values: [Float]) -> Double {
      MeanSquaredError.lossAndGradient(
        output: Tensor(shape: shape, values: values), target: target, scale: 0.25,
        gradient: Tensor(shape: shape))
    }
    let value = MeanSquaredError.lossAndGradient(
      output: Tensor(shape: shape, values: output), target: target, scale: 0.25, gradient: gradient)
    XCTAssertEqual(value, 0.29, accuracy: 1e-6)
    let expected: [Float] = [0.05, -0.05, 0, -0.15, -0.15, 0.15]
    for (g, e) in zip(gradient.toArray(), expected) { XCTAssertEqual(g, e, accuracy: 1e-6) }
    for i in output.indices {
      var (plus, minus) = (output, output)
      plus[i] += 1e-2
      minus[i] -= 1e-2
      let numeric = 0.25 * (loss(plus) - loss(minus)) / 2e-2
      XCTAssertEqual(numeric, Double(gradient.toArray()[i]), accuracy: 1e-4, "element \(i)")
    }
  }

  func testCrossEntropy() {
    XCTAssertEqual(sum(CrossEntropyLoss()), 4.105957485942779, accuracy: 1e-5)
    checkGradient(CrossEntropyLoss())
  }

  func testWeightedCrossEntropyIsPyTorchsWeightedMean() {
    let loss = CrossEntropyLoss(classWeights: balanced, normalizeByWeights: true)
    XCTAssertEqual(sum(loss), 11.404695195997062, accuracy: 1e-4)
    XCTAssertEqual(labels.withUnsafeBufferPointer { loss.normalizer(labels: $0) }, 4.5375, accuracy: 1e-6)
    checkGradient(loss)
  }

  func testFocal() {
    XCTAssertEqual(sum(FocalLoss(gamma: 2)), 3.1415458431460426, accuracy: 1e-5)
    checkGradient(FocalLoss(gamma: 2))
    checkGradient(FocalLoss(gamma: 0.5, classWeights: balanced))
    XCTAssertEqual(
      sum(FocalLoss(gamma: 0)), sum(CrossEntropyLoss()), accuracy: 1e-6, "γ = 0 is cross-entropy")
  }

  func testClassBalancedSoftmax() {
    XCTAssertEqual(sum(CrossEntropyLoss(classWeights: effective)), 3.351699452778369, accuracy: 1e-5)
    checkGradient(CrossEntropyLoss(classWeights: effective))
  }

  func testClassBalancedSigmoidAndFocal() {
    XCTAssertEqual(
      sum(SigmoidFocalLoss(gamma: 0, classWeights: effective)), 5.208408126401664, accuracy: 1e-5)
    XCTAssertEqual(
      sum(SigmoidFocalLoss(gamma: 2, classWeights: effective)), 2.231389639321488, accuracy: 1e-5)
    checkGradient(SigmoidFocalLoss(gamma: 0, classWeights: effective))
    checkGradient(SigmoidFocalLoss(gamma: 2, classWeights: effective))
    checkGradient(SigmoidFocalLoss(gamma: 0.5, classWeights: effective))
  }

  func testComplementCrossEntropy() {
    XCTAssertEqual(sum(ComplementCrossEntropyLoss(gamma: 1)), 3.528182081222082, accuracy: 1e-5)
    checkGradient(ComplementCrossEntropyLoss(gamma: 1))
    checkGradient(ComplementCrossEntropyLoss(gamma: 5))
  }

  /// The COT complement step never pushes the target logit: its gradient there is exactly 0.
  func testComplementEntropy() {
    XCTAssertEqual(sum(ComplementEntropyLoss()), -0.4333315535405232, accuracy: 1e-6)
    checkGradient(ComplementEntropyLoss())
    let gradient = Tensor(shape: Shape(batch: 2, channels: 4))
    _ = labels.withUnsafeBufferPointer {
      ComplementEntropyLoss().lossAndGradient(
        logits: Tensor(shape: gradient.shape, values: logits), labels: $0, scale: 1, gradient: gradient)
    }
    XCTAssertEqual(gradient.toArray()[0], 0)
    XCTAssertEqual(gradient.toArray()[6], 0)
  }

  /// LDAM on cosine-like logits (z · 0.3), scale 30: numpy gives 43.31555682334118, and with
  /// DRW's effective weights 34.95271025859118 over the normaliser 1.3337377042967444.
  func testLDAMWithAndWithoutDeferredReweighting() {
    let cosines = logits.map { $0 * 0.3 }
    let plain = CrossEntropyLoss(targetMargins: ldamMargins, scale: 30)
    XCTAssertEqual(sum(plain, logits: cosines), 43.31555682334118, accuracy: 1e-3)
    checkGradient(plain, logits: cosines, epsilon: 1e-3)
    let reweighted = CrossEntropyLoss(
      classWeights: effective, normalizeByWeights: true, targetMargins: ldamMargins, scale: 30)
    XCTAssertEqual(sum(reweighted, logits: cosines), 34.95271025859118, accuracy: 1e-3)
    XCTAssertEqual(
      labels.withUnsafeBufferPointer { reweighted.normalizer(labels: $0) }, 1.3337377042967444, accuracy: 1e-6
    )
    checkGradient(reweighted, logits: cosines, epsilon: 1e-3)
  }

  func testBalancedSoftmaxAndLogitAdjustment() {
    XCTAssertEqual(sum(CrossEntropyLoss(logitOffsets: logPrior)), 4.393324610772039, accuracy: 1e-5)
    XCTAssertEqual(
      sum(CrossEntropyLoss(logitOffsets: logPrior.map { 0.5 * $0 })), 3.8935828789648474, accuracy: 1e-5)
    checkGradient(CrossEntropyLoss(logitOffsets: logPrior))
  }

  /// Two-class targets of mixup/CutMix/Remix, `Σ_i λ_i ℓ(z_i, a_i) + (1 − λ_i) ℓ(z_i, b_i)`, for
  /// every loss: numpy (float64) evaluates each loss's formula at both classes and mixes the
  /// per-image values, e.g. `(lam * ce(z, a) + (1 - lam) * ce(z, b)).sum()`; the weighted mean's
  /// normaliser is `(lam * w[a] + (1 - lam) * w[b]).sum()`. Each is also gradient-checked.
  func testMixedTargetsForEveryLoss() {
    let cases: [(String, ClassificationLoss, [Float]?, Double)] = [
      ("ce", CrossEntropyLoss(), nil, 2.7659574859427796),
      (
        "weighted-ce", CrossEntropyLoss(classWeights: balanced, normalizeByWeights: true), nil,
        4.669944227058627
      ),
      ("focal", FocalLoss(gamma: 2), nil, 1.6611315663527078),
      ("focal α", FocalLoss(gamma: 0.5, classWeights: balanced), nil, 3.954418199953235),
      ("cb-sigmoid", SigmoidFocalLoss(gamma: 0, classWeights: effective), nil, 3.79277082985802),
      ("cb-focal", SigmoidFocalLoss(gamma: 2, classWeights: effective), nil, 1.4765105055996923),
      (
        "ldam-drw",
        CrossEntropyLoss(
          classWeights: effective, normalizeByWeights: true, targetMargins: ldamMargins, scale: 30),
        logits.map { $0 * 0.3 }, 14.52874008116121
      ),
      ("balanced-softmax", CrossEntropyLoss(logitOffsets: logPrior), nil, 2.6644939628909565),
      ("cce", ComplementCrossEntropyLoss(gamma: 1), nil, 2.197578983938201),
      ("cot complement", ComplementEntropyLoss(), nil, -0.42628387650343363),
    ]
    for (name, loss, values, expected) in cases {
      XCTAssertEqual(
        sum(loss, logits: values, targets: mixed), expected, accuracy: 2e-5 * max(1, abs(expected)), name)
      checkGradient(loss, logits: values, targets: mixed, epsilon: values == nil ? 1e-2 : 1e-3)
    }
    XCTAssertEqual(
      CrossEntropyLoss(classWeights: balanced, normalizeByWeights: true).normalizer(targets: mixed), 4.24875,
      accuracy: 1e-6)
    XCTAssertEqual(
      CrossEntropyLoss(classWeights: effective, normalizeByWeights: true).normalizer(targets: mixed),
      1.248940684844019, accuracy: 1e-6)
    XCTAssertEqual(CrossEntropyLoss().normalizer(targets: mixed), 2)
    XCTAssertEqual(mixed.dominantLabels, [0, 1])
    // λ = 1 for every image is the plain loss, whatever the partner.
    let whole = Targets(labels: labels, partners: [3, 1], weights: [1, 1])
    XCTAssertEqual(sum(FocalLoss(gamma: 2), targets: whole), sum(FocalLoss(gamma: 2)), accuracy: 1e-6)
  }

  /// Large logits must not overflow: maxima are subtracted and softplus is computed stably.
  func testStableForLargeLogits() {
    let large: [Float] = [1000, 0, -1000, 3, 0, 0, 900, 0]
    for loss: ClassificationLoss in [
      CrossEntropyLoss(), FocalLoss(gamma: 2), SigmoidFocalLoss(gamma: 2, classWeights: effective),
      ComplementCrossEntropyLoss(gamma: 1), ComplementEntropyLoss(),
    ] {
      XCTAssertTrue(sum(loss, logits: large).isFinite, "\(loss)")
    }
  }
}
