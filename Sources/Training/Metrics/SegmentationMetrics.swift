/// The segmentation metrics of a pixel confusion matrix (ignored pixels never enter it), as VOC
/// and mmsegmentation report them: per class IoU = TP / (TP + FP + FN) and Dice = 2TP / (2TP +
/// FP + FN), none for a class in neither the ground truth nor the predictions; mIoU the mean of
/// the IoUs there are; pixel accuracy ΣTP / Σ; frequency-weighted IoU Σ_k (ground-truth pixels
/// of k / all) · IoU_k (Long, Shelhamer and Darrell, CVPR 2015).
public struct SegmentationMetrics: Codable, Sendable, Equatable {
  enum CodingKeys: String, CodingKey {
    case iou, dice
    case meanIoU = "miou"
    case pixelAccuracy
    case frequencyWeightedIoU = "fwiou"
  }

  public let iou: [Double?]
  public let dice: [Double?]
  public let meanIoU: Double
  public let pixelAccuracy: Double
  public let frequencyWeightedIoU: Double

  public init(_ matrix: ConfusionMatrix) {
    let classes = 0..<matrix.classes
    let union = classes.map { matrix.support[$0] + matrix.predicted[$0] - matrix.diagonal[$0] }
    let iou = classes.map { union[$0] == 0 ? nil : Double(matrix.diagonal[$0]) / Double(union[$0]) }
    self.iou = iou
    dice = classes.map {
      union[$0] == 0
        ? nil : 2 * Double(matrix.diagonal[$0]) / Double(matrix.support[$0] + matrix.predicted[$0])
    }
    let present = iou.compactMap { $0 }
    meanIoU = present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
    let total = Double(max(matrix.total, 1))
    pixelAccuracy = Double(matrix.correct) / total
    frequencyWeightedIoU = classes.reduce(0) { $0 + Double(matrix.support[$1]) / total * (iou[$1] ?? 0) }
  }
}
