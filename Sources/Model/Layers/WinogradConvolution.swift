import CBLAS

/// A 3×3, stride-1, padding-1 convolution by Winograd's minimal filtering F(2×2, 3×3)
/// (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks"): every 2×2 output
/// tile is `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` of its 4×4 input tile `d`, so the 36 multiplies of a
/// direct tile become 16, done as 16 matrix products `M[ξ] = U[ξ] · V[ξ]` over channels.
///
/// Layouts: filters `U[ξ][Cout][Cin]`, transformed input `V[ξ][Cin][P]`, products
/// `M[ξ][Cout][P]` with `P` the tiles of a chunk of images. The filter gradient is the adjoint,
/// `dg = Gᵀ (Σ_P (A dY Aᵀ) ⊙ V) G`, accumulated as 16 products `dU[ξ] += dM[ξ] · V[ξ]ᵀ`.
final class WinogradConvolution {
  /// Tiles per chunk the products are sized for (whole images, at least one). Measured on the
  /// small CNN and ResNet-20: 64–512 tiles are alike within the machine's noise, 1,024 and
  /// more are 10–35 % slower once `V` and `M` no longer fit the core's cache.
  static let tilesPerChunk = 128

  let inputChannels: Int
  let outputChannels: Int

  private let filters = Scratch()
  private let flippedFilters = Scratch()
  private let transformedInput = Scratch()
  private let products = Scratch()
  private let paddedPlane = Scratch()
  private let filterGradient = Scratch()
  private let maskedGradient = Scratch()

  init(inputChannels: Int, outputChannels: Int) {
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
  }

  private struct Tiling {
    let height: Int
    let width: Int
    var tilesY: Int { (height + 1) / 2 }
    var tilesX: Int { (width + 1) / 2 }
    var perImage: Int { tilesY * tilesX }
    /// Tiles per row rounded up to the four the transforms handle at once.
    var groupedTilesX: Int { (tilesX + 3) / 4 * 4 }
    var plane: Int { height * width }

    func imagesPerChunk(batch: Int) -> Int {
      max(1, min(batch, WinogradConvolution.tilesPerChunk / perImage))
    }
  }

  /// `y = act(conv(x, g) + b)` for `batch` images of `height` × `width`, with `g` in PyTorch's
  /// layout `[outputChannels, inputChannels, 3, 3]` and `act` the ReLU clamp to
  /// `activationCap` when given; overwrites `y`.
  func forward(
    _ x: UnsafePointer<Float>, weights g: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    activationCap: Float?, into y: UnsafeMutablePointer<Float>, batch: Int, height: Int, width: Int
  ) {
    let tiling = Tiling(height: height, width: width)
    let u = filters.reserve(16 * outputChannels * inputChannels)
    Self.transformFilters(g, outputChannels: outputChannels, inputChannels: inputChannels, into: u)
    let chunk = tiling.imagesPerChunk(batch: batch)
    let (v, m) = chunkBuffers(tiles: chunk * tiling.perImage)
    for first in stride(from: 0, to: batch, by: chunk) {
      convolve(
        x + first * inputChannels * tiling.plane, filters: u, inputChannels: inputChannels,
        outputChannels: outputChannels, bias: bias, activationCap: activationCap,
        into: y + first * outputChannels * tiling.plane, images: min(chunk, batch - first), tiling: tiling,
        buffers: (v, m))
    }
  }

  /// Chunk by chunk: `dy` masked by the fused activation (from the output `y`) when
  /// `activationCap` is given, then `db += Σ dy`, `dg += ∂L/∂g` by the adjoint, and, when
  /// `inputGradient` is asked for, `dx = conv(dy, flipped)` with `flippedWeights` the
  /// transposed, flipped kernel (the same "same" geometry). Each chunk of `dy` is read from
  /// memory once for all three.
  func backward(
    input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
    activationCap: Float?, flippedWeights: UnsafePointer<Float>?,
    filterGradient dg: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?,
    inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int, height: Int, width: Int
  ) {
    let (cin, cout) = (inputChannels, outputChannels)
    let tiling = Tiling(height: height, width: width)
    let chunk = tiling.imagesPerChunk(batch: batch)
    let (v, dm) = chunkBuffers(tiles: chunk * tiling.perImage)
    let du = filterGradient.reserve(16 * cout * cin)
    du.update(repeating: 0, count: 16 * cout * cin)
    let flipped = flippedWeights.map { weights in
      let u = flippedFilters.reserve(16 * cin * cout)
      Self.transformFilters(weights, outputChannels: cin, inputChannels: cout, into: u)
      return u
    }
    for first in stride(from: 0, to: batch, by: chunk) {
      let images = min(chunk, batch - first)
      let p = images * tiling.perImage
      let offset = first * cout * tiling.plane
      let dy = ReLU.gradient(
        outputGradient + offset, throughCap: activationCap, output: y + offset,
        count: images * cout * tiling.plane, scratch: maskedGradient)
      if let biasGradient {
        Reductions.accumulateChannelSums(
          dy, images: images, channels: cout, plane: tiling.plane, into: biasGradient)
      }
      transformInput(
        x + first * cin * tiling.plane, images: images, channels: cin, tiling: tiling, into: v, tiles: p)
      transformOutputGradient(dy, images: images, channels: cout, tiling: tiling, into: dm, tiles: p)
      for xi in 0..<16 {
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans,
          Int32(cout), Int32(cin), Int32(p),
          1, dm + xi * cout * p, Int32(p),
          v + xi * cin * p, Int32(p),
          1, du + xi * cout * cin, Int32(cin))
      }
      if let flipped, let dx {
        convolve(
          dy, filters: flipped, inputChannels: cout, outputChannels: cin, bias: nil, activationCap: nil,
          into: dx + first * cin * tiling.plane, images: images, tiling: tiling, buffers: (v, dm))
      }
    }
    Self.accumulateFilterGradient(du, outputChannels: cout, inputChannels: cin, into: dg)
  }

  /// `V` and `M` (or `dM`) for a chunk of `tiles` tiles, sized for the wider side so that
  /// forward, the filter gradient and the input gradient (channels swapped) all fit; `M` has
  /// four floats more, for the output transform's four-tile loads past the last tile.
  private func chunkBuffers(tiles: Int) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
    let channels = max(inputChannels, outputChannels)
    return (transformedInput.reserve(16 * channels * tiles), products.reserve(16 * channels * tiles + 4))
  }

  /// One chunk of images through the transforms and the 16 products `M[ξ] = U[ξ] · V[ξ]`, in
  /// `buffers` from `chunkBuffers`.
  private func convolve(
    _ x: UnsafePointer<Float>, filters u: UnsafePointer<Float>, inputChannels: Int, outputChannels: Int,
    bias: UnsafePointer<Float>?, activationCap: Float?, into y: UnsafeMutablePointer<Float>, images: Int,
    tiling: Tiling, buffers: (v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>)
  ) {
    let (p, v, m) = (images * tiling.perImage, buffers.v, buffers.m)
    transformInput(x, images: images, channels: inputChannels, tiling: tiling, into: v, tiles: p)
    for xi in 0..<16 {
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans,
        Int32(outputChannels), Int32(p), Int32(inputChannels),
        1, u + xi * outputChannels * inputChannels, Int32(inputChannels),
        v + xi * inputChannels * p, Int32(p),
        0, m + xi * outputChannels * p, Int32(p))
    }
    Self.transformOutput(
      m, tiles: p, images: images, channels: outputChannels, bias: bias, activationCap: activationCap,
      tiling: tiling, into: y)
  }

  // MARK: Transforms

  /// `U = G g Gᵀ` with `G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]`, for every
  /// (output, input) channel pair.
  private static func transformFilters(
    _ g: UnsafePointer<Float>, outputChannels: Int, inputChannels: Int, into u: UnsafeMutablePointer<Float>
  ) {
    let pairs = outputChannels * inputChannels
    for pair in 0..<pairs {
      let f = g + pair * 9
      // (G g) row by row, each a vector over the kernel's three columns.
      let g0 = SIMD4<Float>(f[0], f[1], f[2], 0)
      let g1 = SIMD4<Float>(f[3], f[4], f[5], 0)
      let g2 = SIMD4<Float>(f[6], f[7], f[8], 0)
      storeFilterRow(g0, at: u + pair, pairs: pairs)
      storeFilterRow(0.5 * (g0 + g1 + g2), at: u + 4 * pairs + pair, pairs: pairs)
      storeFilterRow(0.5 * (g0 - g1 + g2), at: u + 8 * pairs + pair, pairs: pairs)
      storeFilterRow(g2, at: u + 12 * pairs + pair, pairs: pairs)
    }
  }

  /// Row `r` of `G g` times `Gᵀ`.
  @inline(__always)
  private static func storeFilterRow(_ r: SIMD4<Float>, at out: UnsafeMutablePointer<Float>, pairs: Int) {
    out[0] = r[0]
    out[pairs] = 0.5 * (r[0] + r[1] + r[2])
    out[2 * pairs] = 0.5 * (r[0] - r[1] + r[2])
    out[3 * pairs] = r[2]
  }

  /// `dg += Gᵀ dU G` for every (output, input) channel pair.
  private static func accumulateFilterGradient(
    _ du: UnsafePointer<Float>, outputChannels: Int, inputChannels: Int, into dg: UnsafeMutablePointer<Float>
  ) {
    let pairs = outputChannels * inputChannels
    for pair in 0..<pairs {
      let d = du + pair
      // (Gᵀ dU) row by row, each a vector over the four transform columns.
      func row(_ i: Int) -> SIMD4<Float> {
        SIMD4(d[4 * i * pairs], d[(4 * i + 1) * pairs], d[(4 * i + 2) * pairs], d[(4 * i + 3) * pairs])
      }
      let (d0, d1, d2, d3) = (row(0), row(1), row(2), row(3))
      let f = dg + pair * 9
      accumulateFilterRow(d0 + 0.5 * (d1 + d2), into: f)
      accumulateFilterRow(0.5 * (d1 - d2), into: f + 3)
      accumulateFilterRow(0.5 * (d1 + d2) + d3, into: f + 6)
    }
  }

  /// Row `r` of `Gᵀ dU` times `G`, added to one row of the kernel's gradient.
  @inline(__always)
  private static func accumulateFilterRow(_ r: SIMD4<Float>, into f: UnsafeMutablePointer<Float>) {
    f[0] += r[0] + 0.5 * (r[1] + r[2])
    f[1] += 0.5 * (r[1] - r[2])
    f[2] += 0.5 * (r[1] + r[2]) + r[3]
  }

  /// `V = Bᵀ d B` of every 4×4 input tile (zero outside the image), with
  /// `Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]`; tile `p` of image `n`
  /// is column `n·tilesPerImage + p` of `V[ξ][c]`. Four horizontally adjacent tiles at a time,
  /// from a zero-padded copy of the plane whose rows are split into even and odd columns, so
  /// that column `j` of four tiles is four consecutive floats.
  private func transformInput(
    _ x: UnsafePointer<Float>, images: Int, channels: Int, tiling: Tiling,
    into v: UnsafeMutablePointer<Float>, tiles p: Int
  ) {
    let half = tiling.groupedTilesX + 1
    let rows = 2 * tiling.tilesY + 2
    let padded = paddedPlane.reserve(rows * 2 * half)
    padded.update(repeating: 0, count: rows * 2 * half)
    let planes = channels * p
    for n in 0..<images {
      for c in 0..<channels {
        let plane = x + (n * channels + c) * tiling.plane
        for row in 0..<tiling.height {
          // Padded column q = image column + 1 goes to even[q / 2] or odd[q / 2].
          let even = padded + (row + 1) * 2 * half
          let odd = even + half
          let source = plane + row * tiling.width
          for i in 0..<(tiling.width + 1) / 2 { odd[i] = source[2 * i] }
          for i in 0..<tiling.width / 2 { even[i + 1] = source[2 * i + 1] }
        }
        let out = v + c * p + n * tiling.perImage
        for by in 0..<tiling.tilesY {
          let top = UnsafeRawPointer(padded + 2 * by * 2 * half)
          let rowBytes = 2 * half * MemoryLayout<Float>.stride
          let oddBytes = half * MemoryLayout<Float>.stride
          for bx in stride(from: 0, to: tiling.tilesX, by: 4) {
            let at = bx * MemoryLayout<Float>.stride
            func columns(_ i: Int) -> TileRow {
              let even = top + at + i * rowBytes
              return TileRow(
                even.loadUnaligned(as: SIMD4<Float>.self),
                even.loadUnaligned(fromByteOffset: oddBytes, as: SIMD4<Float>.self),
                even.loadUnaligned(fromByteOffset: 4, as: SIMD4<Float>.self),
                even.loadUnaligned(fromByteOffset: oddBytes + 4, as: SIMD4<Float>.self))
            }
            let (d0, d1, d2, d3) = (columns(0), columns(1), columns(2), columns(3))
            let count = min(4, tiling.tilesX - bx)
            let tile = out + by * tiling.tilesX + bx
            Self.storeInputRow(d0 - d2, at: tile, planes: planes, count: count)
            Self.storeInputRow(d1 + d2, at: tile + 4 * planes, planes: planes, count: count)
            Self.storeInputRow(d2 - d1, at: tile + 8 * planes, planes: planes, count: count)
            Self.storeInputRow(d1 - d3, at: tile + 12 * planes, planes: planes, count: count)
          }
        }
      }
    }
  }

  /// Row `t` of `Bᵀ d` times `B` (each entry a vector over four tiles): the entries
  /// `ξ = 4i + j` of `count` tiles.
  @inline(__always)
  private static func storeInputRow(
    _ t: TileRow, at out: UnsafeMutablePointer<Float>, planes: Int, count: Int
  ) {
    store(t.c0 - t.c2, at: out, count: count)
    store(t.c1 + t.c2, at: out + planes, count: count)
    store(t.c2 - t.c1, at: out + 2 * planes, count: count)
    store(t.c1 - t.c3, at: out + 3 * planes, count: count)
  }

  /// One row of four 4×4 tiles: column `j` of each tile in lane `t` of `cj`.
  private struct TileRow {
    var c0, c1, c2, c3: SIMD4<Float>
    @inline(__always) init(_ c0: SIMD4<Float>, _ c1: SIMD4<Float>, _ c2: SIMD4<Float>, _ c3: SIMD4<Float>) {
      (self.c0, self.c1, self.c2, self.c3) = (c0, c1, c2, c3)
    }
    @inline(__always) static func + (a: Self, b: Self) -> Self {
      Self(a.c0 + b.c0, a.c1 + b.c1, a.c2 + b.c2, a.c3 + b.c3)
    }
    @inline(__always) static func - (a: Self, b: Self) -> Self {
      Self(a.c0 - b.c0, a.c1 - b.c1, a.c2 - b.c2, a.c3 - b.c3)
    }
  }

  /// `dM = A dY Aᵀ` of every 2×2 output-gradient tile (zero outside the image), with
  /// `A = [[1, 0], [1, 1], [1, −1], [0, −1]]`: the adjoint of the output transform.
  private func transformOutputGradient(
    _ dy: UnsafePointer<Float>, images: Int, channels: Int, tiling: Tiling,
    into dm: UnsafeMutablePointer<Float>, tiles p: Int
  ) {
    let pw = 2 * tiling.groupedTilesX
    let rows = 2 * tiling.tilesY
    let padded = paddedPlane.reserve(rows * pw)
    padded.update(repeating: 0, count: rows * pw)
    let planes = channels * p
    for n in 0..<images {
      for c in 0..<channels {
        let plane = dy + (n * channels + c) * tiling.plane
        for row in 0..<tiling.height {
          (padded + row * pw).update(from: plane + row * tiling.width, count: tiling.width)
        }
        let out = dm + c * p + n * tiling.perImage
        for by in 0..<tiling.tilesY {
          let top = UnsafeRawPointer(padded + 2 * by * pw)
          let bottom = top + pw * MemoryLayout<Float>.stride
          for bx in stride(from: 0, to: tiling.tilesX, by: 4) {
            let at = 2 * bx * MemoryLayout<Float>.stride
            let a = top.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)
            let b = bottom.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)
            let (a0, a1, b0, b1) = (a.evenHalf, a.oddHalf, b.evenHalf, b.oddHalf)
            let count = min(4, tiling.tilesX - bx)
            let tile = out + by * tiling.tilesX + bx
            Self.storeGradientRow(a0, a1, at: tile, planes: planes, count: count)
            Self.storeGradientRow(a0 + b0, a1 + b1, at: tile + 4 * planes, planes: planes, count: count)
            Self.storeGradientRow(a0 - b0, a1 - b1, at: tile + 8 * planes, planes: planes, count: count)
            Self.storeGradientRow(-b0, -b1, at: tile + 12 * planes, planes: planes, count: count)
          }
        }
      }
    }
  }

  /// Row `(r0, r1)` of `A dY` times `Aᵀ`, for `count` tiles.
  @inline(__always)
  private static func storeGradientRow(
    _ r0: SIMD4<Float>, _ r1: SIMD4<Float>, at out: UnsafeMutablePointer<Float>, planes: Int, count: Int
  ) {
    store(r0, at: out, count: count)
    store(r0 + r1, at: out + planes, count: count)
    store(r0 - r1, at: out + 2 * planes, count: count)
    store(-r1, at: out + 3 * planes, count: count)
  }

  /// `Y = Aᵀ M A + b` of every tile, with `Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]`, written into
  /// the output planes (the part of an edge tile outside the image is dropped). Four tiles at
  /// a time; their two output rows are interleaved back into eight consecutive pixels.
  private static func transformOutput(
    _ m: UnsafePointer<Float>, tiles p: Int, images: Int, channels: Int, bias: UnsafePointer<Float>?,
    activationCap: Float?, tiling: Tiling, into y: UnsafeMutablePointer<Float>
  ) {
    let planes = channels * p
    let (h, w) = (tiling.height, tiling.width)
    for n in 0..<images {
      for k in 0..<channels {
        let b = SIMD4<Float>(repeating: bias?[k] ?? 0)
        let products = UnsafeRawPointer(m + k * p + n * tiling.perImage)
        let plane = y + (n * channels + k) * tiling.plane
        for by in 0..<tiling.tilesY {
          for bx in stride(from: 0, to: tiling.tilesX, by: 4) {
            let tile = products + (by * tiling.tilesX + bx) * MemoryLayout<Float>.stride
            func entry(_ xi: Int) -> SIMD4<Float> {
              tile.loadUnaligned(
                fromByteOffset: xi * planes * MemoryLayout<Float>.stride, as: SIMD4<Float>.self)
            }
            // (Aᵀ M) rows 0 and 1, column j, each over four tiles.
            func sums(_ j: Int) -> (SIMD4<Float>, SIMD4<Float>) {
              let (m1, m2) = (entry(4 + j), entry(8 + j))
              return (entry(j) + m1 + m2, m1 - m2 - entry(12 + j))
            }
            let (s0, s1, s2, s3) = (sums(0), sums(1), sums(2), sums(3))
            let top = plane + 2 * by * w + 2 * bx
            let columns = min(8, w - 2 * bx)
            storeOutputRow(
              s0.0 + s1.0 + s2.0 + b, s1.0 - s2.0 - s3.0 + b, activationCap: activationCap, at: top,
              count: columns)
            if 2 * by + 1 < h {
              storeOutputRow(
                s0.1 + s1.1 + s2.1 + b, s1.1 - s2.1 - s3.1 + b, activationCap: activationCap, at: top + w,
                count: columns)
            }
          }
        }
      }
    }
  }

  /// The even and odd pixels of four tiles' output row, interleaved and clamped to
  /// `[0, activationCap]` when given (as `ReLU.apply`); `count` of the eight.
  @inline(__always)
  private static func storeOutputRow(
    _ even: SIMD4<Float>, _ odd: SIMD4<Float>, activationCap: Float?, at out: UnsafeMutablePointer<Float>,
    count: Int
  ) {
    var row = SIMD8(even[0], odd[0], even[1], odd[1], even[2], odd[2], even[3], odd[3])
    if let activationCap {
      row.replace(with: 0, where: row .<= 0)
      row.replace(with: activationCap, where: row .> activationCap)
    }
    if count == 8 {
      UnsafeMutableRawPointer(out).storeBytes(of: row, as: SIMD8<Float>.self)
    } else {
      for i in 0..<count { out[i] = row[i] }
    }
  }

  /// The first `count` lanes of `value` at `out`.
  @inline(__always)
  private static func store(_ value: SIMD4<Float>, at out: UnsafeMutablePointer<Float>, count: Int) {
    if count == 4 {
      UnsafeMutableRawPointer(out).storeBytes(of: value, as: SIMD4<Float>.self)
    } else {
      for i in 0..<count { out[i] = value[i] }
    }
  }
}
