/// What a manifest must say before anything is planned from it: every number that cannot be
/// true (a negative or overflowing count, counts that do not add up, a standard deviation
/// that is not positive, statistics of the wrong length), shard files named twice or outside
/// the dataset directory. Checked when a manifest is read, so that a hand-edited or damaged
/// manifest is one clear error rather than a crash later.
extension Manifest {
  /// The first thing wrong, naming the field as it is spelled in the file; `nil` if none.
  func problem() -> String? {
    let classes = classNames.count
    guard (1...4).contains(image.channels), image.height >= 1, image.width >= 1,
      image.height <= 1 << 16, image.width <= 1 << 16
    else {
      return
        "image is \(image.channels)×\(image.height)×\(image.width): channels must be 1 to 4 and each side 1 to 65536"
    }
    guard classes >= 1, Set(classNames).count == classes else {
      return "class_names must name at least one class, each once"
    }
    let statistics = normalization.mean + normalization.std
    guard normalization.mean.count == image.channels, normalization.std.count == image.channels,
      statistics.allSatisfy(\.isFinite), normalization.std.allSatisfy({ $0 > 0 })
    else {
      return
        "normalization needs a finite mean and a positive std for each of the \(image.channels) channel(s), "
        + "it has mean \(normalization.mean) and std \(normalization.std)"
    }
    if let preparation {
      guard preparation.background.count == 3,
        preparation.imageSize.map({ ImageSize(parsing: $0) != nil }) ?? true
      else {
        return "preparation needs an image_size of HxW (or none) and a background of 3 values"
      }
    }
    var files = Set<String>()
    for name in SplitName.allCases {
      let split = self.split(name)
      if let problem = Self.problem(of: split, named: name.rawValue, classes: classes) { return problem }
      guard split.shards.count == splits.train.shards.count else {
        return
          "splits.\(name).shards has \(split.shards.count) shards, splits.train.shards \(splits.train.shards.count)"
      }
      for shard in split.shards {
        guard !shard.file.isEmpty, !shard.file.contains("/"), shard.file != ".", shard.file != ".." else {
          return
            "splits.\(name).shards names the file \"\(shard.file)\", which is not in the dataset directory"
        }
        guard files.insert(shard.file).inserted else {
          return "the shard file \(shard.file) is named twice"
        }
      }
    }
    return nil
  }

  /// Counts that are negative, overflow or do not add up within one split.
  private static func problem(of split: Split, named name: String, classes: Int) -> String? {
    let field = "splits.\(name)"
    guard split.classCounts.count == classes, split.shards.allSatisfy({ $0.classCounts.count == classes })
    else {
      return "\(field) needs \(classes) class counts (one per class name) for the split and each shard"
    }
    let counts =
      [split.count] + split.classCounts + split.shards.flatMap { [$0.count, $0.bytes] + $0.classCounts }
    guard counts.allSatisfy({ $0 >= 0 }) else { return "\(field) holds a negative count" }
    guard let total = checkedSum(split.classCounts), total == split.count else {
      return "\(field).class_counts do not add up to its count \(split.count)"
    }
    for (index, shard) in split.shards.enumerated() {
      guard checkedSum(shard.classCounts) == shard.count else {
        return "\(field).shards[\(index)].class_counts do not add up to its count \(shard.count)"
      }
    }
    for c in 0..<classes {
      guard checkedSum(split.shards.map { $0.classCounts[c] }) == split.classCounts[c] else {
        return "\(field): the shards' counts of class \(c) do not add up to its class_counts"
      }
    }
    return nil
  }

  /// The sum, or `nil` when it overflows.
  private static func checkedSum(_ values: [Int]) -> Int? {
    var total = 0
    for value in values {
      let (sum, overflow) = total.addingReportingOverflow(value)
      if overflow { return nil }
      total = sum
    }
    return total
  }
}
