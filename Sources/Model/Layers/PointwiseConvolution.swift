import CBLAS

/// A 1×1, stride-1, unpadded convolution as matrix products over several images at once. Its
/// im2col columns are the input itself, so `Y = W · X` with `X[Cin][images·H·W]` the images of
/// a chunk side by side: gathered from NCHW when planes are small (MobileNetV2's 7×7 and 4×4
/// stages, where one image's product is too thin for sgemm), used in place when a chunk is one
/// image. Backward: `dW += dY · Xᵀ`, `db += Σ dY`, `dX = Wᵀ · dY` over the same chunks.
final class PointwiseConvolution {
  /// Pixels a chunk's products are sized for: whole images, at least one. On MobileNetV2
  /// (`bench`, one thread, batch 128) 256 beat 1,024, whose gathers and scatters of 16×16
  /// planes cost more than the wider products saved.
  static let columnsPerChunk = 256

  let inputChannels: Int
  let outputChannels: Int

  private let inputColumns = Scratch()
  private let outputColumns = Scratch()
  private let maskedGradient = Scratch()

  init(inputChannels: Int, outputChannels: Int) {
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
  }

  static func imagesPerChunk(batch: Int, plane: Int) -> Int {
    max(1, min(batch, columnsPerChunk / plane))
  }

  /// `y = act(W · x + b)` for `batch` images of `plane` pixels, `act` the ReLU clamp to
  /// `activationCap` when given; overwrites `y`.
  func forward(
    _ x: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    activationCap: Float?, into y: UnsafeMutablePointer<Float>, batch: Int, plane: Int
  ) {
    let (cin, cout) = (inputChannels, outputChannels)
    let chunk = Self.imagesPerChunk(batch: batch, plane: plane)
    for first in stride(from: 0, to: batch, by: chunk) {
      let images = min(chunk, batch - first)
      let columns = images * plane
      let output = y + first * cout * plane
      let xs = Self.gather(
        x + first * cin * plane, images: images, channels: cin, plane: plane, into: inputColumns)
      let ys = images == 1 ? output : outputColumns.reserve(cout * columns)
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(columns), Int32(cin),
        1, weights, Int32(cin), xs, Int32(columns), 0, ys, Int32(columns))
      Self.scatter(
        ys, images: images, channels: cout, plane: plane, bias: bias, activationCap: activationCap,
        into: output)
    }
  }

  /// `dy` masked by the fused activation (from the output `y`) when `activationCap` is
  /// given, then `db += Σ dy`, `dW += dy · xᵀ` and, when asked for, `dx = Wᵀ · dy`.
  func backward(
    input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
    activationCap: Float?, weights: UnsafePointer<Float>, weightGradient dw: UnsafeMutablePointer<Float>,
    biasGradient: UnsafeMutablePointer<Float>?, inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int,
    plane: Int
  ) {
    let (cin, cout) = (inputChannels, outputChannels)
    let chunk = Self.imagesPerChunk(batch: batch, plane: plane)
    for first in stride(from: 0, to: batch, by: chunk) {
      let images = min(chunk, batch - first)
      let columns = images * plane
      let offset = first * cout * plane
      let dy = ReLU.gradient(
        outputGradient + offset, throughCap: activationCap, output: y + offset, count: images * cout * plane,
        scratch: maskedGradient)
      if let biasGradient {
        Reductions.accumulateChannelSums(dy, images: images, channels: cout, plane: plane, into: biasGradient)
      }
      let dys = Self.gather(dy, images: images, channels: cout, plane: plane, into: outputColumns)
      let xs = Self.gather(
        x + first * cin * plane, images: images, channels: cin, plane: plane, into: inputColumns)
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(cout), Int32(cin), Int32(columns),
        1, dys, Int32(columns), xs, Int32(columns), 1, dw, Int32(cin))
      guard let dx else { continue }
      let target = dx + first * cin * plane
      // The gathered input is no longer needed: its buffer takes the chunk's dx.
      let dxs = images == 1 ? target : inputColumns.reserve(cin * columns)
      cblas_sgemm(
        CblasRowMajor, CblasTrans, CblasNoTrans, Int32(cin), Int32(columns), Int32(cout),
        1, weights, Int32(cin), dys, Int32(columns), 0, dxs, Int32(columns))
      Self.scatter(
        dxs, images: images, channels: cin, plane: plane, bias: nil, activationCap: nil, into: target)
    }
  }

  /// `images` NCHW images as `[channels][images·plane]`: the images themselves when there is one.
  private static func gather(
    _ x: UnsafePointer<Float>, images: Int, channels: Int, plane: Int, into scratch: Scratch
  ) -> UnsafePointer<Float> {
    guard images > 1 else { return x }
    let columns = images * plane
    let gathered = scratch.reserve(channels * columns)
    for n in 0..<images {
      for c in 0..<channels {
        (gathered + c * columns + n * plane).update(from: x + (n * channels + c) * plane, count: plane)
      }
    }
    return UnsafePointer(gathered)
  }

  /// `gather`'s inverse, adding `bias` and clamping to `activationCap` on the way; in place
  /// when `columns` is `y` itself (one image).
  private static func scatter(
    _ columns: UnsafePointer<Float>, images: Int, channels: Int, plane: Int, bias: UnsafePointer<Float>?,
    activationCap: Float?, into y: UnsafeMutablePointer<Float>
  ) {
    guard images > 1 || bias != nil || activationCap != nil else { return }
    let width = images * plane
    for n in 0..<images {
      for c in 0..<channels {
        let (source, target) = (columns + c * width + n * plane, y + (n * channels + c) * plane)
        let b = bias?[c] ?? 0
        if let activationCap {
          for i in 0..<plane { target[i] = ReLU.clamp(source[i] + b, cap: activationCap) }
        } else {
          for i in 0..<plane { target[i] = source[i] + b }
        }
      }
    }
  }
}
