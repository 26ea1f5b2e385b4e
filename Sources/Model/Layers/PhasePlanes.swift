/// One image plane zero-padded and split by (row mod stride, column mod stride) into
/// `stride²` phase planes of `rows × pitch` floats, so that the input under tap (ky, kx) of
/// output (oy, ox) sits at `oy·pitch + ox` plus a constant per tap: a strided k×k window
/// becomes k² shifted copies of one flat range (polyphase decomposition). The flat output
/// has the same pitch; its columns past `outputWidth` are scratch.
struct PhasePlanes {
  let height: Int
  let width: Int
  let outputHeight: Int
  let outputWidth: Int
  let kernel: Int
  let stride: Int
  let padding: Int

  /// How far a tap reaches into the next rows/columns of its phase plane.
  private var reach: Int { (kernel - 1) / stride }
  var pitch: Int { outputWidth + reach }
  /// One row more than any tap reads, so the flat loops over scratch columns stay inside.
  private var rows: Int { outputHeight + reach + 1 }
  private var phaseSize: Int { rows * pitch }
  /// Floats of all phase planes.
  var count: Int { stride * stride * phaseSize }
  /// Floats of the flat output (`outputHeight` rows of `pitch`).
  var outputCount: Int { outputHeight * pitch }

  /// Offset of tap `ky·kernel + kx` in the phase planes.
  var tapOffsets: [Int] {
    (0..<kernel * kernel).map { t in
      let (ky, kx) = (t / kernel, t % kernel)
      return ((ky % stride) * stride + kx % stride) * phaseSize + (ky / stride) * pitch + kx / stride
    }
  }

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

  init(height: Int, width: Int, outputHeight: Int, outputWidth: Int, kernel: Int, stride: Int, padding: Int) {
    (self.height, self.width, self.outputHeight, self.outputWidth) = (
      height, width, outputHeight, outputWidth
    )
    (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    let reach = (kernel - 1) / stride
    let (pitch, rows) = (outputWidth + reach, outputHeight + reach + 1)
    var runs: [Run] = []
    for iy in 0..<height where (iy + padding) / stride < rows {
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
    self.runs = runs
  }

  /// The plane `x` (`height × width`) into `planes`, zeros elsewhere.
  func fill(_ planes: UnsafeMutablePointer<Float>, from x: UnsafePointer<Float>) {
    planes.update(repeating: 0, count: count)
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
    if stride > 1 || runs.count < height { dx.update(repeating: 0, count: height * width) }
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
    for oy in 0..<outputHeight {
      (y + oy * outputWidth).update(from: flat + oy * pitch, count: outputWidth)
    }
  }

  /// `dy` into the flat layout, zero in the scratch columns (so they add nothing).
  func spread(_ dy: UnsafePointer<Float>, into flat: UnsafeMutablePointer<Float>) {
    for oy in 0..<outputHeight {
      let row = flat + oy * pitch
      row.update(from: dy + oy * outputWidth, count: outputWidth)
      (row + outputWidth).update(repeating: 0, count: pitch - outputWidth)
    }
  }
}
