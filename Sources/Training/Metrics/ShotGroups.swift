import Model

/// Many-, medium- and few-shot accuracy, as long-tail papers report it (Liu et al., OLTR, CVPR
/// 2019; Kang et al., ICLR 2020): classes grouped by their training images — many-shot above
/// `manyAbove`, few-shot below `fewBelow`, medium-shot the rest — and each group's accuracy
/// the mean recall of its classes (`nil` for a group without classes).
public struct ShotGroups: Codable, Sendable, Equatable {
  public struct Group: Codable, Sendable, Equatable {
    /// The classes of the group, by index.
    public var classes: [Int]
    public var accuracy: Double?
  }

  public var manyAbove: Int
  public var fewBelow: Int
  public var many: Group
  public var medium: Group
  public var few: Group

  public init(recall: [Double], trainCounts: [Int], manyAbove: Int, fewBelow: Int) {
    precondition(recall.count == trainCounts.count, "one recall per class")
    func group(_ member: (Int) -> Bool) -> Group {
      let classes = trainCounts.indices.filter { member(trainCounts[$0]) }
      let accuracy = classes.isEmpty ? nil : classes.map { recall[$0] }.reduce(0, +) / Double(classes.count)
      return Group(classes: classes, accuracy: accuracy)
    }
    (self.manyAbove, self.fewBelow) = (manyAbove, fewBelow)
    many = group { $0 > manyAbove }
    few = group { $0 < fewBelow }
    medium = group { $0 >= fewBelow && $0 <= manyAbove }
  }

  /// `many 0.9012 (8 classes)  medium 0.6120 (2)  few – (0)`, with the thresholds.
  public var summary: String {
    func text(_ group: Group) -> String {
      "\(group.accuracy.map { fixed($0, 4) } ?? "–") (\(group.classes.count))"
    }
    return
      "shot groups by training images (many > \(manyAbove), few < \(fewBelow)): many \(text(many))  "
      + "medium \(text(medium))  few \(text(few))"
  }
}
