import CBLAS
import CPrefetch

/// A 3×3, stride-1, padding-1 convolution by Winograd's minimal filtering F(4×4, 3×3)
/// (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks"): every 4×4 output
/// tile is `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` of its 6×6 input tile `d`, so the 144 multiplies of a
/// direct tile become 36, done as 36 matrix products `M[ξ] = U[ξ] · V[ξ]` over channels.
///
/// Layouts: filters `U[ξ][Cout][Cin]`, transformed input `V[Cin][ξ][P]`, products
/// `M[Cout][ξ][P]` with `P` the tiles of a chunk of images (so that a channel's 36 entries are
/// written and read within one stretch of memory; the products step over `ξ`). The filter
/// gradient is the adjoint, `dg = Gᵀ (Σ_P (A dY Aᵀ) ⊙ V) G`, accumulated as 36 products
/// `dU[ξ] += dM[ξ] · V[ξ]ᵀ`; so is the input gradient, `dd = B (Σ_Cout U ⊙ (A dY Aᵀ)) Bᵀ` of
/// every tile summed where tiles overlap, from the same `dM` by 36 products `dV[ξ] = U[ξ]ᵀ · dM[ξ]`
/// (`U` transposed as it is transformed).
/// The transforms work on four tiles at a time, one tile per SIMD lane: four horizontally
/// adjacent ones, or where a row has two tiles, two of one row and the two below them.
final class WinogradConvolution {
  /// Tiles per chunk the products are sized for (whole images, at least one): 128, or 32 where
  /// a side has 64 channels or more. At 64 × 64 the filters `U` alone take 590 KB, and 128
  /// tiles' `V` and `M` 1.2 MB each, more than the 1 MiB L2 holds; 32 tiles made ResNet's last
  /// stage 12–27 % faster, while 64 tiles at 32 channels did not pay (docs/performance.md).
  var tilesPerChunk: Int { max(inputChannels, outputChannels) >= 64 ? 32 : 128 }
  /// Entries of a transformed tile, `ξ = 6i + j`.
  static let points = 36

  let inputChannels: Int
  let outputChannels: Int

  private let filters = Scratch()
  private let transformedInput = Scratch()
  private let products = Scratch()
  private let paddedPlaneBuffer = Scratch()
  private let halfTransformed = Scratch()
  private let filterGradient = Scratch()
  private let maskedGradient = Scratch()

  init(inputChannels: Int, outputChannels: Int) {
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
  }

  private struct Tiling {
    let height: Int
    let width: Int
    var tilesY: Int { (height + 3) / 4 }
    var tilesX: Int { (width + 3) / 4 }
    var perImage: Int { tilesY * tilesX }
    /// Tiles per row rounded up to a multiple of four (the phases of a padded row hold
    /// `4·groupedTilesX` pixels, which `splitPhases` needs).
    var groupedTilesX: Int { (tilesX + 3) / 4 * 4 }
    /// Tile rows in a group of four lanes: two where a row has two tiles (planes five to eight
    /// pixels wide, where one row would leave half of the lanes empty), else one.
    var rowsPerGroup: Int { tilesX == 2 ? 2 : 1 }
    /// Tiles of one row in a group of four lanes.
    var groupWidth: Int { 4 / rowsPerGroup }
    var plane: Int { height * width }

    func imagesPerChunk(batch: Int, tiles: Int) -> Int {
      max(1, min(batch, tiles / perImage))
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
    let u = filters.reserve(Self.points * outputChannels * inputChannels)
    Self.transformFilters(g, outputChannels: outputChannels, inputChannels: inputChannels, into: u)
    let chunk = tiling.imagesPerChunk(batch: batch, tiles: tilesPerChunk)
    let (v, m) = chunkBuffers(tiles: chunk * tiling.perImage)
    for first in stride(from: 0, to: batch, by: chunk) {
      convolve(
        x + first * inputChannels * tiling.plane, filters: u, bias: bias, activationCap: activationCap,
        into: y + first * outputChannels * tiling.plane, images: min(chunk, batch - first), tiling: tiling,
        buffers: (v, m))
    }
  }

  /// Chunk by chunk: `dy` masked by the fused activation (from the output `y`) when
  /// `activationCap` is given, then `db += Σ dy`, `dg += ∂L/∂g` and, when `inputGradient` is
  /// asked for, `dx = ∂L/∂x`, both by the adjoint of the forward's transforms and products
  /// (`g` the forward's weights). Each chunk of `dy` is read from memory once for all three,
  /// and transformed once for both gradients.
  func backward(
    input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
    activationCap: Float?, weights g: UnsafePointer<Float>,
    filterGradient dg: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?,
    inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int, height: Int, width: Int
  ) {
    let (cin, cout) = (inputChannels, outputChannels)
    let tiling = Tiling(height: height, width: width)
    let chunk = tiling.imagesPerChunk(batch: batch, tiles: tilesPerChunk)
    let (v, dm) = chunkBuffers(tiles: chunk * tiling.perImage)
    let du = filterGradient.reserve(Self.points * cout * cin)
    du.update(repeating: 0, count: Self.points * cout * cin)
    let u = filters.reserve(Self.points * cout * cin)
    if dx != nil {
      Self.transformFilters(g, outputChannels: cout, inputChannels: cin, transposed: true, into: u)
    }
    for first in stride(from: 0, to: batch, by: chunk) {
      let images = min(chunk, batch - first)
      let p = images * tiling.perImage
      let (entry, channel) = (Self.entryStride(tiles: p), Self.channelStride(tiles: p))
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
      for xi in 0..<Self.points {
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans, Int32(cout), Int32(cin), Int32(p),
          1, dm + xi * entry, Int32(channel), v + xi * entry, Int32(channel),
          1, du + xi * cout * cin, Int32(cin))
      }
      guard let dx else { continue }
      for xi in 0..<Self.points {
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cin), Int32(p), Int32(cout),
          1, u + xi * cout * cin, Int32(cout), dm + xi * entry, Int32(channel),
          0, v + xi * entry, Int32(channel))
      }
      transformInputAdjoint(
        v, tiles: p, images: images, channels: cin, tiling: tiling, into: dx + first * cin * tiling.plane)
    }
    Self.accumulateFilterGradient(du, outputChannels: cout, inputChannels: cin, into: dg)
  }

  /// `V` and `M` (or `dM`) for a chunk of `tiles` tiles, sized for the wider side so that
  /// forward, the filter gradient and the input gradient (channels swapped) all fit.
  private func chunkBuffers(tiles: Int) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
    let size = max(inputChannels, outputChannels) * Self.channelStride(tiles: tiles)
    return (transformedInput.reserve(size), products.reserve(size))
  }

  /// Floats from one entry `ξ` of a channel in `V` or `M` to the next: the chunk's tiles and
  /// four more, so that the transforms can load and store whole groups of four tiles. A group
  /// that runs past the end of a row of tiles spills into tiles transformed later (image by
  /// image, row by row), past the last one into these four.
  private static func entryStride(tiles: Int) -> Int { tiles + 4 }

  /// Floats from one channel of `V` or `M` to the next, the products' leading dimension.
  private static func channelStride(tiles: Int) -> Int { points * entryStride(tiles: tiles) }

  /// One chunk of images through the transforms and the 36 products `M[ξ] = U[ξ] · V[ξ]`, in
  /// `buffers` from `chunkBuffers`.
  private func convolve(
    _ x: UnsafePointer<Float>, filters u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    activationCap: Float?, into y: UnsafeMutablePointer<Float>, images: Int,
    tiling: Tiling, buffers: (v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>)
  ) {
    let (p, v, m) = (images * tiling.perImage, buffers.v, buffers.m)
    transformInput(x, images: images, channels: inputChannels, tiling: tiling, into: v, tiles: p)
    for xi in 0..<Self.points {
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans,
        Int32(outputChannels), Int32(p), Int32(inputChannels),
        1, u + xi * outputChannels * inputChannels, Int32(inputChannels),
        v + xi * Self.entryStride(tiles: p), Int32(Self.channelStride(tiles: p)),
        0, m + xi * Self.entryStride(tiles: p), Int32(Self.channelStride(tiles: p)))
    }
    transformOutput(
      m, tiles: p, images: images, channels: outputChannels, bias: bias, activationCap: activationCap,
      tiling: tiling, into: y)
  }

  // MARK: Filter transforms, four (output, input) channel pairs per lane group

  /// `U = G g Gᵀ` for every (output, input) channel pair, `U[ξ][Cout][Cin]`, or with
  /// `transposed` `U[ξ][Cin][Cout]`.
  private static func transformFilters(
    _ g: UnsafePointer<Float>, outputChannels: Int, inputChannels: Int, transposed: Bool = false,
    into u: UnsafeMutablePointer<Float>
  ) {
    let pairs = outputChannels * inputChannels
    for pair in stride(from: 0, to: pairs, by: 4) {
      let count = min(4, pairs - pair)
      // Each lane's kernel in `g`, found once for its nine taps.
      var kernels = SIMD4<Int>()
      for lane in 0..<count {
        let p = pair + lane
        kernels[lane] = 9 * (transposed ? p % outputChannels * inputChannels + p / outputChannels : p)
      }
      func tap(_ row: Int, _ column: Int) -> SIMD4<Float> {
        var lanes = SIMD4<Float>()
        for lane in 0..<count { lanes[lane] = g[kernels[lane] + 3 * row + column] }
        return lanes
      }
      func column(_ c: Int) -> Six { WinogradTransform.filter(tap(0, c), tap(1, c), tap(2, c)) }
      let (c0, c1, c2) = (column(0), column(1), column(2))
      for i in 0..<6 {
        WinogradTransform.filter(c0[i], c1[i], c2[i])
          .store(at: u + 6 * i * pairs + pair, stride: pairs, count: count)
      }
    }
  }

  /// `dg += Gᵀ dU G` for every (output, input) channel pair.
  private static func accumulateFilterGradient(
    _ du: UnsafePointer<Float>, outputChannels: Int, inputChannels: Int, into dg: UnsafeMutablePointer<Float>
  ) {
    let pairs = outputChannels * inputChannels
    for pair in stride(from: 0, to: pairs, by: 4) {
      let count = min(4, pairs - pair)
      func entry(_ xi: Int) -> SIMD4<Float> { WinogradTransform.load(du + xi * pairs + pair, count: count) }
      func row(_ i: Int) -> Three { WinogradTransform.filterAdjoint(Six { j in entry(6 * i + j) }) }
      let (r0, r1, r2, r3, r4, r5) = (row(0), row(1), row(2), row(3), row(4), row(5))
      for c in 0..<3 {
        let column = WinogradTransform.filterAdjoint(Six(r0[c], r1[c], r2[c], r3[c], r4[c], r5[c]))
        for r in 0..<3 {
          for lane in 0..<count { dg[(pair + lane) * 9 + 3 * r + c] += column[r][lane] }
        }
      }
    }
  }

  // MARK: Data transforms, a group of four tiles per vector

  /// `V = Bᵀ d B` of every 6×6 input tile (zero outside the image); tile `p` of image `n` is
  /// column `n·tilesPerImage + p` of `V[c][ξ]`. The columns are transformed first (`Bᵀ d`),
  /// then the rows of that (`· B`).
  private func transformInput(
    _ x: UnsafePointer<Float>, images: Int, channels: Int, tiling: Tiling,
    into v: UnsafeMutablePointer<Float>, tiles p: Int
  ) {
    let half = halfTransformed.reserve(6 * 6 * 4)
    let entry = Self.entryStride(tiles: p)
    forEachTileGroup(of: x, images: images, channels: channels, tiling: tiling, margin: 1, into: v, tiles: p)
    {
      top, quarter, upperHalf, tile in
      // Tile column j is image column j − 1: phase (j + 3) % 4, index (j + 3) / 4 on.
      for j in 0..<6 {
        let column = top + ((j + 3) & 3) * quarter + (j + 3) >> 2
        WinogradTransform.input(Six(at: column, stride: 4 * quarter, upperHalf: upperHalf))
          .store(at: half + 4 * j, stride: 24)
      }
      for i in 0..<6 {
        WinogradTransform.input(Six(at: half + 24 * i, stride: 4)).store(
          at: tile + 6 * i * entry, stride: entry)
      }
    }
  }

  /// `dM = A dY Aᵀ` of every 4×4 output-gradient tile (zero outside the image): the adjoint of
  /// the output transform, columns first.
  private func transformOutputGradient(
    _ dy: UnsafePointer<Float>, images: Int, channels: Int, tiling: Tiling,
    into dm: UnsafeMutablePointer<Float>, tiles p: Int
  ) {
    let half = halfTransformed.reserve(6 * 4 * 4)
    let entry = Self.entryStride(tiles: p)
    forEachTileGroup(
      of: dy, images: images, channels: channels, tiling: tiling, margin: 0, into: dm, tiles: p
    ) {
      top, quarter, upperHalf, tile in
      for j in 0..<4 {
        WinogradTransform.outputAdjoint(
          Four(at: top + j * quarter, stride: 4 * quarter, upperHalf: upperHalf)
        )
        .store(at: half + 4 * j, stride: 16)
      }
      for i in 0..<6 {
        WinogradTransform.outputAdjoint(Four(at: half + 16 * i, stride: 4))
          .store(at: tile + 6 * i * entry, stride: entry)
      }
    }
  }

  /// `dx = Σ B dV Bᵀ` over the tiles, the adjoint of `transformInput`: each 6×6 tile's gradient
  /// added onto the pixels it was read from (overlaps summed, the zero padding dropped);
  /// overwrites `dx`. Rows first, then the columns of that.
  private func transformInputAdjoint(
    _ dv: UnsafePointer<Float>, tiles p: Int, images: Int, channels: Int, tiling: Tiling,
    into dx: UnsafeMutablePointer<Float>
  ) {
    let half = halfTransformed.reserve(6 * 6 * 4)
    let entry = Self.entryStride(tiles: p)
    forEachTileGroup(adding: dv, tiles: p, images: images, channels: channels, tiling: tiling, into: dx) {
      top, quarter, upperHalf, tile, lanes in
      for i in 0..<6 {
        WinogradTransform.inputAdjoint(Six(at: tile + 6 * i * entry, stride: entry).keeping(lanes: lanes))
          .store(at: half + 24 * i, stride: 4)
      }
      for j in 0..<6 {
        let column = top + ((j + 3) & 3) * quarter + (j + 3) >> 2
        let gradient = WinogradTransform.inputAdjoint(Six(at: half + 4 * j, stride: 24))
        for r in 0..<6 {
          let at = column + r * 4 * quarter
          WinogradTransform.store(
            WinogradTransform.load(at, upperHalf: upperHalf) + gradient[r], at: at, upperHalf: upperHalf)
        }
      }
    }
  }

  /// Every group of four tiles (`Tiling.rowsPerGroup`) of every (channel, image) plane of
  /// `source`, for the two transforms that read planes. Each plane is copied into a plane with
  /// `margin` zeros on every side whose rows are split by column into four phases
  /// (`splitPhases`), so that column `j` of four adjacent tiles is four consecutive floats.
  /// `body` gets the padded plane at the group's first column of phase 0 (rows `4·quarter`
  /// floats apart), the phases' length `quarter`, how far lanes 2 and 3 lie from lanes 0 and 1
  /// (2, or the next tile row's `16·quarter`), and where the group's first tile goes in
  /// `target` (entry `ξ = 0` of its channel, `V[c][ξ]` or `dM[c][ξ]`; the tiles of a group are
  /// consecutive there either way).
  @inline(__always)
  private func forEachTileGroup(
    of source: UnsafePointer<Float>, images: Int, channels: Int, tiling: Tiling, margin: Int,
    into target: UnsafeMutablePointer<Float>, tiles p: Int,
    _ body: (
      _ top: UnsafePointer<Float>, _ quarter: Int, _ upperHalf: Int, _ tile: UnsafeMutablePointer<Float>
    )
      -> Void
  ) {
    let quarter = tiling.groupedTilesX + 2 * margin
    let rowFloats = 4 * quarter
    let padded = paddedPlane(tiling: tiling, margin: margin)
    padded.base.update(repeating: 0, count: padded.count)
    for c in 0..<channels {
      for n in 0..<images {
        let plane = source + (n * channels + c) * tiling.plane
        Self.prefetchPlane(
          after: n, channel: c, of: source, images: images, channels: channels, tiling: tiling,
          forWriting: false)
        for row in 0..<tiling.height {
          Self.splitPhases(
            plane + row * tiling.width, count: tiling.width,
            into: padded.base + (row + margin) * rowFloats + margin,
            quarter: quarter)
        }
        let out = target + c * Self.channelStride(tiles: p) + n * tiling.perImage
        Self.forEachGroup(tiling: tiling, rowFloats: rowFloats) { top, upperHalf, tile, _ in
          body(padded.base + top, quarter, upperHalf, out + tile)
        }
      }
    }
  }

  /// The adjoint of `forEachTileGroup` (margin 1) for `transformInputAdjoint`: `body` adds each
  /// group of tiles of `source` (`dV[c][ξ]`) onto a zeroed padded plane, whose pixels inside
  /// the image then overwrite the plane of `target`. It also gets how many of the group's four
  /// lanes are tiles of the image: the rest hold other tiles' entries and must add nothing.
  @inline(__always)
  private func forEachTileGroup(
    adding source: UnsafePointer<Float>, tiles p: Int, images: Int, channels: Int, tiling: Tiling,
    into target: UnsafeMutablePointer<Float>,
    _ body: (
      _ top: UnsafeMutablePointer<Float>, _ quarter: Int, _ upperHalf: Int, _ tile: UnsafePointer<Float>,
      _ lanes: Int
    ) -> Void
  ) {
    let quarter = tiling.groupedTilesX + 2
    let rowFloats = 4 * quarter
    let padded = paddedPlane(tiling: tiling, margin: 1)
    for c in 0..<channels {
      for n in 0..<images {
        padded.base.update(repeating: 0, count: padded.count)
        Self.prefetchPlane(
          after: n, channel: c, of: target, images: images, channels: channels, tiling: tiling,
          forWriting: true)
        let tiles = source + c * Self.channelStride(tiles: p) + n * tiling.perImage
        Self.forEachGroup(tiling: tiling, rowFloats: rowFloats) { top, upperHalf, tile, lanes in
          body(padded.base + top, quarter, upperHalf, tiles + tile, lanes)
        }
        let plane = target + (n * channels + c) * tiling.plane
        for row in 0..<tiling.height {
          Self.joinPhases(
            padded.base + (row + 1) * rowFloats + 1, quarter: quarter, count: tiling.width,
            into: plane + row * tiling.width)
        }
      }
    }
  }

  /// Asks the caches for the plane after image `image`'s channel `channel` of `planes` (a chunk
  /// of `images` images), a prefetch per 64-byte line, while the transforms work on this one:
  /// they go channel by channel, as `V`, `dM` and `dV` are laid out, so from plane to plane they
  /// jump a whole image, a stream the hardware prefetchers do not follow.
  @inline(__always)
  private static func prefetchPlane(
    after image: Int, channel: Int, of planes: UnsafePointer<Float>, images: Int, channels: Int,
    tiling: Tiling, forWriting: Bool
  ) {
    let next: Int
    if image + 1 < images {
      next = ((image + 1) * channels + channel) * tiling.plane
    } else if channel + 1 < channels {
      next = (channel + 1) * tiling.plane
    } else {
      return
    }
    func ask(_ float: Int) {
      if forWriting {
        imbal_prefetch_write(planes + next + float)
      } else {
        imbal_prefetch_read(planes + next + float)
      }
    }
    for line in stride(from: 0, to: tiling.plane, by: 16) { ask(line) }
    ask(tiling.plane - 1)
  }

  /// The padded plane of `forEachTileGroup`: with two tile rows per group and an odd number of
  /// them, the last group's lanes 2 and 3 reach four rows below the plane.
  private func paddedPlane(tiling: Tiling, margin: Int) -> (base: UnsafeMutablePointer<Float>, count: Int) {
    let rows = 4 * (tiling.tilesY + tiling.rowsPerGroup - 1) + 2 * margin
    let count = rows * 4 * (tiling.groupedTilesX + 2 * margin)
    return (paddedPlaneBuffer.reserve(count), count)
  }

  /// The groups of four tiles of one padded plane whose rows are `rowFloats` apart: `body` gets
  /// the offset of the group's first column of phase 0, how far lanes 2 and 3 lie from lanes 0
  /// and 1, the index of its first tile in the image and how many of its lanes are in the image.
  /// Two loops, so that the one over single rows passes `body` the constant 2 (its loads
  /// compile to whole four-float loads; a run-time choice made those stages 3–4 % slower).
  @inline(__always)
  private static func forEachGroup(
    tiling: Tiling, rowFloats: Int, _ body: (_ top: Int, _ upperHalf: Int, _ tile: Int, _ lanes: Int) -> Void
  ) {
    if tiling.rowsPerGroup == 2 {
      for by in stride(from: 0, to: tiling.tilesY, by: 2) {
        body(4 * by * rowFloats, 4 * rowFloats, 2 * by, by + 1 < tiling.tilesY ? 4 : 2)
      }
      return
    }
    for by in 0..<tiling.tilesY {
      for bx in stride(from: 0, to: tiling.tilesX, by: 4) {
        body(4 * by * rowFloats + bx, 2, by * tiling.tilesX + bx, min(4, tiling.tilesX - bx))
      }
    }
  }

  /// `count` floats of a row into four phases `quarter` floats apart: float `c` to phase
  /// `c % 4`, index `c / 4`; sixteen at a time as a 4×4 transpose, a last partial block padded
  /// with zeros (the phases must hold `count` rounded up to 16, which `Tiling.groupedTilesX` does).
  @inline(__always)
  private static func splitPhases(
    _ source: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Float>, quarter: Int
  ) {
    for c in stride(from: 0, to: count, by: 16) {
      Four { WinogradTransform.load(source + c + 4 * $0, count: count - c - 4 * $0) }.transposed()
        .store(at: target + c / 4, stride: quarter)
    }
  }

  /// The adjoint of `splitPhases`: `count` floats of a row from the four phases at `source`.
  @inline(__always)
  private static func joinPhases(
    _ source: UnsafePointer<Float>, quarter: Int, count: Int, into target: UnsafeMutablePointer<Float>
  ) {
    for c in stride(from: 0, to: count, by: 16) {
      let pixels = Four(at: source + c / 4, stride: quarter).transposed()
      for t in 0..<min(4, (count - c + 3) / 4) {
        WinogradTransform.store(pixels[t], at: target + c + 4 * t, count: min(4, count - c - 4 * t))
      }
    }
  }

  /// `Y = Aᵀ M A + b` of every tile, written into the output planes (the part of an edge tile
  /// outside the image is dropped), clamped to `[0, activationCap]` when given (as
  /// `ReLU.apply`). Columns first; each output row of a group's four tiles is transposed back
  /// into four pixels per tile, sixteen consecutive ones or two rows of eight.
  private func transformOutput(
    _ m: UnsafePointer<Float>, tiles p: Int, images: Int, channels: Int, bias: UnsafePointer<Float>?,
    activationCap: Float?, tiling: Tiling, into y: UnsafeMutablePointer<Float>
  ) {
    let entry = Self.entryStride(tiles: p)
    let (h, w) = (tiling.height, tiling.width)
    let half = halfTransformed.reserve(6 * 4 * 4)
    for n in 0..<images {
      for k in 0..<channels {
        let b = SIMD4<Float>(repeating: bias?[k] ?? 0)
        let products = m + k * Self.channelStride(tiles: p) + n * tiling.perImage
        let plane = y + (n * channels + k) * tiling.plane
        for by in stride(from: 0, to: tiling.tilesY, by: tiling.rowsPerGroup) {
          for bx in stride(from: 0, to: tiling.tilesX, by: tiling.groupWidth) {
            let tile = products + by * tiling.tilesX + bx
            for j in 0..<6 {
              WinogradTransform.output(Six(at: tile + j * entry, stride: 6 * entry)).store(
                at: half + 4 * j, stride: 24)
            }
            let columns = min(4 * tiling.groupWidth, w - 4 * bx)
            for r in 0..<min(4, h - 4 * by) {
              let pixels = Self.outputPixels(
                WinogradTransform.output(Six(at: half + 24 * r, stride: 4)), bias: b,
                activationCap: activationCap)
              let out = plane + (4 * by + r) * w + 4 * bx
              Self.storePixels(pixels, from: 0, count: columns, at: out)
              if tiling.rowsPerGroup == 2 && 4 * (by + 1) + r < h {
                Self.storePixels(pixels, from: 2, count: columns, at: out + 4 * w)
              }
            }
          }
        }
      }
    }
  }

  /// Four tiles' output row (`row.v0` column 0 of each tile, …) plus the bias, clamped when
  /// `activationCap` is given, transposed: vector `t` holds tile `t`'s four pixels.
  @inline(__always)
  private static func outputPixels(_ row: Four, bias: SIMD4<Float>, activationCap: Float?) -> Four {
    var pixels = Four(row.v0 + bias, row.v1 + bias, row.v2 + bias, row.v3 + bias).transposed()
    if let activationCap { pixels.clamp(to: activationCap) }
    return pixels
  }

  /// `count` pixels of `pixels` (four per tile) from tile `first` on, at `out`.
  @inline(__always)
  private static func storePixels(
    _ pixels: Four, from first: Int, count: Int, at out: UnsafeMutablePointer<Float>
  ) {
    if first == 0 && count == 16 {
      pixels.store(at: out, stride: 4)
    } else {
      for t in 0..<(count + 3) / 4 {
        WinogradTransform.store(pixels[first + t], at: out + 4 * t, count: min(4, count - 4 * t))
      }
    }
  }
}
