import Foundation
import Loader
import Model

/// The report's look at a segmentation run's test images: a row per image (the image, its
/// ground truth, the prediction), masks painted over the image in the classes' colours at
/// `opacity` — label 0, the background copy-paste also assumes, left unpainted, ignored pixels
/// white — in one PNG, `test-masks.png`.
public enum MaskOverlays {
  /// Rows of the figure.
  public static let rows = 6
  static let opacity: Float = 0.6
  static let gap = 4

  /// The test images shown: for each class from the fewest training images up (background
  /// and classes without test images skipped), the first test image whose rarest class it is,
  /// so the rare classes are on the page.
  public static func chosen(labels: [Int32], trainCounts: [Int], count: Int = rows) -> [Int] {
    let classes = trainCounts.indices.dropFirst().sorted { (trainCounts[$0], $0) < (trainCounts[$1], $1) }
    return Array(classes.compactMap { c in labels.firstIndex(of: Int32(c)) }.prefix(count))
  }

  /// Predicts the `chosen` test images with `evaluator` (its `--tta` too) and writes the figure.
  public static func write(
    network: Network, images: RecordStore, normalization: Normalization, trainCounts: [Int],
    evaluator: Evaluator, to path: String
  ) throws {
    let chosen = chosen(labels: images.labels, trainCounts: trainCounts)
    guard !chosen.isEmpty else { return }
    let (plane, maskSize) = (images.height * images.width, images.maskSize)
    var truth = [UInt8](repeating: 0, count: chosen.count * maskSize)
    var predicted = [UInt8](repeating: 0, count: chosen.count * maskSize)
    var done = 0
    let reader = RecordReader()
    try truth.withUnsafeMutableBufferPointer { truth in
      try evaluator.run(
        count: chosen.count, network: network, outputs: [.classMaps], normalization: normalization,
        fill: { positions, input, labels in
          try BatchAssembler.copy(
            chosen[positions], of: images, normalization: normalization, into: input.pointer, labels: labels,
            offset: 0, masks: truth.baseAddress! + positions.lowerBound * maskSize, reader: reader)
        },
        { maps, _, count, _ in
          for n in 0..<count {
            let image = maps.image(n)
            for p in 0..<plane {
              let best = (0..<maps.shape.channels).max { image[$0 * plane + p] < image[$1 * plane + p] }!
              predicted[(done + n) * plane + p] = UInt8(best)
            }
          }
          done += count
        })
    }
    var pixels = [UInt8](repeating: 0, count: images.imageSize)
    let rows = try chosen.indices.map { row in
      try pixels.withUnsafeMutableBufferPointer {
        try images.pixels(chosen[row], into: $0.baseAddress!, reader: reader)
      }
      let rgb = (0..<(3 * plane)).map { pixels[images.channels == 3 ? $0 : $0 % plane] }
      return [
        rgb, painted(rgb, with: truth[(row * plane)..<((row + 1) * plane)]),
        painted(rgb, with: predicted[(row * plane)..<((row + 1) * plane)]),
      ]
    }
    try writeAtomically(Data(figure(rows, height: images.height, width: images.width)), to: path)
  }

  /// Planar RGB `image` with `mask` painted over it.
  static func painted(_ image: [UInt8], with mask: ArraySlice<UInt8>) -> [UInt8] {
    let plane = mask.count
    var out = image
    for (p, label) in zip(0..., mask) where label != 0 {
      let colour = label == PixelLoss.ignoreLabel ? [255, 255, 255] : classRGB(Int(label))
      for c in 0..<3 {
        let blended = (1 - opacity) * Float(image[c * plane + p]) + opacity * Float(colour[c])
        out[c * plane + p] = UInt8(blended.rounded())
      }
    }
    return out
  }

  /// The panels (planar RGB, `height`×`width`) as a grid on white, `gap` pixels apart, as a PNG.
  static func figure(_ rows: [[[UInt8]]], height: Int, width: Int) throws -> [UInt8] {
    let columns = rows.first?.count ?? 0
    let (figureWidth, figureHeight) = (columns * (width + gap) - gap, rows.count * (height + gap) - gap)
    var rgb = [UInt8](repeating: 255, count: 3 * figureWidth * figureHeight)
    let plane = height * width
    for (r, panels) in rows.enumerated() {
      for (column, panel) in panels.enumerated() {
        for y in 0..<height {
          for x in 0..<width {
            let target = ((r * (height + gap) + y) * figureWidth + column * (width + gap) + x) * 3
            for c in 0..<3 { rgb[target + c] = panel[c * plane + y * width + x] }
          }
        }
      }
    }
    return try RecordEncoder.png(rgb, channels: 3, height: figureHeight, width: figureWidth)
  }
}
