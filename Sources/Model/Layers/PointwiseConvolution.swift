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

  /// `y = act(W · x + b)` for `batch` images of `plane` pixels, `act` the ReLU clamp to
  /// `activationCap` when given; overwrites `y`.
  func forward(
    _ x: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    activationCap: Float?, into y: UnsafeMutablePointer<Float>, batch: Int, plane: Int
  ) {
    let (cin, cout) = (inputChannels, outputChannels)
    let chunk = ImageColumns.imagesPerChunk(
      batch: batch, columnsPerImage: plane, columns: Self.columnsPerChunk)
    for first in stride(from: 0, to: batch, by: chunk) {
      let images = min(chunk, batch - first)
      let columns = images * plane
      let output = y + first * cout * plane
      let xs = ImageColumns.gather(
        x + first * cin * plane, images: images, channels: cin, layout: .flat(plane), into: inputColumns)
      let ys = images == 1 ? output : outputColumns.reserve(cout * columns)
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(columns), Int32(cin),
        1, weights, Int32(cin), xs, Int32(columns), 0, ys, Int32(columns))
      ImageColumns.scatter(
        ys, images: images, channels: cout, layout: .flat(plane), bias: bias, activationCap: activationCap,
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
    let chunk = ImageColumns.imagesPerChunk(
      batch: batch, columnsPerImage: plane, columns: Self.columnsPerChunk)
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
      let dys = ImageColumns.gather(
        dy, images: images, channels: cout, layout: .flat(plane), into: outputColumns)
      let xs = ImageColumns.gather(
        x + first * cin * plane, images: images, channels: cin, layout: .flat(plane), into: inputColumns)
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
      ImageColumns.scatter(
        dxs, images: images, channels: cin, layout: .flat(plane), bias: nil, activationCap: nil, into: target)
    }
  }
}
