/// The three splits a dataset is packed into, built deterministically from a source: the
/// validation split is held out of the training pool when the source has none (the *last*
/// `validationPerClass` images of each class, in file order), then the imbalance profile keeps
/// the *first* `n_c` images of each training class (`ImbalanceProfile.kept(available:)`:
/// every image with `none`; a profile's targets from the largest class, capped by each class's
/// own count). A segmentation source (masks) brings its three splits and keeps every image.
public struct DatasetSplits: Sendable {
  public let train: LabeledImages
  public let validation: LabeledImages
  public let test: LabeledImages

  public init(source: SourceData, validationPerClass: Int, profile: ImbalanceProfile) throws {
    var pool = source.train
    if pool.masks != nil, let validation = source.validation {
      guard profile == .none else {
        throw ProfileError(
          text: profile.description, reason: "a segmentation dataset keeps every image (--imbalance none)")
      }
      (train, self.validation, test) = (pool, validation, source.test)
      try Self.checkTest(test)
      return
    }
    try profile.check(classes: pool.classCount)
    if let validation = source.validation {
      self.validation = validation
    } else {
      precondition(validationPerClass >= 0)
      let byClass = pool.indicesByClass
      for (c, indices) in byClass.enumerated() where indices.count <= validationPerClass {
        throw DatasetError.emptyClass(
          className: pool.classNames[c],
          detail:
            "left for training after holding out \(validationPerClass) for validation (it has \(indices.count))"
        )
      }
      validation = pool.subset(byClass.flatMap { $0.suffix(validationPerClass) }.sorted())
      pool = pool.subset(byClass.flatMap { $0.dropLast(validationPerClass) }.sorted())
    }
    let byClass = pool.indicesByClass
    if let empty = byClass.firstIndex(where: \.isEmpty) {
      throw DatasetError.emptyClass(className: pool.classNames[empty], detail: "in the training split")
    }
    let kept = profile.kept(available: byClass.map(\.count))
    if let c = kept.firstIndex(of: 0) {
      throw DatasetError.emptyClass(
        className: pool.classNames[c], detail: "after applying the imbalance profile \(profile)")
    }
    // Back into file order, so that no class arrives as one block.
    train = pool.subset(zip(byClass, kept).flatMap { $0.prefix($1) }.sorted())
    test = source.test
    try Self.checkTest(test)
  }

  private static func checkTest(_ test: LabeledImages) throws {
    guard test.count > 0 else {
      throw DatasetError.emptySplit(
        split: "test",
        detail: "a dataset needs test images, for train's final report (give --split a test share)")
    }
  }
}
