import Model
import Training
import XCTest

final class ObjectivesTests: XCTestCase {
  let counts = [100, 50, 10, 5]

  private func objectives(_ kind: LossKind, epochs: Int = 10, drw: Int? = nil) -> Objectives {
    var options = LossOptions(kind: kind)
    options.drwEpoch = drw
    return Objectives(options: options, classCounts: counts, epochs: epochs)
  }

  /// LDAM margins `∝ n^(−1/4)` with the largest 0.5 (numpy: 0.5 · m / m.max()).
  func testLDAMMargins() {
    let margins = objectives(.ldam).ldamMargins
    let expected: [Float] = [0.23643540225079396, 0.28117066259517454, 0.42044820762685725, 0.5]
    for (m, e) in zip(margins, expected) { XCTAssertEqual(m, e, accuracy: 1e-6) }
  }

  /// DRW: no weights before the DRW epoch, effective-number weights (PyTorch's weighted mean)
  /// from it on; the default is 80% of the run plus one (epoch 9 of 10, as 161 of 200).
  func testDeferredReweightingSwitchesAtTheDRWEpoch() throws {
    let ldam = objectives(.ldam)
    XCTAssertEqual(ldam.drwEpoch, 9)
    let before = try XCTUnwrap(ldam.losses(epoch: 8).first as? CrossEntropyLoss)
    let after = try XCTUnwrap(ldam.losses(epoch: 9).first as? CrossEntropyLoss)
    XCTAssertNil(before.classWeights)
    XCTAssertNil(before.normalizingWeights)
    XCTAssertEqual(after.normalizingWeights?.count, 4)
    XCTAssertEqual(after.scale, 30)
    XCTAssertEqual(before.targetMargins, after.targetMargins)
    XCTAssertEqual(objectives(.ldam, drw: 3).losses(epoch: 2).first?.normalizingWeights == nil, true)
    XCTAssertNotNil(objectives(.ldam, drw: 3).losses(epoch: 3).first?.normalizingWeights)
  }

  /// COT alternates two objectives each iteration: cross-entropy first, then complement entropy.
  func testCOTAlternatesCrossEntropyAndComplementEntropy() {
    let losses = objectives(.cot).losses(epoch: 1)
    XCTAssertEqual(losses.count, 2)
    XCTAssertTrue(losses[0] is CrossEntropyLoss)
    XCTAssertTrue(losses[1] is ComplementEntropyLoss)
    for kind in LossKind.allCases where kind != .cot {
      XCTAssertEqual(objectives(kind).losses(epoch: 1).count, 1, "\(kind)")
    }
  }

  func testLogitAdjustmentAddsTauLogPrior() throws {
    var options = LossOptions(kind: .logitAdjust)
    options.tau = 0.5
    let loss = try XCTUnwrap(
      Objectives(options: options, classCounts: counts, epochs: 1).losses(epoch: 1).first as? CrossEntropyLoss
    )
    let offsets = try XCTUnwrap(loss.logitOffsets)
    XCTAssertEqual(offsets[3], Float(0.5 * log(5.0 / 165)), accuracy: 1e-6)
    let balanced = try XCTUnwrap(objectives(.balancedSoftmax).losses(epoch: 1).first as? CrossEntropyLoss)
    XCTAssertEqual(try XCTUnwrap(balanced.logitOffsets)[0], Float(log(100.0 / 165)), accuracy: 1e-6)
  }

  func testLDAMUsesACosineClassifier() {
    XCTAssertTrue(LossOptions(kind: .ldam).needsCosineClassifier)
    XCTAssertFalse(LossOptions(kind: .cbFocal).needsCosineClassifier)
  }

  /// −log((1 − 0.1)/0.1) = −log 9 = −2.1972245773362196 for the sigmoid-based losses only.
  func testSigmoidLossesStartTheClassifierAtProbabilityOneTenth() throws {
    XCTAssertEqual(
      try XCTUnwrap(LossOptions(kind: .cbSigmoid).initialClassifierBias), -2.1972245773362196, accuracy: 1e-6)
    XCTAssertEqual(
      try XCTUnwrap(LossOptions(kind: .cbFocal).initialClassifierBias), -2.1972245773362196, accuracy: 1e-6)
    for kind in LossKind.allCases where kind != .cbSigmoid && kind != .cbFocal {
      XCTAssertNil(LossOptions(kind: kind).initialClassifierBias, "\(kind)")
    }
  }
}
