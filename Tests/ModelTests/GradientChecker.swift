import Model
import PRNG
import XCTest

/// Compares a network's analytic gradients with central finite differences, as Caffe's
/// `GradientChecker` does, for the scalar `L = Σ_i r_i · y_i` with fixed random `r`.
///
/// The loss is accumulated in Double, so the only Float error is the forward pass's rounding.
/// The comparison is normwise, as in CS231n: `‖g_analytic − g_numeric‖ / max(‖g_a‖, ‖g_n‖)`,
/// separately for the input gradient and for every parameter tensor.
struct GradientChecker {
  var epsilon: Float = 1e-2
  var tolerance = 1e-3

  func check(
    _ network: Network, input: Tensor, seed: UInt64 = 7, file: StaticString = #filePath, line: UInt = #line
  ) {
    var rng = Xoshiro256(seed: seed)
    let output = network.forward(input)
    let weights = (0..<output.shape.count).map { _ in Float(rng.nextGaussian()) }
    let outputGradient = Tensor(shape: output.shape, values: weights)
    let inputGradient = Tensor(shape: input.shape)
    network.zeroGradients()
    network.backward(input: input, logitsGradient: outputGradient, inputGradient: inputGradient)

    func loss() -> Double {
      let y = network.forward(input)
      return zip(y.toArray(), weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    func numeric(_ values: UnsafeMutablePointer<Float>, at indices: [Int]) -> [Double] {
      indices.map { i in
        let saved = values[i]
        values[i] = saved + epsilon
        let plus = loss()
        values[i] = saved - epsilon
        let minus = loss()
        values[i] = saved
        return (plus - minus) / (2 * Double(epsilon))
      }
    }
    func compare(_ analytic: [Float], _ numeric: [Double], _ what: String) {
      var difference = 0.0
      var normA = 0.0
      var normN = 0.0
      for (a, n) in zip(analytic, numeric) {
        difference += (Double(a) - n) * (Double(a) - n)
        normA += Double(a) * Double(a)
        normN += n * n
      }
      let scale = max(normA.squareRoot(), normN.squareRoot())
      XCTAssertGreaterThan(
        scale, 0, "\(what): the gradient is identically zero; the check proves nothing", file: file,
        line: line)
      let relative = difference.squareRoot() / max(scale, 1e-30)
      XCTAssertLessThan(relative, tolerance, "\(what): relative error \(relative)", file: file, line: line)
    }

    let inputIndices = Array(0..<input.shape.count)
    let analyticInput = inputGradient.toArray()
    compare(inputIndices.map { analyticInput[$0] }, numeric(input.pointer, at: inputIndices), "input")
    let analyticParameters = Array(network.gradients.buffer)
    for entry in network.layout.entries {
      let indices = Array(0..<entry.count)
      let numericGradient = numeric(network.parameters.base + entry.offset, at: indices)
      compare(indices.map { analyticParameters[entry.offset + $0] }, numericGradient, entry.name)
    }
  }
}

extension GradientChecker {
  /// The same loss, but each tensor is moved as a whole along the unit direction of its own
  /// analytic gradient `d = g/‖g‖`: `(L(θ+εd) − L(θ−εd)) / 2ε` must equal `g·d = ‖g‖`. The
  /// whole tensor's signal makes a tight check of a deep network possible in Float, where
  /// per-coordinate differences drown in rounding; a wrong gradient passes only if its error
  /// happens to be orthogonal to it, so each tensor is also moved along `randomDirections`
  /// mixed directions `(g/‖g‖ + u)/‖…‖` with `u` a random unit vector: they reach every entry,
  /// so a gradient entry that backward dropped (left zero) shows as a directional error.
  /// With several `outputs` (logits and reconstruction) the loss sums `Σ r·y` over each.
  /// `floor` (a fraction of the largest tensor's gradient norm) is the smallest scale the
  /// error is measured against: batch norm makes some gradients exactly zero (a bias before
  /// another batch norm), where a relative error would only measure rounding.
  func checkAlongGradient(
    _ network: Network, input: Tensor, outputs: [NetworkOutput] = [.logits], seed: UInt64 = 7,
    floor: Double = 0, randomDirections: Int = 2,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    var rng = Xoshiro256(seed: seed)
    network.forward(input, outputs: outputs)
    let weights = outputs.map { output in
      (0..<network.output(output).shape.count).map { _ in Float(rng.nextGaussian()) }
    }
    let inputGradient = Tensor(shape: input.shape)
    network.zeroGradients()
    network.backward(
      input: input,
      outputGradients: zip(outputs, weights).map {
        ($0, Tensor(shape: network.output($0).shape, values: $1))
      },
      inputGradient: inputGradient)
    func loss() -> Double {
      network.forward(input, outputs: outputs)
      return zip(outputs, weights).reduce(0) { total, pair in
        zip(network.output(pair.0).toArray(), pair.1).reduce(total) { $0 + Double($1.0) * Double($1.1) }
      }
    }
    var tensors = [("input", input.pointer, inputGradient.toArray())]
    let analyticParameters = Array(network.gradients.buffer)
    for entry in network.layout.entries {
      tensors.append(
        (
          entry.name, network.parameters.base + entry.offset,
          Array(analyticParameters[entry.offset..<(entry.offset + entry.count)])
        ))
    }
    let norms = tensors.map { $0.2.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
    let smallest = floor * (norms.max() ?? 0)
    for ((name, values, analytic), norm) in zip(tensors, norms) {
      XCTAssertGreaterThan(norm, 0, "\(name): the gradient is identically zero", file: file, line: line)
      let along = analytic.map { Double($0) / max(norm, 1e-30) }
      var directions = [along]
      for _ in 0..<randomDirections {
        let random = along.map { _ in rng.nextGaussian() }
        let randomNorm = random.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let mixed = zip(along, random).map { $0 + $1 / randomNorm }
        let mixedNorm = mixed.reduce(0) { $0 + $1 * $1 }.squareRoot()
        directions.append(mixed.map { $0 / mixedNorm })
      }
      for (index, direction) in directions.enumerated() {
        let what = index == 0 ? "along the gradient" : "along mixed direction \(index)"
        let saved = Array(UnsafeBufferPointer(start: values, count: analytic.count))
        for i in analytic.indices { values[i] = saved[i] + epsilon * Float(direction[i]) }
        let plus = loss()
        for i in analytic.indices { values[i] = saved[i] - epsilon * Float(direction[i]) }
        let minus = loss()
        for i in analytic.indices { values[i] = saved[i] }
        let numeric = (plus - minus) / (2 * Double(epsilon))
        let exact = zip(analytic, direction).reduce(0) { $0 + Double($1.0) * $1.1 }
        let relative = abs(numeric - exact) / max(abs(numeric), abs(exact), smallest, 1e-30)
        XCTAssertLessThan(
          relative, tolerance, "\(name): relative error \(relative) \(what)", file: file, line: line)
      }
    }
  }
}

/// A tensor of Gaussian values (seeded), optionally kept at least `margin` away from zero so
/// that a finite-difference step never crosses ReLU's kink.
/// Every parameter of `network` from N(0, 0.25): weights and biases of a size where a layer's
/// outputs and gradients are neither vanishing nor clamped everywhere.
func randomize(_ network: Network, seed: UInt64) {
  var rng = Xoshiro256(seed: seed)
  for i in 0..<network.parameters.count { network.parameters.base[i] = Float(rng.nextGaussian()) * 0.5 }
}

func randomTensor(_ shape: Shape, seed: UInt64, margin: Float = 0) -> Tensor {
  var rng = Xoshiro256(seed: seed)
  let values = (0..<shape.count).map { _ -> Float in
    let v = Float(rng.nextGaussian())
    return v >= 0 ? v + margin : v - margin
  }
  return Tensor(shape: shape, values: values)
}

extension Network {
  /// Scales every convolution weight (the 4-D tensors) from PyTorch's default initialisation,
  /// U(±1/√fan-in), to He's standard deviation √(2/fan-in), × √6: the whole-network checks'
  /// steps and tolerances are set at that scale. Batch norm makes the loss invariant to the
  /// scale of the convolution before it, so the curvature along its weights grows as 1/‖w‖²,
  /// and at the smaller scale float32 central differences lose a digit; the gradients checked
  /// do not depend on the scale.
  func scaleConvolutionsToHe() {
    for entry in layout.entries where entry.shape.count == 4 {
      for i in entry.offset..<(entry.offset + entry.count) { parameters.base[i] *= Float(6).squareRoot() }
    }
  }
}

/// One forward and backward of `network`: its output, then the input gradient, then every
/// parameter gradient, in one array (for comparing a fused layer with its parts bit for bit).
func stepResults(_ network: Network, input: Tensor, outputGradient: Tensor) -> [Float] {
  let y = network.forward(input).toArray()
  let dx = Tensor(shape: input.shape)
  network.zeroGradients()
  network.backward(input: input, logitsGradient: outputGradient, inputGradient: dx)
  return y + dx.toArray() + Array(network.gradients.buffer)
}
