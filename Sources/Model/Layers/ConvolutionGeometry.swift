/// The index arithmetic of a k×k convolution over one image (`channels` planes of
/// `height` × `width` read through `stride` and zero `padding`, giving `outputHeight` ×
/// `outputWidth`), and its lowering to a matrix: `im2col` and its adjoint `col2im`
/// (Chellapilla et al. 2006). `Conv2D` uses the pair forwards, `ConvTranspose2D` backwards;
/// `PhasePlanes` lays one plane out for `DepthwiseConv2D`.
struct ConvolutionGeometry {
  let channels: Int
  let height: Int
  let width: Int
  let outputHeight: Int
  let outputWidth: Int
  let kernel: Int
  let stride: Int
  let padding: Int

  /// Rows of the column matrix: one per `(channel, ky, kx)`.
  var patchSize: Int { channels * kernel * kernel }
  var outputPixels: Int { outputHeight * outputWidth }

  /// The output columns `ox` whose input column `ox·stride − padding + kx` lies inside a row
  /// (the rest read the zero padding).
  @inline(__always)
  func validColumns(kx: Int) -> Range<Int> {
    let shift = padding - kx
    let first = shift > 0 ? (shift + stride - 1) / stride : 0
    let last = min(outputWidth, (width - 1 + shift) / stride + 1)
    return first..<max(first, last)
  }

  /// Row `(c, ky, kx)` of `col` holds, for every output pixel, the input value under that
  /// kernel tap (zero in the padding). Rows start `rowStride` apart (default: one image's
  /// `outputPixels`; wider when several images' columns sit side by side).
  func im2col(_ x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
    let (h, w, oh, ow) = (height, width, outputHeight, outputWidth)
    let rowStride = rowStride ?? outputPixels
    if stride == 1 && oh == h && ow == w { return im2colSameSize(x, into: col, rowStride: rowStride) }
    var row = col
    for c in 0..<channels {
      let plane = x + c * h * w
      for ky in 0..<kernel {
        for kx in 0..<kernel {
          let valid = validColumns(kx: kx)
          for oy in 0..<oh {
            let iy = oy * stride - padding + ky
            let out = row + oy * ow
            guard iy >= 0 && iy < h, !valid.isEmpty else {
              out.update(repeating: 0, count: ow)
              continue
            }
            out.update(repeating: 0, count: valid.lowerBound)
            (out + valid.upperBound).update(repeating: 0, count: ow - valid.upperBound)
            let source = plane + iy * w - padding + kx
            if stride == 1 {
              (out + valid.lowerBound).update(from: source + valid.lowerBound, count: valid.count)
            } else {
              for ox in valid { out[ox] = source[ox * stride] }
            }
          }
          row += rowStride
        }
      }
    }
  }

  /// `im2col` of a stride-1 convolution whose output has the input's size: each row is the
  /// plane shifted by its tap's offset, copied in one piece, then the columns that wrapped
  /// around a row edge zeroed (one copy per row of `col`, not one per image row).
  private func im2colSameSize(
    _ x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>, rowStride: Int
  ) {
    let plane = height * width
    var row = col
    for c in 0..<channels {
      let source = x + c * plane
      for ky in 0..<kernel {
        for kx in 0..<kernel {
          let dx = kx - padding
          let shift = (ky - padding) * width + dx
          let first = min(plane, max(0, -shift))
          let end = max(first, min(plane, plane - shift))
          row.update(repeating: 0, count: first)
          (row + first).update(from: source + first + shift, count: end - first)
          (row + end).update(repeating: 0, count: plane - end)
          let wrapped = dx < 0 ? 0..<min(-dx, width) : max(width - dx, 0)..<width
          for oy in 0..<height { for ox in wrapped { row[oy * width + ox] = 0 } }
          row += rowStride
        }
      }
    }
  }

  /// The adjoint of `im2col` (rows `rowStride` apart as there): sums every column entry back
  /// onto the input pixel it came from, overwriting `x`.
  func col2im(_ col: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
    let (h, w, oh, ow) = (height, width, outputHeight, outputWidth)
    let rowStride = rowStride ?? outputPixels
    x.update(repeating: 0, count: channels * h * w)
    var row = col
    for c in 0..<channels {
      let plane = x + c * h * w
      for ky in 0..<kernel {
        for kx in 0..<kernel {
          let valid = validColumns(kx: kx)
          for oy in 0..<oh {
            let iy = oy * stride - padding + ky
            guard iy >= 0 && iy < h else { continue }
            let from = row + oy * ow
            let target = plane + iy * w - padding + kx
            for ox in valid { target[ox * stride] += from[ox] }
          }
          row += rowStride
        }
      }
    }
  }
}

/// A Float scratch buffer that grows to the largest size asked of it and is reused.
final class Scratch {
  private(set) var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private var capacity = 1

  func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
    if count > capacity {
      pointer.deallocate()
      pointer = .allocate(capacity: count)
      capacity = count
    }
    return pointer
  }

  deinit { pointer.deallocate() }
}
