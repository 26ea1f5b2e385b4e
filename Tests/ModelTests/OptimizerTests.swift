import Model
import PRNG
import XCTest

final class OptimizerTests: XCTestCase {
  /// Hand-computed, PyTorch's SGD semantics (lr 0.1, momentum 0.9, weight decay 0.01):
  ///   step 1: g = 0.5 + 0.01·2 = 0.52;  v = 0.52;  θ = 2 − 0.052 = 1.948
  ///   step 2: g = 0.5 + 0.01·1.948 = 0.51948;  v = 0.9·0.52 + 0.51948 = 0.98748;  θ = 1.948 − 0.098748 = 1.849252
  func testMomentumAndWeightDecayMatchHandComputation() {
    let parameters = Arena(count: 1)
    let gradients = Arena(count: 1)
    parameters.base[0] = 2
    gradients.base[0] = 0.5
    let sgd = SGD(parameterCount: 1, momentum: 0.9, weightDecay: 0.01)
    sgd.step(parameters: parameters, gradients: gradients, learningRate: 0.1)
    XCTAssertEqual(parameters.base[0], 1.948, accuracy: 1e-6)
    sgd.step(parameters: parameters, gradients: gradients, learningRate: 0.1)
    XCTAssertEqual(sgd.velocity.base[0], 0.98748, accuracy: 1e-6)
    XCTAssertEqual(parameters.base[0], 1.849252, accuracy: 1e-6)
  }

  func testCosineScheduleValues() {
    let schedule = CosineSchedule(base: 0.1, totalSteps: 110, warmupSteps: 10, minimum: 0)
    XCTAssertEqual(schedule.learningRate(step: 0), 0.01, accuracy: 1e-12)  // warm-up 1/10
    XCTAssertEqual(schedule.learningRate(step: 9), 0.1, accuracy: 1e-12)  // warm-up done
    XCTAssertEqual(schedule.learningRate(step: 10), 0.1, accuracy: 1e-12)  // cosine starts at the peak
    XCTAssertEqual(schedule.learningRate(step: 60), 0.05, accuracy: 1e-12)  // halfway: cos(π/2) = 0
    XCTAssertEqual(schedule.learningRate(step: 35), 0.05 * (1 + cos(Double.pi / 4)), accuracy: 1e-12)
    XCTAssertEqual(schedule.learningRate(step: 110), 0, accuracy: 1e-12)
  }

  /// A linear classifier on two well separated Gaussian blobs must reach zero training error
  /// and a small loss: SGD, the loss gradient and Dense's backward all have to be right for
  /// that to happen (a sign error or a wrong transpose diverges or stalls).
  func testTrainsALinearClassifierToConvergence() {
    let network = Network(
      layers: [Dense(name: "fc", inputFeatures: 2, outputFeatures: 2)], channels: 2, height: 1, width: 1)
    network.initializeParameters(seed: 1)
    var rng = Xoshiro256(seed: 2)
    let batch = 64
    var values: [Float] = []
    var labels: [Int32] = []
    for n in 0..<batch {
      let label = Int32(n % 2)
      let center: Float = label == 0 ? -2 : 2
      values += [center + Float(rng.nextGaussian()) * 0.5, -center + Float(rng.nextGaussian()) * 0.5]
      labels.append(label)
    }
    let input = Tensor(shape: Shape(batch: batch, channels: 2), values: values)
    let gradient = Tensor(shape: Shape(batch: batch, channels: 2))
    let sgd = SGD(parameterCount: network.layout.count, momentum: 0.9, weightDecay: 0)
    var loss = 0.0
    for _ in 0..<200 {
      network.zeroGradients()
      let logits = network.forward(input)
      loss =
        labels.withUnsafeBufferPointer {
          CrossEntropyLoss().lossAndGradient(
            logits: logits, labels: $0, scale: 1 / Float(batch), gradient: gradient)
        } / Double(batch)
      network.backward(input: input, logitsGradient: gradient)
      sgd.step(parameters: network.parameters, gradients: network.gradients, learningRate: 0.1)
    }
    XCTAssertLessThan(loss, 0.02)
    let logits = network.forward(input).toArray()
    for n in 0..<batch {
      let predicted: Int32 = logits[2 * n + 1] > logits[2 * n] ? 1 : 0
      XCTAssertEqual(predicted, labels[n])
    }
  }
}
