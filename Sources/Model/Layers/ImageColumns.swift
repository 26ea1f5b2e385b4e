/// Several NCHW images as one matrix `[channels][images · columns]`, so that one sgemm covers a
/// chunk of images whose planes are too small to fill a product alone: `gather` lays them side
/// by side, `scatter` puts a product's columns back (`PointwiseConvolution`, im2col `Conv2D`).
enum ImageColumns {
  /// Where one image's plane sits in its columns: `rows` rows of `width` pixels, `pitch`
  /// columns apart (the columns past `width` are scratch: `PhasePlanes`' flat rows).
  struct Layout {
    let rows: Int
    let width: Int
    let pitch: Int

    /// A plane as one row with no scratch columns.
    static func flat(_ plane: Int) -> Layout { Layout(rows: 1, width: plane, pitch: plane) }

    var columns: Int { rows * pitch }
    var isFlat: Bool { pitch == width }
  }

  /// Whole images in a chunk of about `columns` columns, at least one.
  static func imagesPerChunk(batch: Int, columnsPerImage: Int, columns: Int) -> Int {
    max(1, min(batch, columns / columnsPerImage))
  }

  /// `images` NCHW images as `[channels][images · layout.columns]`, zero in the scratch
  /// columns: the images themselves when there is one, flat.
  static func gather(
    _ x: UnsafePointer<Float>, images: Int, channels: Int, layout: Layout, into scratch: Scratch
  ) -> UnsafePointer<Float> {
    guard images > 1 || !layout.isFlat else { return x }
    let (width, plane, columns) = (layout.width, layout.rows * layout.width, images * layout.columns)
    let gathered = scratch.reserve(channels * columns)
    for n in 0..<images {
      for c in 0..<channels {
        let (source, target) = (x + (n * channels + c) * plane, gathered + c * columns + n * layout.columns)
        for r in 0..<layout.rows {
          (target + r * layout.pitch).update(from: source + r * width, count: width)
          (target + r * layout.pitch + width).update(repeating: 0, count: layout.pitch - width)
        }
      }
    }
    return UnsafePointer(gathered)
  }

  /// `gather`'s inverse (scratch columns dropped), adding `bias` and clamping to
  /// `activationCap` on the way; in place when `columns` is `y` itself (one flat image).
  static func scatter(
    _ columns: UnsafePointer<Float>, images: Int, channels: Int, layout: Layout, bias: UnsafePointer<Float>?,
    activationCap: Float?, into y: UnsafeMutablePointer<Float>
  ) {
    guard images > 1 || !layout.isFlat || bias != nil || activationCap != nil else { return }
    let (width, plane, all) = (layout.width, layout.rows * layout.width, images * layout.columns)
    for n in 0..<images {
      for c in 0..<channels {
        let b = bias?[c] ?? 0
        for r in 0..<layout.rows {
          let source = columns + c * all + n * layout.columns + r * layout.pitch
          let target = y + (n * channels + c) * plane + r * width
          if let activationCap {
            for i in 0..<width { target[i] = ReLU.clamp(source[i] + b, cap: activationCap) }
          } else {
            for i in 0..<width { target[i] = source[i] + b }
          }
        }
      }
    }
  }
}
