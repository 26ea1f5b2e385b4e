extension Network {
  /// The nodes the logits need, in order, as plain JSON values: name, type (the Swift class,
  /// named after its PyTorch counterpart), the names of its inputs (`input` for the image), its
  /// output shape (C, H, W), its `settings`, and its parameter and buffer tensors with their
  /// checkpoint names and shapes. What `export` writes so that a model can be rebuilt elsewhere.
  public func layerList() -> [[String: Any]] {
    let needed = neededNodes([prediction])
    return nodes.indices.filter { needed[$0] }.map { index in
      let node = nodes[index]
      var entry: [String: Any] = [
        "name": node.operation.name,
        "inputs": node.inputs.map { $0 < 0 ? "input" : nodes[$0].operation.name },
        "output": [node.shape.channels, node.shape.height, node.shape.width],
      ]
      switch node.operation {
      case .layer(let layer):
        entry["type"] = String(describing: type(of: layer))
        entry["settings"] = layer.settings
        entry["parameters"] = tensors(layer.parameterSpecs, of: layer.name)
        entry["buffers"] = tensors(layer.bufferSpecs, of: layer.name)
      case .merge(let merge):
        entry["type"] = String(describing: type(of: merge))
        entry["settings"] = merge.settings
      }
      return entry
    }
  }

  private func tensors(_ specs: [ParameterSpec], of layer: String) -> [[String: Any]] {
    specs.map { ["name": "\(layer).\($0.name)", "shape": $0.shape] }
  }
}
