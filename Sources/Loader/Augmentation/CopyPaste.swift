import PRNG

/// Simple copy-paste for segmentation (Ghiasi et al., CVPR 2021) as the imbalanced-segmentation
/// seed applies it (its `copyblob`): with `probability`, a training image receives every pixel of
/// one class from another image of its shard. The source is drawn with weight `1/n` of its label
/// (its mask's rarest class; `n` the training images so labelled; class 0, the background, is
/// never a source's label here), and that class is pasted,
/// shifted so that its top-left-most pixel (least row + column) lands on a random background
/// pixel (class 0) in the top-left quadrant of the image's background (at or before the median
/// row and column). Pasted pixels shifted past the border are dropped, never wrapped to the
/// opposite side, and a ring of `ring(height:width:)` pixels around the pasted object is
/// labelled ignore (the seed's 7×7 dilation at 512 px). Draws are per (seed, epoch, shard,
/// draw), so ranks and loader threads do not change what is pasted.
public struct CopyPaste: Sendable, Equatable {
  public var probability = 0.0

  public init(probability: Double = 0) { self.probability = probability }

  public var pastes: Bool { probability > 0 }

  /// The ring's width: 3 pixels at 512 (the seed's), at least 1.
  public static func ring(height: Int, width: Int) -> Int { max(1, min(height, width) / 160) }

  /// The source of image `draw` of `shard` in `epoch` (an index into the shard, by the
  /// cumulative `weights`), and where its object goes as a uniform number in [0, 1); `nil`: no
  /// paste for this image.
  public func choose(seed: UInt64, epoch: Int, shard: Int, draw: Int, cumulativeWeights: [Double])
    -> (source: Int, position: Double)?
  {
    var rng = Xoshiro256(seed: seed, stream: [0xC0B1, UInt64(epoch), UInt64(shard), UInt64(draw)])
    let (pick, toss, position) = (rng.nextUnitDouble(), rng.nextUnitDouble(), rng.nextUnitDouble())
    guard toss < probability, let total = cumulativeWeights.last, total > 0 else { return nil }
    let target = pick * total
    var (low, high) = (0, cumulativeWeights.count - 1)
    while low < high {
      let middle = (low + high) / 2
      if cumulativeWeights[middle] > target { high = middle } else { low = middle + 1 }
    }
    return (low, position)
  }

  /// The cumulative source weights of a shard's images: `1/n` of each image's label, from the
  /// classes' global training counts.
  public static func cumulativeWeights(labels: [Int32], classCounts: [Int]) -> [Double] {
    var total = 0.0
    return labels.map {
      total += $0 == 0 ? 0 : 1 / Double(max(classCounts[Int($0)], 1))
      return total
    }
  }

  /// Pastes every pixel of `label` from the source (planar CHW pixels and a mask) into the
  /// image and mask, its top-left-most pixel at the background pixel that `position` picks in
  /// the image's top-left quadrant of background. Returns whether anything was pasted.
  @discardableResult
  public static func paste(
    label: UInt8, from source: UnsafePointer<UInt8>, mask sourceMask: UnsafePointer<UInt8>,
    into image: UnsafeMutablePointer<UInt8>, mask: UnsafeMutablePointer<UInt8>, channels: Int, height: Int,
    width: Int, position: Double
  ) -> Bool {
    let plane = height * width
    let object = (0..<plane).filter { sourceMask[$0] == label }
    guard let corner = object.min(by: { ($0 / width + $0 % width, $0) < ($1 / width + $1 % width, $1) }),
      let target = quadrantPixel(of: mask, height: height, width: width, position: position)
    else { return false }
    let (dy, dx) = (target / width - corner / width, target % width - corner % width)
    var pasted = [Bool](repeating: false, count: plane)
    for p in object {
      let (y, x) = (p / width + dy, p % width + dx)
      guard y >= 0, y < height, x >= 0, x < width else { continue }
      mask[y * width + x] = label
      for c in 0..<channels { image[c * plane + y * width + x] = source[c * plane + p] }
      pasted[y * width + x] = true
    }
    let ring = Self.ring(height: height, width: width)
    for y in 0..<height {
      for x in 0..<width where !pasted[y * width + x] {
        let near = (max(0, y - ring)...min(height - 1, y + ring)).contains { ny in
          (max(0, x - ring)...min(width - 1, x + ring)).contains { pasted[ny * width + $0] }
        }
        if near { mask[y * width + x] = ShardFormat.ignoreLabel }
      }
    }
    return true
  }

  /// The background pixel (class 0) that `position` ∈ [0, 1) picks among those at or before the
  /// median row and the median column of the background (numpy's 50th percentile, linear).
  static func quadrantPixel(of mask: UnsafePointer<UInt8>, height: Int, width: Int, position: Double) -> Int?
  {
    let background = (0..<(height * width)).filter { mask[$0] == 0 }
    guard !background.isEmpty else { return nil }
    func median(_ values: [Int]) -> Double {
      let sorted = values.sorted()
      let rank = Double(sorted.count - 1) / 2
      let (low, high) = (Int(rank), min(Int(rank) + 1, sorted.count - 1))
      return Double(sorted[low]) + (rank - Double(low)) * Double(sorted[high] - sorted[low])
    }
    let (row, column) = (median(background.map { $0 / width }), median(background.map { $0 % width }))
    let inQuadrant = background.filter { Double($0 / width) <= row && Double($0 % width) <= column }
    // A background with no pixel in that quadrant (two pixels on an anti-diagonal): all of it.
    let quadrant = inQuadrant.isEmpty ? background : inQuadrant
    return quadrant[min(Int(position * Double(quadrant.count)), quadrant.count - 1)]
  }
}
