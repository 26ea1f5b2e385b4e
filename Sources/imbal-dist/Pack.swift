import ArgumentParser
import Foundation
import Training

extension SourceKind: ExpressibleByArgument {}

extension ImbalanceProfile: ExpressibleByArgument {
  public init?(argument: String) { try? self.init(parsing: argument) }
  public var defaultValueDescription: String { description }
}

struct Pack: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Pack a raw dataset into zstd shards and a manifest (docs/shard-format.md).",
    discussion: """
      Splits: a source without a validation split gives the last --val-per-class images of each \
      training class; an unsplit image folder is split by --split. The imbalance profile then \
      keeps the first n_c images of each training class: all of them with none; with exp:R or \
      step:F:… the profile's count relative to the largest class, or every image the class has \
      if it has fewer. Every split is cut into --shards \
      stratified shards. The output appears only when complete. A segmentation folder \
      (--source seg-folder: images/ and masks/ with the same names, masks palette or grey PNGs \
      of class indices, 255 = ignore, optional classes.txt) or a PASCAL VOC folder (--source voc: \
      train.txt split into train and val by --split's first two shares, val.txt the test split) \
      keeps every image; its splits and shards are stratified by all the classes of the masks \
      (iterative stratification), and each image's class for sampling is the rarest its mask \
      holds.
      """)

  @Option(help: "What to read: \(SourceKind.allCases.map(\.rawValue).joined(separator: ", ")).")
  var source: SourceKind = .fashionMNIST

  @Option(
    help:
      "The source's directory. (default: /usr/share/datasets/fashion-mnist for fashion-mnist and fashion-mnist-seg)"
  )
  var input: String?

  @Option(help: "The dataset directory to create.")
  var out: String

  @Option(help: "Shards per split; training needs at least one per rank.")
  var shards = 8

  @Option(
    help:
      "Imbalance profile for the training split: none (every image), exp:R or step:F:C1,C2,…; for fashion-mnist-seg the presence profile of its garment classes."
  )
  var imbalance: ImbalanceProfile = .none

  @Option(
    name: .customLong("val-per-class"),
    help: "Validation images per class, held out when the source has none.")
  var validationPerClass = 100

  @Option(
    help: "Train,val,test shares for an unsplit image or segmentation folder (voc: train,val of train.txt).")
  var split = "0.8,0.1,0.1"

  @Option(
    name: .customLong("zstd-level"),
    help: "zstd compression level (1–19; 1–3 are fast and compress nearly as well).")
  var zstdLevel = 3

  @Option(
    help:
      "How records store their pixels: raw (fastest to read), png (lossless) or jpeg (lossy, smallest); encoded records are decoded when drawn."
  )
  var encoding = RecordEncoding.raw

  @Option(name: .customLong("jpeg-quality"), help: "JPEG quality (1–100) of --encoding jpeg.")
  var jpegQuality = 90

  @Option(help: "Seed of the shuffle that splits an unsplit image folder or segmentation folder.")
  var seed: UInt64 = 0

  @Flag(help: "Replace an existing dataset directory.")
  var force = false

  @OptionGroup(
    title: "Images of a folder (--source folder, seg-folder or voc: a mask is resized with its image)")
  var images: ImageArguments

  private var ratios: [Double]? {
    let parts = split.split(separator: ",").map { Double($0) }
    guard parts.count == 3, parts.allSatisfy({ ($0 ?? -1) >= 0 && $0!.isFinite }),
      parts.map({ $0! }).reduce(0, +) > 0
    else {
      return nil
    }
    return parts.map { $0! }
  }

  func validate() throws {
    guard input != nil || source.defaultInput != nil else {
      throw ValidationError("--source \(source.rawValue) needs --input PATH")
    }
    guard shards >= 1 && shards <= 99_999 else {
      throw ValidationError("--shards must be in 1…99999 (got \(shards))")
    }
    guard validationPerClass >= 0 else { throw ValidationError("--val-per-class must be non-negative") }
    guard (1...19).contains(zstdLevel) else {
      throw ValidationError("--zstd-level must be in 1…19 (got \(zstdLevel))")
    }
    guard (1...100).contains(jpegQuality) else {
      throw ValidationError("--jpeg-quality must be in 1…100 (got \(jpegQuality))")
    }
    guard ratios != nil else {
      throw ValidationError("--split must be three non-negative shares, e.g. 0.8,0.1,0.1")
    }
    if [.segFolder, .voc].contains(source) && imbalance != .none {
      throw ValidationError(
        "--imbalance: a segmentation dataset (--source \(source.rawValue)) keeps every image")
    }
    if !source.preparesImages && images.preparation != ImagePreparation() {
      throw ValidationError(
        "--image-size, --resize, --channels, --background and --max-image-pixels apply to --source folder, seg-folder and voc"
      )
    }
  }

  func run() throws {
    var options = PackOptions()
    options.source = source
    options.input = input ?? source.defaultInput!
    options.output = out
    options.shards = shards
    options.profile = imbalance
    options.validationPerClass = validationPerClass
    options.splitRatios = ratios!
    options.zstdLevel = zstdLevel
    options.encoding = encoding
    options.jpegQuality = jpegQuality
    options.seed = seed
    options.force = force
    options.preparation = images.preparation
    try reportingErrors {
      let report = try Packer.pack(options)
      let splits = report.manifest.splits
      if splits.val.count == 0 {
        Console.warning(
          "\(out): the validation split is empty (--val-per-class 0, or no validation share in --split); train will keep the last epoch as best.safetensors"
        )
      }
      let megabytes = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1e6) }
      print(
        "packed \(options.input) into \(out): train \(splits.train.count), val \(splits.val.count), "
          + "test \(splits.test.count) images, \(shards) shards per split")
      print(
        "\(megabytes(report.rawBytes)) raw → \(megabytes(report.shardBytes)) "
          + "(ratio \(String(format: "%.2f", Double(report.rawBytes) / Double(report.shardBytes)))), "
          + "\(encoding == .jpeg ? "jpeg quality \(jpegQuality)" : encoding.rawValue) records at zstd level \(zstdLevel), \(String(format: "%.0f", Double(report.rawBytes) / report.seconds / 1e6)) MB/s"
      )
    }
  }
}

extension ResizePolicy: ExpressibleByArgument {}
extension RecordEncoding: ExpressibleByArgument {}

extension ImageSize: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
}

/// The options of `ImagePreparation`: what `pack` does to each image of a folder.
struct ImageArguments: ParsableArguments {
  @Option(
    name: .customLong("image-size"),
    help:
      "Resize every image to S×S or H×W (e.g. 32, 64x48) by --resize. (default: keep the size, which every image must share)"
  )
  var imageSize: ImageSize?

  @Option(
    help:
      "How --image-size is reached: shorter-crop (scale to cover, cut the centre, as Resize + CenterCrop), pad (scale to fit, centre on --background) or stretch."
  )
  var resize: ResizePolicy = .shorterCrop

  @Option(help: "Channels of the dataset: 1 (grey, BT.601 luma) or 3 (RGB). (default: the first image's)")
  var channels: Int?

  @Option(help: "R,G,B (0–255) behind transparent pixels and around --resize pad images.")
  var background = "255,255,255"

  @Option(
    name: .customLong("max-image-pixels"),
    help: "Refuse an image whose header declares more pixels than this, before decoding it.")
  var maxImagePixels = ImagePreparation().maxPixels

  func validate() throws {
    if let channels, ![1, 3].contains(channels) {
      throw ValidationError("--channels must be 1 or 3 (got \(channels))")
    }
    guard backgroundColour != nil else {
      throw ValidationError("--background must be three values 0–255, e.g. 255,255,255 (got \(background))")
    }
    guard maxImagePixels >= 1 else { throw ValidationError("--max-image-pixels must be at least 1") }
  }

  private var backgroundColour: [UInt8]? {
    let parts = background.split(separator: ",").map { UInt8($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else { return nil }
    return parts.map { $0! }
  }

  var preparation: ImagePreparation {
    var preparation = ImagePreparation()
    preparation.size = imageSize
    preparation.policy = resize
    preparation.channels = channels
    preparation.background = backgroundColour ?? preparation.background
    preparation.maxPixels = maxImagePixels
    return preparation
  }
}
