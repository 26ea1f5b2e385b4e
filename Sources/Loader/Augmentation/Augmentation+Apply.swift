extension Augmentation {
  /// Writes the augmented image: `source` and `target` are planar uint8 CHW of the same shape.
  /// Pixels the crop brings in from the padding are 0.
  public static func transform(
    _ source: UnsafePointer<UInt8>, into target: UnsafeMutablePointer<UInt8>, channels: Int, height: Int,
    width: Int, padding: Int, draw: Draw
  ) {
    let plane = height * width
    if let box = draw.resizedCrop {
      resample(source, box, into: target, channels: channels, height: height, width: width, flip: draw.flip)
      return jitter(target, channels: channels, plane: plane, draw: draw)
    }
    for c in 0..<channels {
      crop(
        source + c * plane, into: target + c * plane, height: height, width: width, padding: padding,
        draw: draw,
        fill: 0)
    }
    jitter(target, channels: channels, plane: plane, draw: draw)
  }

  /// Writes the label mask (one `height`×`width` plane) of an image that `transform` moves by
  /// `draw`: the same crop and flip, padding labelled `fill` (the ignore label), or the same
  /// resized crop by nearest neighbour — the box pixel under each output pixel's centre,
  /// the one bilinear interpolation weighs most. Colour jitter and Cutout leave labels alone.
  public static func transformMask(
    _ source: UnsafePointer<UInt8>, into target: UnsafeMutablePointer<UInt8>, height: Int, width: Int,
    padding: Int, draw: Draw, fill: UInt8
  ) {
    guard let box = draw.resizedCrop else {
      return crop(
        source, into: target, height: height, width: width, padding: padding, draw: draw, fill: fill)
    }
    func nearest(_ size: Int, _ boxSize: Int) -> [Int] {
      (0..<size).map { min(Int((Double($0) + 0.5) * Double(boxSize) / Double(size)), boxSize - 1) }
    }
    let (rows, columns) = (nearest(height, box.height), nearest(width, box.width))
    for (y, row) in rows.enumerated() {
      for x in 0..<width {
        target[y * width + x] = source[(box.y + row) * width + box.x + columns[draw.flip ? width - 1 - x : x]]
      }
    }
  }

  /// One plane cropped from its padded self and flipped as `draw` says. Output (x, y) is the
  /// crop's (x, y), or its (W − 1 − x, y) when flipped (crop, then flip, as torchvision):
  /// padded (x + cropX, y + cropY) = source (x + cropX − p, y + cropY − p), `fill` outside.
  /// Pixels, label masks, and `--tta flip-shift`'s normalised views.
  @inlinable
  public static func crop<Pixel>(
    _ source: UnsafePointer<Pixel>, into target: UnsafeMutablePointer<Pixel>, height: Int, width: Int,
    padding: Int, draw: Draw, fill: Pixel
  ) {
    for y in 0..<height {
      let sy = y + draw.cropY - padding
      for x in 0..<width {
        let sx = (draw.flip ? width - 1 - x : x) + draw.cropX - padding
        let inside = sy >= 0 && sy < height && sx >= 0 && sx < width
        target[y * width + x] = inside ? source[sy * width + sx] : fill
      }
    }
  }

  /// The `box` of `source` scaled to the whole `height`×`width` image (then mirrored when
  /// `flip`) by bilinear interpolation with pixel centres at half-integers, as PyTorch's
  /// `interpolate(mode="bilinear", align_corners=False)`, rounded to the nearest integer. The
  /// box is never larger than the image, so this only enlarges and needs no antialiasing.
  static func resample(
    _ source: UnsafePointer<UInt8>, _ box: Box, into target: UnsafeMutablePointer<UInt8>, channels: Int,
    height: Int, width: Int, flip: Bool
  ) {
    func taps(_ size: Int, _ boxSize: Int) -> [(first: Int, second: Int, weight: Float)] {
      let scale = Float(boxSize) / Float(size)
      return (0..<size).map { out in
        let position = max(0, (Float(out) + 0.5) * scale - 0.5)
        let first = min(Int(position), boxSize - 1)
        return (first, min(first + 1, boxSize - 1), position - Float(first))
      }
    }
    let rows = taps(height, box.height)
    let columns = taps(width, box.width)
    for c in 0..<channels {
      let plane = source + c * height * width
      for (y, row) in rows.enumerated() {
        let top = plane + (box.y + row.first) * width + box.x
        let bottom = plane + (box.y + row.second) * width + box.x
        for x in 0..<width {
          let column = columns[flip ? width - 1 - x : x]
          let upper =
            Float(top[column.first]) * (1 - column.weight) + Float(top[column.second]) * column.weight
          let lower =
            Float(bottom[column.first]) * (1 - column.weight) + Float(bottom[column.second]) * column.weight
          let value = upper * (1 - row.weight) + lower * row.weight
          target[(c * height + y) * width + x] = UInt8(min(255, max(0, value.rounded())))
        }
      }
    }
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
