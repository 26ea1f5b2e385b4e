/// What a raw source yields before packing: a training pool, a validation split if the source
/// has one, and a test split.
public struct SourceData: Sendable {
  public var train: LabeledImages
  public var validation: LabeledImages?
  public var test: LabeledImages

  public init(train: LabeledImages, validation: LabeledImages?, test: LabeledImages) {
    self.train = train
    self.validation = validation
    self.test = test
  }
}

/// The raw sources `imbal-dist pack --source` reads.
public enum SourceKind: String, CaseIterable, Sendable {
  /// Debian's `dataset-fashion-mnist` IDX files (default input `/usr/share/datasets/fashion-mnist`).
  case fashionMNIST = "fashion-mnist"
  /// Any MNIST-style directory: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
  /// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each raw or `.gz`; classes named 0…K−1.
  case idx
  /// The CIFAR-10 binary version (`data_batch_1.bin`…`data_batch_5.bin`, `test_batch.bin`,
  /// `batches.meta.txt`).
  case cifar10
  /// The CIFAR-100 binary version (`train.bin`, `test.bin`, `fine_label_names.txt`), fine labels.
  case cifar100
  /// A torchvision ImageFolder tree of images (PNG, JPEG, WebP, TIFF, … through libvips), split
  /// (`train/`, `valid/`, `test/`) or not, each image prepared by an `ImagePreparation`.
  case folder
  /// Images and their label masks (`images/`, `masks/`, optionally under `train/`, `val/`,
  /// `test/`): a segmentation dataset (`SegmentationFolder`).
  case segFolder = "seg-folder"
  /// PASCAL VOC's segmentation layout (`VOCSegmentation`).
  case voc
  /// The default segmentation benchmark, garments pasted on canvases, made from Debian's
  /// Fashion-MNIST (`FashionMNISTSegmentation`); `--imbalance` is its classes' presence profile.
  case fashionMNISTSegmentation = "fashion-mnist-seg"

  /// Whether its images go through an `ImagePreparation` (decoded files: `pack --image-size`
  /// and the other image options apply, and the manifest records the preparation).
  public var preparesImages: Bool { [.folder, .segFolder, .voc].contains(self) }

  /// The input used when `--input` is not given.
  public var defaultInput: String? {
    [.fashionMNIST, .fashionMNISTSegmentation].contains(self) ? FashionMNIST.defaultDirectory : nil
  }

  /// Reads the source at `input`. `ratios` and `seed` split an unsplit image folder, whose
  /// images `preparation` decodes, resizes and converts; `profile` is the presence profile of
  /// the generated segmentation benchmark (other sources apply theirs after loading).
  public func load(
    input: String, ratios: [Double], seed: UInt64, preparation: ImagePreparation = ImagePreparation(),
    profile: ImbalanceProfile = .none
  ) throws -> SourceData {
    switch self {
    case .fashionMNIST:
      return try IDXDirectory.load(directory: input, classNames: FashionMNIST.classNames)
    case .idx:
      return try IDXDirectory.load(directory: input, classNames: nil)
    case .cifar10:
      return try CIFAR.load(directory: input, variant: .cifar10)
    case .cifar100:
      return try CIFAR.load(directory: input, variant: .cifar100)
    case .folder:
      return try ImageFolder.load(root: input, ratios: ratios, seed: seed, preparation: preparation)
    case .segFolder:
      return try SegmentationFolder.load(root: input, ratios: ratios, seed: seed, preparation: preparation)
    case .voc:
      return try VOCSegmentation.load(root: input, ratios: ratios, seed: seed, preparation: preparation)
    case .fashionMNISTSegmentation:
      return try FashionMNISTSegmentation.load(directory: input, profile: profile, seed: seed)
    }
  }
}
