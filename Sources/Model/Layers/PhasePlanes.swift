/// One image plane zero-padded and split by (row mod stride, column mod stride) into
/// `stride²` phase planes of `rows × pitch` floats, so that the input under tap (ky, kx) of
/// output (oy, ox) sits at `oy·pitch + ox` plus a constant per tap: a strided k×k window
/// becomes k² shifted copies of one flat range (polyphase decomposition). The flat output
/// has the same pitch; its columns past `outputWidth` are scratch. `im2col` and `col2im` use
/// the same layout for a strided `Conv2D`'s columns.
struct PhasePlanes {
  /// One plane's convolution (`channels` 1).
  let geometry: ConvolutionGeometry
  /// Floats per row of a phase plane and of the flat output: `outputWidth` plus how far a tap
  /// reaches into the next columns of its phase plane.
  let pitch: Int
  /// Rows per phase plane: one more than any tap reads, so the flat loops over scratch
  /// columns stay inside.
  private let rows: Int
  /// Floats of all phase planes.
  var count: Int { geometry.stride * geometry.stride * rows * pitch }
  /// Floats of the flat output (`outputHeight` rows of `pitch`).
  var outputCount: Int { geometry.outputHeight * pitch }

  /// A run of input pixels `first, first + stride, …` (`count` of them, offsets into the
  /// plane) that lands on consecutive floats of the phase planes from `planeOffset`.
  struct Run {
    let first: Int
    let planeOffset: Int
    let count: Int
  }

  /// Every input pixel a tap reads, as one run per (row, column phase); computed once per
  /// layer call, used for all its planes.
  let runs: [Run]
  /// Whether every input pixel is in some run (else `gather` zeroes the rest first).
  private let coversEveryPixel: Bool

  init(_ geometry: ConvolutionGeometry) {
    precondition(geometry.channels == 1, "phase planes hold one plane")
    self.geometry = geometry
    let (stride, padding, width) = (geometry.stride, geometry.padding, geometry.width)
    let reach = (geometry.kernel - 1) / stride
    let (pitch, rows) = (geometry.outputWidth + reach, geometry.outputHeight + reach + 1)
    var runs: [Run] = []
    for iy in 0..<geometry.height where (iy + padding) / stride < rows {
      let r = iy + padding
      let rowOffset = (r % stride) * stride * rows * pitch + (r / stride) * pitch
      for phase in 0..<stride {
        // The first input column whose padded column has this phase, and its phase column.
        let first = ((phase - padding) % stride + stride) % stride
        guard first < width else { continue }
        let column = (first + padding) / stride
        let count = min((width - first + stride - 1) / stride, pitch - column)
        guard count > 0 else { continue }
        runs.append(
          Run(first: iy * width + first, planeOffset: rowOffset + phase * rows * pitch + column, count: count)
        )
      }
    }
    (self.pitch, self.rows, self.runs) = (pitch, rows, runs)
    coversEveryPixel = runs.reduce(0) { $0 + $1.count } == geometry.height * width
  }

  /// Offset of tap `ky·kernel + kx` in the phase planes.
  var tapOffsets: [Int] {
    let (kernel, stride) = (geometry.kernel, geometry.stride)
    return (0..<kernel * kernel).map { t in
      let (ky, kx) = (t / kernel, t % kernel)
      return ((ky % stride) * stride + kx % stride) * rows * pitch + (ky / stride) * pitch + kx / stride
    }
  }

  /// The plane `x` (`height × width`) into `planes`, zeros elsewhere.
  func fill(_ planes: UnsafeMutablePointer<Float>, from x: UnsafePointer<Float>) {
    planes.update(repeating: 0, count: count)
    let stride = geometry.stride
    for run in runs {
      let (source, target) = (x + run.first, planes + run.planeOffset)
      if stride == 1 {
        target.update(from: source, count: run.count)
      } else {
        for j in 0..<run.count { target[j] = source[j * stride] }
      }
    }
  }

  /// `dx` from the gradients of the phase planes (the adjoint of `fill`; zero where no tap
  /// reads the input).
  func gather(_ planes: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
    if !coversEveryPixel { dx.update(repeating: 0, count: geometry.height * geometry.width) }
    let stride = geometry.stride
    for run in runs {
      let (source, target) = (planes + run.planeOffset, dx + run.first)
      if stride == 1 {
        target.update(from: source, count: run.count)
      } else {
        for j in 0..<run.count { target[j * stride] = source[j] }
      }
    }
  }

  /// The valid columns of the flat output into `y` (`outputHeight × outputWidth`).
  func extract(_ flat: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
    let width = geometry.outputWidth
    for oy in 0..<geometry.outputHeight { (y + oy * width).update(from: flat + oy * pitch, count: width) }
  }

  /// `dy` into the flat layout, zero in the scratch columns (so they add nothing).
  func spread(_ dy: UnsafePointer<Float>, into flat: UnsafeMutablePointer<Float>) {
    let width = geometry.outputWidth
    for oy in 0..<geometry.outputHeight {
      let row = flat + oy * pitch
      row.update(from: dy + oy * width, count: width)
      (row + width).update(repeating: 0, count: pitch - width)
    }
  }

  /// im2col in the flat layout: row `(c, ky, kx)` of `col` is channel c's phase planes read
  /// from that tap's offset, one copy of `outputCount` floats; rows `rowStride` apart.
  /// `planes` holds `count` floats of scratch.
  func im2col(
    _ x: UnsafePointer<Float>, channels: Int, planes: UnsafeMutablePointer<Float>,
    into col: UnsafeMutablePointer<Float>, rowStride: Int
  ) {
    let offsets = tapOffsets
    let plane = geometry.height * geometry.width
    for c in 0..<channels {
      fill(planes, from: x + c * plane)
      for (t, offset) in offsets.enumerated() {
        (col + (c * offsets.count + t) * rowStride).update(from: planes + offset, count: outputCount)
      }
    }
  }

  /// The adjoint of `im2col`: each row added onto its channel's phase planes at its tap's
  /// offset, then gathered into `dx` (overwritten). The scratch columns of `col` must be zero.
  func col2im(
    _ col: UnsafePointer<Float>, channels: Int, planes: UnsafeMutablePointer<Float>,
    into dx: UnsafeMutablePointer<Float>, rowStride: Int
  ) {
    let offsets = tapOffsets
    let plane = geometry.height * geometry.width
    for c in 0..<channels {
      planes.update(repeating: 0, count: count)
      for (t, offset) in offsets.enumerated() {
        let (source, target) = (col + (c * offsets.count + t) * rowStride, planes + offset)
        for i in 0..<outputCount { target[i] += source[i] }
      }
      gather(planes, into: dx + c * plane)
    }
  }
}
