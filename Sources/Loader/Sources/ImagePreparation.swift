import CVips
import Foundation

/// How an image of another size becomes the dataset's size (`pack --resize`).
public enum ResizePolicy: String, CaseIterable, Codable, Sendable {
  /// Scale until the image covers the target, then cut out the centre: torchvision's
  /// `Resize(S)` + `CenterCrop(S)` for a square target.
  case shorterCrop = "shorter-crop"
  /// Scale until the whole image fits inside the target, centred on the background colour.
  case pad
  /// Scale each axis to the target, changing the aspect ratio.
  case stretch
}

/// What `pack` does to each image of a folder, through libvips: decode (PNG, JPEG, WebP, TIFF,
/// …), turn upright by its EXIF orientation, composite alpha onto `background`, resize to
/// `size` by `policy` (`vips_thumbnail`: JPEGs shrink on load by DCT scaling, then a Lanczos-3
/// reduce whose kernel spans each output pixel's footprint, antialiased rather than nearest;
/// factors above 2 first shrink by block averages), and convert to `channels` (grey to RGB by
/// copying, RGB to grey by ITU-R BT.601 luma, as PIL's `convert("L")` and torchvision's
/// `Grayscale`).
public struct ImagePreparation: Sendable, Equatable {
  /// The dataset's image size; `nil` keeps every image's own size, which must then agree.
  public var size: ImageSize?
  public var policy = ResizePolicy.shorterCrop
  /// 1 or 3; `nil` takes the first image's.
  public var channels: Int?
  /// The colour behind transparent pixels and around padded images, RGB.
  public var background: [UInt8] = [255, 255, 255]
  /// The most pixels an image may declare in its header, checked before anything is decoded
  /// (PIL's decompression-bomb limit).
  public var maxPixels = 89_478_485

  public init() {}

  /// What a manifest records of it.
  public var recorded: Manifest.Preparation {
    Manifest.Preparation(imageSize: size?.description, resize: policy, background: background)
  }

  /// The preparation a dataset's records went through (`pack`'s defaults where the manifest
  /// records none: datasets of other sources and of earlier builds), into `image`'s channels.
  public init(recorded: Manifest.Preparation?, image: Manifest.Image) {
    if let recorded {
      size = recorded.imageSize.flatMap(ImageSize.init(parsing:))
      policy = recorded.resize
      background = recorded.background
    }
    channels = image.channels
  }

  /// The image at `path` as a record of `image`'s shape: planar pixels, prepared as `pack`
  /// prepared the records; an image of another size than the records' is resized by `policy`
  /// (a dataset packed without `--image-size` had none). Errors name the file.
  public func record(path: String, as image: Manifest.Image) throws -> [UInt8] {
    var decoded = try prepare(path: path)
    if (decoded.height, decoded.width) != (image.height, image.width) {
      var resizing = self
      resizing.size = ImageSize(height: image.height, width: image.width)
      decoded = try resizing.prepare(path: path)
    }
    return decoded.planar(channels: image.channels)
  }

  /// The image at `path`, prepared; errors name the file.
  func prepare(path: String) throws -> DecodedImage {
    try VipsLibrary.start()
    try checkDeclaredSize(path)
    let image = try VipsLibrary.image(path) { output in
      guard let size else { return cvips_load_upright(path, &output) }
      let code: Int32 = policy == .shorterCrop ? 0 : policy == .pad ? 1 : 2
      return cvips_thumbnail(path, &output, Int32(size.width), Int32(size.height), code)
    }
    return try finished(image, path, canvas: policy == .pad ? size : nil)
  }

  /// The image at `path` and its label `mask` (drawn on the image's stored pixels, not turned by
  /// EXIF) brought to `size` by one geometry: libvips resizes the image (Lanczos-3) by the scale
  /// factors of `policy`, the mask takes, for each output pixel, the source pixel under its
  /// centre at the same factors (nearest neighbour: labels are not averaged), and both are cut or
  /// padded about the centre, the image with `background`, the mask with 255. Without `size`
  /// both keep their size. A mask of another size than its image is an error naming `maskPath`.
  func prepare(path: String, mask: LabelMask, maskPath: String) throws -> (image: DecodedImage, mask: [UInt8])
  {
    try VipsLibrary.start()
    try checkDeclaredSize(path)
    var image = try VipsLibrary.image(path) { cvips_load_as_stored(path, &$0) }
    let (width, height) = (Int(vips_image_get_width(image)), Int(vips_image_get_height(image)))
    guard (mask.width, mask.height) == (width, height) else {
      cvips_unref(image)
      throw DatasetError.notADataset(
        path: maskPath, detail: "mask is \(mask.width)×\(mask.height), its image is \(width)×\(height)")
    }
    guard let size else { return (try finished(image, path, canvas: nil), mask.labels) }
    let (x, y) = (Double(size.width) / Double(width), Double(size.height) / Double(height))
    let scale = policy == .stretch ? (x, y) : policy == .pad ? (min(x, y), min(x, y)) : (max(x, y), max(x, y))
    do {
      image = try VipsLibrary.replace(image, path) { cvips_resize(image, &$0, scale.0, scale.1) }
    } catch {
      cvips_unref(image)
      throw error
    }
    let scaled = (width: Int(vips_image_get_width(image)), height: Int(vips_image_get_height(image)))
    let labels = Self.nearest(mask, scale: scale, to: scaled, canvas: size)
    return (try finished(image, path, canvas: size), labels)
  }

  /// `mask` resampled to `scaled` by the source pixel under each output pixel's centre, then
  /// centred in `canvas` as `cvips_embed_centre` centres the image (offsets truncated toward
  /// zero; negative ones cut), 255 around it.
  private static func nearest(
    _ mask: LabelMask, scale: (Double, Double), to scaled: (width: Int, height: Int), canvas: ImageSize
  ) -> [UInt8] {
    let source = { (position: Int, factor: Double, limit: Int) in
      min(limit - 1, Int(((Double(position) + 0.5) / factor).rounded(.down)))
    }
    let (left, top) = ((canvas.width - scaled.width) / 2, (canvas.height - scaled.height) / 2)
    var out = [UInt8](repeating: ShardFormat.ignoreLabel, count: canvas.width * canvas.height)
    for row in 0..<canvas.height where (0..<scaled.height).contains(row - top) {
      let sourceRow = source(row - top, scale.1, mask.height)
      for column in 0..<canvas.width where (0..<scaled.width).contains(column - left) {
        out[row * canvas.width + column] =
          mask.labels[sourceRow * mask.width + source(column - left, scale.0, mask.width)]
      }
    }
    return out
  }

  /// `image` (released) with alpha composited onto `background`, in 8 bits, and centred in
  /// `canvas` when given.
  private func finished(_ source: UnsafeMutablePointer<VipsImage>, _ path: String, canvas: ImageSize?) throws
    -> DecodedImage
  {
    var image = source
    defer { cvips_unref(image) }
    let colour = vips_image_get_bands(image) >= 3
    let backdrop =
      colour ? background.map { Double($0) } : [luma(background[0], background[1], background[2]).rounded()]
    if cvips_has_alpha(image) != 0 {
      image = try VipsLibrary.replace(image, path) {
        cvips_flatten(image, &$0, backdrop, Int32(backdrop.count))
      }
    }
    image = try VipsLibrary.replace(image, path) { cvips_to_8bit(image, &$0, colour ? 1 : 0) }
    if let canvas {
      image = try VipsLibrary.replace(image, path) {
        cvips_embed_centre(
          image, &$0, Int32(canvas.width), Int32(canvas.height), backdrop, Int32(backdrop.count))
      }
    }
    return try VipsLibrary.pixels(of: image, path: path)
  }

  /// Refuses an image whose header declares more than `maxPixels`, before decoding it.
  private func checkDeclaredSize(_ path: String) throws {
    guard let header = cvips_open(path) else { throw VipsLibrary.failure(path) }
    defer { cvips_unref(header) }
    let (width, height) = (Int(vips_image_get_width(header)), Int(vips_image_get_height(header)))
    guard width.multipliedReportingOverflow(by: height).partialValue <= maxPixels, width > 0, height > 0
    else {
      throw ImageError.tooLarge(path: path, width: width, height: height, limit: maxPixels)
    }
  }

}

/// An image size, `pack --image-size S` (square) or `HxW`.
public struct ImageSize: Sendable, Equatable, CustomStringConvertible {
  public let height: Int
  public let width: Int

  public init(height: Int, width: Int) {
    precondition(height > 0 && width > 0)
    (self.height, self.width) = (height, width)
  }

  /// Parses `S` or `HxW` (each 1 to 4096); `nil` otherwise.
  public init?(parsing text: String) {
    let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
    guard (1...2).contains(parts.count), parts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 4096 }) else {
      return nil
    }
    self.init(height: parts[0]!, width: parts.last!!)
  }

  public var description: String { "\(height)x\(width)" }
}

/// libvips started once per process, and the plumbing of its images and errors.
enum VipsLibrary {
  private static let started: Bool = cvips_init() == 0

  static func start() throws {
    guard started else { throw ImageError.undecodable(path: "libvips", reason: "it failed to start") }
  }

  /// The image `operation` writes, or the error libvips reports, naming `path`.
  static func image(_ path: String, _ operation: (inout UnsafeMutablePointer<VipsImage>?) -> Int32) throws
    -> UnsafeMutablePointer<VipsImage>
  {
    var output: UnsafeMutablePointer<VipsImage>?
    guard operation(&output) == 0, let output else { throw failure(path) }
    return output
  }

  /// `operation` applied to `image`, which is released when the operation succeeds (on an error
  /// it stays the caller's to release, once).
  static func replace(
    _ image: UnsafeMutablePointer<VipsImage>, _ path: String,
    _ operation: (inout UnsafeMutablePointer<VipsImage>?) -> Int32
  ) throws -> UnsafeMutablePointer<VipsImage> {
    let output = try self.image(path, operation)
    cvips_unref(image)
    return output
  }

  /// The decoded pixels, interleaved, 8-bit.
  static func pixels(of image: UnsafeMutablePointer<VipsImage>, path: String) throws -> DecodedImage {
    var size = 0
    guard let memory = vips_image_write_to_memory(image, &size) else { throw failure(path) }
    defer { g_free(memory) }
    let bytes = Array(UnsafeRawBufferPointer(start: memory, count: size).bindMemory(to: UInt8.self))
    return DecodedImage(
      width: Int(vips_image_get_width(image)), height: Int(vips_image_get_height(image)),
      channels: Int(vips_image_get_bands(image)), interleaved: bytes)
  }

  /// libvips's last error, for `path`; the error buffer is cleared.
  static func failure(_ path: String) -> ImageError {
    let message = String(cString: vips_error_buffer()).trimmingCharacters(in: .whitespacesAndNewlines)
    vips_error_clear()
    let reason = message.split(separator: "\n").last.map(String.init) ?? "libvips gave no reason"
    return .undecodable(path: path, reason: reason)
  }
}
