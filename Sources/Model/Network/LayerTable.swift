extension Network {
  /// The table `--describe` prints: every node with its part, kind, output shape, parameters
  /// and multiply–adds per image, then the totals (the counts are the arena's own).
  public func layerTable() -> String {
    var rows = [["node", "part", "kind", "output", "params", "M mult-adds"]]
    for (index, node) in nodes.enumerated() {
      let kind: String
      let flops: Int
      switch node.operation {
      case .layer(let layer):
        kind = layer.kind
        flops = layer.forwardFLOPs(for: inputShape(of: index))
      case .merge(let merge):
        kind = merge.kind
        flops = 0
      }
      let shape = node.shape
      rows.append([
        node.operation.name, node.part.description, kind, "\(shape.channels)×\(shape.height)×\(shape.width)",
        "\(parameterCount(ofNode: index))", fixed(Double(flops) / 1e6, 3),
      ])
    }
    var lines = textTable(rows, numericFrom: 4)
    let byPart = ModelPart.allCases.compactMap { part in
      partRanges[part].map { "\(part) \($0.count)" }
    }.joined(separator: ", ")
    lines.append("parameters: \(layout.count) (\(byPart)); buffers: \(bufferLayout.count)")
    var cost =
      "multiply-adds per image: \(fixed(Double(forwardFLOPsPerImage()) / 1e6, 3)) M to the \(prediction == .logits ? "logits" : "class maps")"
    if hasDecoder {
      cost +=
        ", \(fixed(Double(forwardFLOPsPerImage(for: [.logits, .reconstruction])) / 1e6, 3)) M with the decoder"
    }
    lines.append(cost)
    return lines.joined(separator: "\n")
  }
}
