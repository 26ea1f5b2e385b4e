import PRNG

/// The default segmentation benchmark (`pack --source fashion-mnist-seg`), made from Debian's
/// Fashion-MNIST: 1 to 3 garments pasted at random places on a black 64×64 canvas, later ones
/// over earlier ones; a pixel of a garment brighter than `garmentThreshold` is labelled with its
/// class (1 + the Fashion-MNIST class, 0 is background), a fainter non-black one is 255 (its
/// uncertain edge, as VOC's borders). Training canvases draw each garment's class from
/// `profile` (long-tailed presence: `exp:100` makes class 10 a hundredth as likely as class 1),
/// validation and test canvases uniformly; garments come from disjoint pools (training canvases
/// from Fashion-MNIST's first 50,000 training images, validation from the last 10,000, test from
/// its test set). Deterministic in `seed`.
public enum FashionMNISTSegmentation {
  public static let side = 64
  public static let counts = (train: 3000, validation: 500, test: 1000)
  public static let garmentThreshold: UInt8 = 64
  public static let classNames = ["background"] + FashionMNIST.classNames

  public static func load(directory: String, profile: ImbalanceProfile, seed: UInt64) throws -> SourceData {
    let garments = try IDXDirectory.load(directory: directory, classNames: FashionMNIST.classNames)
    let pools = [
      garments.train.subset(Array(0..<50_000)), garments.train.subset(Array(50_000..<garments.train.count)),
      garments.test,
    ]
    try profile.check(classes: FashionMNIST.classNames.count)
    let skewed = profile.counts(maxCount: 1 << 20, classes: FashionMNIST.classNames.count).map(Double.init)
    let uniform = [Double](repeating: 1, count: FashionMNIST.classNames.count)
    let splits = zip(pools, [(counts.train, skewed), (counts.validation, uniform), (counts.test, uniform)])
      .enumerated().map { split, parts in
        canvases(parts.1.0, from: parts.0, classWeights: parts.1.1, seed: seed, split: split)
      }
    return MaskLabels.sourceData(train: splits[0], validation: splits[1], test: splits[2])
  }

  /// `count` canvases of garments from `pool`, classes drawn in proportion to `classWeights`.
  private static func canvases(
    _ count: Int, from pool: LabeledImages, classWeights: [Double], seed: UInt64, split: Int
  ) -> LabeledImages {
    let byClass = pool.indicesByClass
    let total = classWeights.reduce(0, +)
    let plane = side * side
    var (pixels, masks) = (
      [UInt8](repeating: 0, count: count * plane), [UInt8](repeating: 0, count: count * plane)
    )
    for canvas in 0..<count {
      var random = Xoshiro256(seed: seed, stream: [0x5E61, UInt64(split), UInt64(canvas)])
      for _ in 0...random.nextIndex(below: 3) {
        var draw = random.nextUnitDouble() * total
        let garmentClass =
          classWeights.firstIndex {
            draw -= $0
            return draw < 0
          } ?? classWeights.count - 1
        let garment = byClass[garmentClass][random.nextIndex(below: byClass[garmentClass].count)]
        let (top, left) = (random.nextIndex(below: side - 27), random.nextIndex(below: side - 27))
        for y in 0..<28 {
          for x in 0..<28 {
            let value = pool.pixels[garment * 784 + y * 28 + x]
            guard value > 0 else { continue }
            let target = canvas * plane + (top + y) * side + left + x
            pixels[target] = value
            masks[target] = value >= garmentThreshold ? UInt8(garmentClass + 1) : ShardFormat.ignoreLabel
          }
        }
      }
    }
    return LabeledImages(
      channels: 1, height: side, width: side, classNames: classNames, pixels: pixels,
      labels: [Int32](repeating: 0, count: count), masks: masks)
  }
}
