import Foundation
import Loader
import XCTest

/// `pack --source seg-folder`: images and their palette or grey PNG masks become records with
/// a mask plane, exactly; each image's label is the rarest class its mask holds; and every kind
/// of bad folder is one error naming the file.
final class SegmentationFolderTests: XCTestCase {
  private var directory: URL!
  private let (width, height) = (8, 6)

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory("seg-folder-tests") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// Image `index`'s mask: class `index % 2 + 1` on the left half, background (0) on the right,
  /// ignore (255) on the first row; image 4 of every 5 also holds class 3 in its last column.
  private func mask(_ index: Int) -> [UInt8] {
    (0..<(width * height)).map { p in
      let (x, y) = (p % width, p / width)
      if y == 0 { return 255 }
      if index % 5 == 4 && x == width - 1 { return 3 }
      return x < width / 2 ? UInt8(index % 2 + 1) : 0
    }
  }

  /// Writes `count` RGB images and their masks (palette PNGs for even indices, grey for odd)
  /// under `folder`, named `img-<first + i>`.
  private func writePairs(_ folder: URL, count: Int, first: Int = 0) throws {
    for i in first..<(first + count) {
      let pixels = (0..<(width * height * 3)).map { UInt8(($0 * 5 + i * 17) % 256) }
      for sub in ["images", "masks"] {
        try FileManager.default.createDirectory(
          at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
      }
      try Fixtures.writePNG(
        pixels, width: width, height: height, channels: 3,
        to: folder.appendingPathComponent("images/img-\(i).png").path)
      let maskPath = folder.appendingPathComponent("masks/img-\(i).png").path
      if i % 2 == 0 {
        try Fixtures.writePaletteMask(mask(i), width: width, height: height, to: maskPath)
      } else {
        try Fixtures.writePNG(mask(i), width: width, height: height, channels: 1, to: maskPath)
      }
    }
  }

  private func pack(_ root: URL, ratios: [Double] = [0.8, 0.1, 0.1]) throws -> DatasetDirectory {
    var options = PackOptions()
    options.source = .segFolder
    options.input = root.path
    options.output = directory.appendingPathComponent("packed").path
    options.shards = 2
    options.splitRatios = ratios
    options.force = true
    _ = try Packer.pack(options)
    return try DatasetDirectory(path: options.output)
  }

  func testASplitFolderPacksEveryMaskExactlyAndLabelsByTheRarestClass() throws {
    let root = directory.appendingPathComponent("split")
    try writePairs(root.appendingPathComponent("train"), count: 10)
    try writePairs(root.appendingPathComponent("val"), count: 3, first: 10)
    try writePairs(root.appendingPathComponent("test"), count: 5, first: 13)
    try "background\ncat\nbird\nbottle\n".write(
      to: root.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
    let dataset = try pack(root)
    XCTAssertTrue(dataset.manifest.hasMasks)
    XCTAssertEqual(dataset.manifest.classNames, ["background", "cat", "bird", "bottle"])
    XCTAssertEqual(dataset.manifest.image, Manifest.Image(channels: 3, height: height, width: width))
    // Training presence: background 10 images, classes 1 and 2 five each, class 3 two (images
    // 4 and 9), so those two are labelled 3 and the others by their own class.
    let expected: [Int32] = (0..<10).map { $0 % 5 == 4 ? 3 : Int32($0 % 2 + 1) }
    let train = try dataset.readSplit(.train)
    // Shards hold the images in stratified order: compare as (mask, label) multisets.
    let plane = width * height
    let read = (0..<train.count).map {
      Array(train.masks![($0 * plane)..<(($0 + 1) * plane)]) + [UInt8(train.labels[$0])]
    }
    let written = (0..<10).map { mask($0) + [UInt8(expected[$0])] }
    XCTAssertEqual(
      read.sorted { $0.lexicographicallyPrecedes($1) }, written.sorted { $0.lexicographicallyPrecedes($1) })
    XCTAssertEqual(dataset.manifest.splits.val.count, 3)
    XCTAssertEqual(dataset.manifest.splits.test.count, 5)
    XCTAssertEqual(try dataset.readSplit(.test).masks?.count, 5 * plane)
  }

  func testAnUnsplitFolderIsSplitByTheRatiosWithNumberedClasses() throws {
    let root = directory.appendingPathComponent("unsplit")
    try writePairs(root, count: 20)
    let dataset = try pack(root, ratios: [0.6, 0.2, 0.2])
    XCTAssertEqual(dataset.manifest.classNames, ["0", "1", "2", "3"])
    XCTAssertEqual(
      [
        dataset.manifest.splits.train.count, dataset.manifest.splits.val.count,
        dataset.manifest.splits.test.count,
      ],
      [12, 4, 4])
    XCTAssertEqual(dataset.manifest.imbalance, "none")
  }

  func testABadFolderIsOneErrorNamingTheFile() throws {
    let root = directory.appendingPathComponent("bad")
    func expectError(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
      XCTAssertThrowsError(try pack(root), file: file, line: line) {
        XCTAssertEqual("\($0)", text, file: file, line: line)
      }
      XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("packed").path))
    }
    let masks = root.appendingPathComponent("masks")
    try writePairs(root, count: 5)
    try FileManager.default.removeItem(at: masks.appendingPathComponent("img-2.png"))
    expectError("\(root.path)/images/img-2.png: has no mask (expected \(masks.path)/img-2.png)")

    try Fixtures.writePNG(
      [UInt8](repeating: 0, count: 12), width: 4, height: 3, channels: 1,
      to: masks.appendingPathComponent("img-2.png").path)
    expectError("\(masks.path)/img-2.png: mask is 4×3, its image is 8×6")

    try Fixtures.writePNG(
      mask(2), width: width, height: height, channels: 1, to: masks.appendingPathComponent("img-2.png").path)
    try "a\nb\nc\nd\n".write(
      to: root.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
    try Fixtures.writePNG(
      mask(4).map { $0 == 3 ? 7 : $0 }, width: width, height: height, channels: 1,
      to: masks.appendingPathComponent("img-4.png").path)
    expectError(
      "\(masks.path)/img-4.png: holds label 7, outside the 4 classes of classes.txt and not the ignore label 255"
    )

    try Fixtures.writePNG(
      [UInt8](repeating: 9, count: width * height * 3), width: width, height: height, channels: 3,
      to: masks.appendingPathComponent("img-4.png").path)
    expectError(
      "\(masks.path)/img-4.png: cannot be decoded (a label mask is a palette PNG or a grey PNG of at most 8 bits; this one is RGB of 8 bits)"
    )

    try Fixtures.writePNG(
      mask(4), width: width, height: height, channels: 1, to: masks.appendingPathComponent("img-4.png").path)
    try Fixtures.writePNG(
      mask(9), width: width, height: height, channels: 1, to: masks.appendingPathComponent("stray.png").path)
    expectError("\(masks.path)/stray.png: a mask without an image in \(root.path)/images")

    try FileManager.default.removeItem(at: masks.appendingPathComponent("stray.png"))
    try Fixtures.writePNG(
      [UInt8](repeating: 1, count: 5 * 5 * 3), width: 5, height: 5, channels: 3,
      to: root.appendingPathComponent("images/img-3.png").path)
    expectError("\(masks.path)/img-3.png: mask is 8×6, its image is 5×5")
    try Fixtures.writePNG(
      [UInt8](repeating: 1, count: 5 * 5), width: 5, height: 5, channels: 1,
      to: masks.appendingPathComponent("img-3.png").path)
    expectError(
      "\(root.path)/images/img-3.png: image is 5×5, but the dataset's images are 8×6 (the first image sets the size; give pack --image-size to resize every image and its mask)"
    )
  }

  /// `--image-size` resizes an image and its mask by one geometry: the mask by nearest
  /// neighbour at the image's scale and pixel centres, cut or padded about the same centre.
  /// A 12×8 grey image, bright (250) where x < 5 and dark (10) elsewhere, its mask class 1
  /// where x < 5 and 0 elsewhere, the first row ignored.
  func testAnImageAndItsMaskAreResizedTogether() throws {
    let root = directory.appendingPathComponent("resize")
    let (sourceWidth, sourceHeight) = (12, 8)
    for split in ["train", "val", "test"] {
      let folder = root.appendingPathComponent(split)
      for sub in ["images", "masks"] {
        try FileManager.default.createDirectory(
          at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
      }
      let image = (0..<(sourceWidth * sourceHeight)).map { $0 % sourceWidth < 5 ? UInt8(250) : 10 }
      let mask = (0..<(sourceWidth * sourceHeight)).map { p -> UInt8 in
        p < sourceWidth ? 255 : p % sourceWidth < 5 ? 1 : 0
      }
      try Fixtures.writePNG(
        image, width: sourceWidth, height: sourceHeight, channels: 1,
        to: folder.appendingPathComponent("images/a.png").path)
      try Fixtures.writePaletteMask(
        mask, width: sourceWidth, height: sourceHeight, to: folder.appendingPathComponent("masks/a.png").path)
    }
    for (policy, size) in [
      (ResizePolicy.shorterCrop, ImageSize(height: 6, width: 6)), (.pad, ImageSize(height: 6, width: 6)),
      (.stretch, ImageSize(height: 4, width: 6)), (.shorterCrop, ImageSize(height: 20, width: 20)),
    ] {
      var preparation = ImagePreparation()
      (preparation.size, preparation.policy, preparation.background) = (size, policy, [77, 77, 77])
      let train = try SegmentationFolder.load(
        root: root.path, ratios: [1, 0, 0], seed: 0, preparation: preparation
      )
      .train
      XCTAssertEqual([train.height, train.width], [size.height, size.width])
      let (pixels, mask) = (train.pixels, train.masks!)
      XCTAssertGreaterThan(mask.filter { $0 == 1 }.count, 2, "\(policy) \(size)")
      for p in mask.indices where mask[p] != 255 {
        // Labels sit on their own side of the image's edge (bright where class 1, dark where 0);
        // a pixel whose centre falls on the edge is mid-grey with Lanczos's overshoot (up to
        // 189 measured), and the mask takes the right-hand source pixel there. A mask one pixel
        // off would put class 0 on 250 or class 1 on 10.
        XCTAssertTrue(mask[p] == 1 ? pixels[p] >= 60 : pixels[p] <= 200, "\(policy) \(size) pixel \(p)")
      }
      if policy == .pad {
        // Scale ½ gives 6×4, centred with one padded row above and below, in both.
        for row in [0, 5] {
          XCTAssertEqual(Array(mask[(row * 6)..<(row * 6 + 6)]), [UInt8](repeating: 255, count: 6))
          XCTAssertEqual(Array(pixels[(row * 6)..<(row * 6 + 6)]), [UInt8](repeating: 77, count: 6))
        }
      }
      if policy == .shorterCrop && size.width == 6 {
        // Scale ¾ gives 9×6, cut from column 1 (offset (6 − 9)/2 = −1): output column c takes
        // source column ⌊(c + 1 + ½)/¾⌋ = 2, 3, 4, 6, 7, 8; row r source row ⌊(r + ½)/¾⌋.
        XCTAssertEqual(Array(mask[0..<6]), [UInt8](repeating: 255, count: 6))
        for row in 1..<6 { XCTAssertEqual(Array(mask[(row * 6)..<(row * 6 + 6)]), [1, 1, 1, 0, 0, 0]) }
      }
    }
  }
}

/// `pack --source voc`: PASCAL VOC's layout read by its lists, photos of mixed sizes resized
/// with their palette masks, `val.txt` as the test split, and a list naming a missing file or a
/// mask with a label beyond VOC's 21 classes refused naming the file.
final class VOCSegmentationTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory("voc-tests") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// `VOCdevkit/VOC2012` with 6 training and 2 validation photos, landscape (10×8) and
  /// portrait (8×10) in turn; image i's mask holds class i + 1 in its centre, 255 around it.
  private func writeVOC() throws -> URL {
    let root = directory.appendingPathComponent("VOCdevkit")
    let voc = root.appendingPathComponent("VOC2012")
    for sub in ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"] {
      try FileManager.default.createDirectory(
        at: voc.appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    for i in 0..<8 {
      let (width, height) = i % 2 == 0 ? (10, 8) : (8, 10)
      let pixels = (0..<(width * height * 3)).map { UInt8(($0 * 3 + i * 20) % 256) }
      try Fixtures.writeJPEG(
        pixels, width: width, height: height, channels: 3,
        to: voc.appendingPathComponent("JPEGImages/2007_00000\(i).jpg").path)
      let mask = (0..<(width * height)).map { p -> UInt8 in
        let (x, y) = (p % width, p / width)
        return (2..<(width - 2)).contains(x) && (2..<(height - 2)).contains(y)
          ? UInt8(i + 1) : x == 0 ? 255 : 0
      }
      try Fixtures.writePaletteMask(
        mask, width: width, height: height,
        to: voc.appendingPathComponent("SegmentationClass/2007_00000\(i).png").path)
    }
    let lists = voc.appendingPathComponent("ImageSets/Segmentation")
    try (0..<6).map { "2007_00000\($0)" }.joined(separator: "\n").write(
      to: lists.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
    try "2007_000006\n2007_000007\n".write(
      to: lists.appendingPathComponent("val.txt"), atomically: true, encoding: .utf8)
    return root
  }

  private func load(_ root: URL) throws -> SourceData {
    var preparation = ImagePreparation()
    preparation.size = ImageSize(height: 8, width: 8)
    return try VOCSegmentation.load(
      root: root.path, ratios: [0.8, 0.1, 0.1], seed: 0, preparation: preparation)
  }

  func testVOCIsReadByItsListsAndResizedWithItsMasks() throws {
    let source = try load(try writeVOC())
    XCTAssertEqual(source.train.classNames.count, 21)
    XCTAssertEqual(source.train.classNames[15], "person")
    // train.txt's 6 images: round(6 · 0.8/0.9) = 5 for training, 1 for validation.
    XCTAssertEqual([source.train.count, source.validation?.count, source.test.count], [5, 1, 2])
    XCTAssertEqual([source.test.height, source.test.width], [8, 8])
    // Test image 7 (portrait 8×10, cut to 8×8 from row 1): class 8 on rows 1–6 of columns 2–5,
    // 255 on column 0, background elsewhere; labelled 8, the rarest class it holds.
    let mask = Array(source.test.masks![64..<128])
    for row in 0..<8 {
      let expected = (0..<8).map { x -> UInt8 in
        (2..<6).contains(x) && (1..<7).contains(row) ? 8 : x == 0 ? 255 : 0
      }
      XCTAssertEqual(Array(mask[(row * 8)..<(row * 8 + 8)]), expected, "row \(row)")
    }
    XCTAssertEqual(source.test.labels, [7, 8])
  }

  func testAMissingFileOrAStrayLabelIsOneErrorNamingIt() throws {
    let root = try writeVOC()
    let voc = root.appendingPathComponent("VOC2012")
    try FileManager.default.removeItem(at: voc.appendingPathComponent("SegmentationClass/2007_000003.png"))
    XCTAssertThrowsError(try load(root)) {
      XCTAssertEqual(
        "\($0)",
        "\(voc.path)/ImageSets/Segmentation/train.txt: lists 2007_000003, but \(voc.path)/SegmentationClass/2007_000003.png does not exist"
      )
    }
    let mask = voc.appendingPathComponent("SegmentationClass/2007_000003.png").path
    try Fixtures.writePaletteMask([UInt8](repeating: 21, count: 80), width: 8, height: 10, to: mask)
    XCTAssertThrowsError(try load(root)) {
      XCTAssertEqual(
        "\($0)", "\(mask): holds label 21, outside the 21 classes of VOC and not the ignore label 255")
    }
  }
}
