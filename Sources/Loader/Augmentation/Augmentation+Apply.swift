extension Augmentation {
  /// Writes the augmented image: `source` and `target` are planar uint8 CHW of the same shape.
  /// Pixels the crop brings in from the padding are 0.
  public static func transform(
    _ source: UnsafePointer<UInt8>, into target: UnsafeMutablePointer<UInt8>, channels: Int, height: Int,
    width: Int, padding: Int, draw: Draw
  ) {
    let plane = height * width
    // Output (x, y) is the crop's (x, y), or its (W − 1 − x, y) when flipped (crop, then flip,
    // as torchvision): padded (x + cropX, y + cropY) = source (x + cropX − p, y + cropY − p).
    for c in 0..<channels {
      for y in 0..<height {
        let sy = y + draw.cropY - padding
        for x in 0..<width {
          let sx = (draw.flip ? width - 1 - x : x) + draw.cropX - padding
          let inside = sy >= 0 && sy < height && sx >= 0 && sx < width
          target[c * plane + y * width + x] = inside ? source[c * plane + sy * width + sx] : 0
        }
      }
    }
    jitter(target, channels: channels, plane: plane, draw: draw)
  }

  /// Brightness, contrast, then saturation, each a blend clamped to [0, 255] and rounded.
  static func jitter(_ image: UnsafeMutablePointer<UInt8>, channels: Int, plane: Int, draw: Draw) {
    let count = channels * plane
    func blend(_ factor: Double, with other: (Int) -> Double) {
      for i in 0..<count {
        let value = factor * Double(image[i]) + (1 - factor) * other(i)
        image[i] = UInt8(min(255, max(0, value.rounded())))
      }
    }
    func grey(_ p: Int) -> Double {
      channels == 3
        ? luma(image[p], image[plane + p], image[2 * plane + p])
        : Double(image[p])
    }
    if draw.brightness != 1 { blend(draw.brightness) { _ in 0 } }
    if draw.contrast != 1 {
      let mean = (0..<plane).reduce(0.0) { $0 + grey($1) } / Double(plane)
      blend(draw.contrast) { _ in mean }
    }
    if draw.saturation != 1 && channels == 3 {
      let greys = (0..<plane).map(grey)
      blend(draw.saturation) { greys[$0 % plane] }
    }
  }

  /// Zeroes the Cutout square of a normalised image (planar floats), clipped at the border.
  public static func cut(
    _ image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int, side: Int, draw: Draw
  ) {
    guard let centre = draw.cutoutCentre, side > 0 else { return }
    let (x0, y0) = (max(0, centre.x - side / 2), max(0, centre.y - side / 2))
    let (x1, y1) = (min(width, centre.x - side / 2 + side), min(height, centre.y - side / 2 + side))
    guard x0 < x1, y0 < y1 else { return }
    for c in 0..<channels {
      for y in y0..<y1 {
        (image + (c * height + y) * width + x0).update(repeating: 0, count: x1 - x0)
      }
    }
  }
}
