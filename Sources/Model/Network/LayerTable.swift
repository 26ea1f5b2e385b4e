extension Network {
  /// The table `--describe` prints: every node with its part, kind, output shape, parameters
  /// and multiply–adds per image, then the totals (the counts are the arena's own).
  public func layerTable() -> String {
    var rows = [["node", "part", "kind", "output", "params", "MFLOPs"]]
    for (index, node) in nodes.enumerated() {
      let kind: String
      let flops: Int
      switch node.operation {
      case .layer(let layer):
        kind = String(describing: type(of: layer))
        flops = layer.forwardFLOPs(for: inputShape(of: index))
      case .merge(let merge):
        kind = String(describing: type(of: merge))
        flops = 0
      }
      let shape = node.shape
      rows.append([
        node.operation.name, node.part.description, kind, "\(shape.channels)×\(shape.height)×\(shape.width)",
        "\(parameterCount(ofNode: index))", fixedPoint(Double(flops) / 1e6),
      ])
    }
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
    var lines = rows.map { row in
      row.enumerated().map { column, cell in
        let padding = String(repeating: " ", count: widths[column] - cell.count)
        return column >= 4 ? padding + cell : cell + padding
      }.joined(separator: "  ")
    }
    lines.insert(String(repeating: "-", count: lines[0].count), at: 1)
    let byPart = ModelPart.allCases.compactMap { part in
      partRanges[part].map { "\(part) \($0.count)" }
    }.joined(separator: ", ")
    lines.append("parameters: \(layout.count) (\(byPart)); buffers: \(bufferLayout.count)")
    var cost = "multiply-adds per image: \(fixedPoint(Double(forwardFLOPsPerImage()) / 1e6)) M to the logits"
    if hasDecoder {
      cost +=
        ", \(fixedPoint(Double(forwardFLOPsPerImage(for: [.logits, .reconstruction])) / 1e6)) M with the decoder"
    }
    lines.append(cost)
    return lines.joined(separator: "\n")
  }
}

/// `x` with three decimals.
private func fixedPoint(_ x: Double) -> String {
  let scaled = Int((x * 1000).rounded())
  let fraction = String(abs(scaled) % 1000)
  return "\(scaled / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}
