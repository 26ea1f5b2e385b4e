/// A long-tailed training set, a balanced validation set held out of the same source, and
/// the untouched test set: the standard way to build e.g. Fashion-MNIST-LT or CIFAR-10-LT.
public struct LongTailBenchmark: Sendable {
  public let train: LabeledImages
  public let validation: LabeledImages
  public let test: LabeledImages

  /// Holds out the *last* `validationPerClass` images of each class (in file order) as the
  /// validation set, then keeps the *first* `n_c` of the rest, with `n_c` from `profile` and
  /// `n_max` the smallest number of images any class has left. Deterministic: no randomness.
  public init(
    source: LabeledImages, test: LabeledImages, validationPerClass: Int, profile: ImbalanceProfile
  ) throws {
    precondition(validationPerClass >= 0)
    let byClass = source.indicesByClass
    for (c, indices) in byClass.enumerated() where indices.count <= validationPerClass {
      throw DatasetError.emptyClass(
        className: source.classNames[c],
        detail:
          "left for training after holding out \(validationPerClass) for validation (it has \(indices.count))"
      )
    }
    let maxCount = byClass.map { $0.count - validationPerClass }.min() ?? 0
    let kept = profile.counts(maxCount: maxCount, classes: source.classCount)
    if let c = kept.firstIndex(of: 0) {
      throw DatasetError.emptyClass(
        className: source.classNames[c], detail: "after applying the imbalance profile \(profile)")
    }
    var trainIndices: [Int] = []
    var validationIndices: [Int] = []
    for (c, indices) in byClass.enumerated() {
      let split = indices.count - validationPerClass
      trainIndices += indices[0..<kept[c]]
      validationIndices += indices[split...]
    }
    // Back into file order, so that no class arrives as one block.
    train = source.subset(trainIndices.sorted())
    validation = source.subset(validationIndices.sorted())
    self.test = test
  }
}
