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
    expectError(
      "\(root.path)/images/img-3.png: image is 5×5, but the dataset's images are 8×6 (the first image sets the size; a segmentation folder's images share one size)"
    )
  }
}
