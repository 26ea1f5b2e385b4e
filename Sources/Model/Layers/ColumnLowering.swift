/// A chunk of images as one im2col matrix `[C·k·k][images · layout.columns]` for `Conv2D`
/// (Chellapilla et al. 2006): stride 1 straight from `ConvolutionGeometry`; larger strides
/// through `PhasePlanes` (one strided pass per plane, then one contiguous copy per tap, rows
/// of the phase planes' pitch whose scratch columns the products carry along).
struct ColumnLowering {
  let geometry: ConvolutionGeometry
  let phases: PhasePlanes?
  let layout: ImageColumns.Layout

  init(_ geometry: ConvolutionGeometry) {
    self.geometry = geometry
    guard geometry.stride > 1 else {
      (phases, layout) = (nil, .flat(geometry.outputPixels))
      return
    }
    let phases = PhasePlanes(
      ConvolutionGeometry(
        channels: 1, height: geometry.height, width: geometry.width, outputHeight: geometry.outputHeight,
        outputWidth: geometry.outputWidth, kernel: geometry.kernel, stride: geometry.stride,
        padding: geometry.padding))
    self.phases = phases
    layout = ImageColumns.Layout(
      rows: geometry.outputHeight, width: geometry.outputWidth, pitch: phases.pitch)
  }

  /// The columns of images `first ..< first + images` of `input`, in `columns`' buffer;
  /// `scratch` holds the phase planes.
  func im2col(
    _ input: Tensor, first: Int, images: Int, into columns: Scratch, scratch: Scratch
  ) -> UnsafeMutablePointer<Float> {
    let width = images * layout.columns
    let col = columns.reserve(geometry.patchSize * width)
    let planes = phases.map { scratch.reserve($0.count) }
    for i in 0..<images {
      let (x, target) = (input.image(first + i), col + i * layout.columns)
      if let phases, let planes {
        phases.im2col(x, channels: geometry.channels, planes: planes, into: target, rowStride: width)
      } else {
        geometry.im2col(x, into: target, rowStride: width)
      }
    }
    return col
  }

  /// The adjoint of `im2col`: the chunk's input gradients from its column gradients, into
  /// `images` consecutive images from `dx` (overwritten).
  func col2im(
    _ col: UnsafePointer<Float>, images: Int, into dx: UnsafeMutablePointer<Float>, scratch: Scratch
  ) {
    let width = images * layout.columns
    let perImage = geometry.channels * geometry.height * geometry.width
    let planes = phases.map { scratch.reserve($0.count) }
    for i in 0..<images {
      let (source, target) = (col + i * layout.columns, dx + i * perImage)
      if let phases, let planes {
        phases.col2im(source, channels: geometry.channels, planes: planes, into: target, rowStride: width)
      } else {
        geometry.col2im(source, into: target, rowStride: width)
      }
    }
  }
}
