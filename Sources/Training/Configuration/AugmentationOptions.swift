import Loader

/// `--augment`: the presets of the field's recipes.
public enum AugmentPreset: String, CaseIterable, Codable, Sendable {
  /// Every image as packed.
  case none
  /// Pad by ⅛ of the side (4 at 32 px) and crop back, and flip horizontally: every CIFAR-LT paper.
  case standard
  /// `standard`, Cutout of half the side (16 at 32 px, DeVries & Taylor 2017) and colour jitter of
  /// 0.4 in brightness, contrast and saturation.
  case strong
}

/// The training split's augmentation: a preset, and options that override its parts.
public struct AugmentationOptions: Sendable, Equatable {
  public var preset = AugmentPreset.none
  public var cropPadding: Int?
  public var flip: Bool?
  public var cutout: Int?
  public var brightness: Double?
  public var contrast: Double?
  public var saturation: Double?
  /// A random-resized crop's area share and aspect ratio; it replaces the padded crop.
  public var resizedCropScale: ValueRange?
  public var resizedCropRatio: ValueRange?
  /// Mixed-sample augmentation of each batch (mixup, CutMix, Remix).
  public var mixing = Mixing()
  /// Segmentation's copy-paste of rare-class objects between images of a shard.
  public var copyPaste = CopyPaste()
  public init() {}

  /// The augmentation of `height`×`width` images.
  public func resolved(height: Int, width: Int) -> Augmentation {
    let side = min(height, width)
    var augmentation = Augmentation()
    if preset != .none {
      augmentation.cropPadding = max(1, Int((Double(side) / 8).rounded()))
      augmentation.horizontalFlip = true
    }
    if preset == .strong {
      augmentation.cutout = side / 2
      (augmentation.brightness, augmentation.contrast, augmentation.saturation) = (0.4, 0.4, 0.4)
    }
    augmentation.cropPadding = cropPadding ?? augmentation.cropPadding
    augmentation.horizontalFlip = flip ?? augmentation.horizontalFlip
    augmentation.cutout = cutout ?? augmentation.cutout
    augmentation.brightness = brightness ?? augmentation.brightness
    augmentation.contrast = contrast ?? augmentation.contrast
    augmentation.saturation = saturation ?? augmentation.saturation
    if let resizedCropScale {
      augmentation.resizedCropScale = resizedCropScale.closedRange
      augmentation.resizedCropRatio = resizedCropRatio?.closedRange ?? augmentation.resizedCropRatio
      augmentation.cropPadding = 0
    }
    return augmentation
  }
}
