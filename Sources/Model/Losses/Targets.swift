/// What each image of a batch is trained towards: its class `a_i`, or for a mixed image
/// (mixup, CutMix, Remix) two classes with weights `λ_i` and `1 − λ_i`, trained as
/// `λ_i ℓ(z_i, a_i) + (1 − λ_i) ℓ(z_i, b_i)` (Zhang et al., ICLR 2018, eq. 1 and its code).
public struct Targets: Sendable, Equatable {
  public var labels: [Int32]
  /// `b_i`, the partner image's class; `nil` when no image is mixed.
  public var partners: [Int32]?
  /// `λ_i`, the weight of `labels[i]`.
  public var weights: [Float]?
  /// Segmentation: every pixel's class, image by image and row by row (255: ignored).
  public var masks: [UInt8]?

  public init(labels: [Int32], partners: [Int32]? = nil, weights: [Float]? = nil, masks: [UInt8]? = nil) {
    precondition(
      (partners == nil) == (weights == nil) && (partners?.count ?? labels.count) == labels.count
        && (weights?.count ?? labels.count) == labels.count, "partners and weights go together, one per image"
    )
    precondition(masks == nil || partners == nil, "masked images are not mixed")
    (self.labels, self.partners, self.weights, self.masks) = (labels, partners, weights, masks)
  }

  /// Each image's class of larger weight (its own class on a tie): what training accuracy counts.
  public var dominantLabels: [Int32] {
    guard let partners, let weights else { return labels }
    return labels.indices.map { weights[$0] >= 0.5 ? labels[$0] : partners[$0] }
  }
}
