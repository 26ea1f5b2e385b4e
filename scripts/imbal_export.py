"""Runs a model written by `imbal-dist export` outside imbal-dist, from the file alone: its
metadata's `preprocessing` (pixels / 255, then per-channel mean and std) and `layers` (every
node with its type, inputs, settings and tensor names) rebuild the network in NumPy or in
PyTorch. Also reads a packed dataset's split from its shards (docs/shard-format.md), so
that the rebuilt model can be checked against `imbal-dist evaluate --model`.

    python scripts/imbal_export.py check MODEL DATASET [--split test] [--torch]
        prints {"images", "accuracy", "predictions", "labels"} as JSON (a class per image)

    from imbal_export import torch_classifier
    model, preprocess, class_names = torch_classifier("model.safetensors")
    logits = model(preprocess(uint8_images))      # uint8 array or tensor (N, C, H, W)
"""

import argparse
import json
import os
import struct

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def read_export(path):
    """(layers, preprocessing, class names, tensors as float32 NumPy arrays)."""
    with safe_open(path, "np") as file:
        metadata = file.metadata()
    if metadata.get("format") != "imbal-dist-classifier/1":
        raise SystemExit("%s: not a file from `imbal-dist export`" % path)
    return (json.loads(metadata["layers"]), json.loads(metadata["preprocessing"]),
            json.loads(metadata["class_names"]), load_file(path))


def normalised(pixels, preprocessing):
    """uint8 (N, C, H, W) to the network's input: (pixel / scale - mean[c]) / std[c]."""
    mean = np.array(preprocessing["mean"], np.float32)[None, :, None, None]
    std = np.array(preprocessing["std"], np.float32)[None, :, None, None]
    return (pixels.astype(np.float32) / preprocessing["scale"] - mean) / std


# NumPy: each layer type of the list as a function of its inputs, settings and tensors.

def activate(x, name):
    if name == "none":
        return x
    x = np.maximum(x, 0)
    return np.minimum(x, float(name[4:])) if name != "relu" else x


def windows(x, kernel, stride, padding):
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    view = np.lib.stride_tricks.sliding_window_view(padded, (kernel, kernel), axis=(2, 3))
    return view[:, :, ::stride, ::stride]  # (N, C, Ho, Wo, k, k)


def conv(x, s, weight, bias=None, groups=1):
    patches = windows(x, s["kernel_size"], s["stride"], s["padding"])
    if groups == 1:
        n, c, ho, wo, k, _ = patches.shape
        columns = patches.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
        y = (columns @ weight.reshape(weight.shape[0], -1).T).reshape(n, ho, wo, -1).transpose(0, 3, 1, 2)
    else:
        y = np.einsum("nchwij,cij->nchw", patches, weight[:, 0])
    return y + bias[None, :, None, None] if bias is not None else y


def numpy_layer(kind, s, ins, t):
    x = ins[0]
    if kind == "Conv2D":
        return activate(conv(x, s, t["weight"], t.get("bias")), s["activation"])
    if kind == "DepthwiseConv2D":
        return conv(x, s, t["weight"], t.get("bias"), groups=s["groups"])
    if kind == "BatchNorm2D":
        scale = t["weight"] / np.sqrt(t["running_var"] + s["eps"])
        y = (x - t["running_mean"][None, :, None, None]) * scale[None, :, None, None] + t["bias"][None, :, None, None]
        return activate(y, s["activation"])
    if kind == "ReLU":
        return activate(x, s["activation"])
    if kind == "MaxPool2D":
        return windows(x, s["kernel_size"], s["stride"], 0).max(axis=(4, 5))
    if kind == "AvgPool2D":
        return windows(x, s["kernel_size"], s["stride"], 0).mean(axis=(4, 5))
    if kind == "GlobalAvgPool":
        return x.mean(axis=(2, 3), keepdims=True)
    if kind == "Dense":
        return (x.reshape(len(x), -1) @ t["weight"].T + t["bias"])[:, :, None, None]
    if kind == "CosineDense":
        flat = x.reshape(len(x), -1)
        flat = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
        rows = t["weight"] / np.maximum(np.linalg.norm(t["weight"], axis=1, keepdims=True), 1e-12)
        return (flat @ rows.T)[:, :, None, None]
    if kind == "IdentityShortcut":
        y = x[:, :, ::s["stride"], ::s["stride"]]
        return np.pad(y, ((0, 0), (0, s["out_channels"] - y.shape[1]), (0, 0), (0, 0)))
    if kind == "Dropout":
        return x
    if kind == "Add":
        return activate(ins[0] + ins[1], s.get("activation", "none"))
    if kind == "Concat":
        return np.concatenate(ins, axis=1)
    raise SystemExit("layer type %s is not known to this script" % kind)


def numpy_logits(layers, tensors, x):
    values = {"input": x}
    for layer in layers:
        own = {spec["name"][len(layer["name"]) + 1:]: tensors[spec["name"]]
               for spec in layer.get("parameters", []) + layer.get("buffers", [])}
        values[layer["name"]] = numpy_layer(
            layer["type"], layer["settings"], [values[name] for name in layer["inputs"]], own)
    return values[layers[-1]["name"]].reshape(len(x), -1)


# PyTorch: the same list as torch.nn modules with the file's tensors loaded into them.

def torch_classifier(path):
    """(model in eval mode, preprocess: uint8 (N, C, H, W) -> float tensor, class names)."""
    import torch
    from torch import nn
    import torch.nn.functional as functional

    layers, preprocessing, class_names, arrays = read_export(path)
    tensors = {name: torch.from_numpy(array) for name, array in arrays.items()}

    def activation(name):
        return {"none": nn.Identity(), "relu": nn.ReLU()}.get(name) or nn.Hardtanh(0, float(name[4:]))

    class Shortcut(nn.Module):
        def __init__(self, s):
            super().__init__()
            self.stride, self.channels = s["stride"], s["out_channels"]

        def forward(self, x):
            y = x[:, :, ::self.stride, ::self.stride]
            return functional.pad(y, (0, 0, 0, 0, 0, self.channels - y.shape[1]))

    class Cosine(nn.Linear):
        def forward(self, x):
            return functional.linear(functional.normalize(x, dim=1), functional.normalize(self.weight, dim=1))

    def module(kind, s):
        if kind in ("Conv2D", "DepthwiseConv2D"):
            conv = nn.Conv2d(s["in_channels"], s["out_channels"], s["kernel_size"], s["stride"], s["padding"],
                             groups=s.get("groups", 1), bias=s["bias"])
            return nn.Sequential(conv, activation(s.get("activation", "none")))
        if kind == "BatchNorm2D":
            return nn.Sequential(nn.BatchNorm2d(s["num_features"], s["eps"], s["momentum"]), activation(s["activation"]))
        if kind == "ReLU":
            return activation(s["activation"])
        if kind == "Add":  # the sum is taken in forward; this is the activation fused after it
            return activation(s.get("activation", "none"))
        if kind == "MaxPool2D":
            return nn.MaxPool2d(s["kernel_size"], s["stride"])
        if kind == "AvgPool2D":
            return nn.AvgPool2d(s["kernel_size"], s["stride"])
        if kind == "GlobalAvgPool":
            return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        if kind == "Dense":
            return nn.Sequential(nn.Flatten(), nn.Linear(s["in_features"], s["out_features"]))
        if kind == "CosineDense":
            return nn.Sequential(nn.Flatten(), Cosine(s["in_features"], s["out_features"], bias=False))
        if kind == "IdentityShortcut":
            return Shortcut(s)
        if kind == "Dropout":
            return nn.Dropout(s["p"])
        raise SystemExit("layer type %s is not known to this script" % kind)

    def key(layer):
        return layer["name"].replace(".", "/")

    class Rebuilt(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = layers
            # Module names may not hold dots, which the layers' names do (layer1.0.conv1).
            self.nodes = nn.ModuleDict({
                key(layer): module(layer["type"], layer["settings"])
                for layer in layers if layer["type"] != "Concat"})
            for layer in layers:
                specs = layer.get("parameters", []) + layer.get("buffers", [])
                if not specs:
                    continue
                owner = next(m for m in self.nodes[key(layer)].modules()
                             if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)))
                for spec in specs:
                    getattr(owner, spec["name"][len(layer["name"]) + 1:]).data.copy_(tensors[spec["name"]])

        def forward(self, x):
            values = {"input": x}
            for layer in self.layers:
                inputs = [values[name] for name in layer["inputs"]]
                if layer["type"] == "Add":
                    values[layer["name"]] = self.nodes[key(layer)](inputs[0] + inputs[1])
                elif layer["type"] == "Concat":
                    values[layer["name"]] = torch.cat(inputs, dim=1)
                else:
                    values[layer["name"]] = self.nodes[key(layer)](inputs[0])
            return values[self.layers[-1]["name"]].flatten(1)

    def preprocess(pixels):
        return torch.from_numpy(normalised(np.asarray(pixels), preprocessing))

    return Rebuilt().eval(), preprocess, class_names


# A packed split, read from its shards as docs/shard-format.md describes them.

def read_split(dataset, split, masks=False):
    """(images, labels) of a split's raw records, N×C×H×W uint8; with `masks`, a segmentation
    split's label masks N×H×W as a third array."""
    import zstandard
    manifest = json.load(open(os.path.join(dataset, "manifest.json")))
    images, labels, planes = [], [], []
    for entry in manifest["splits"][split]["shards"]:
        data = open(os.path.join(dataset, entry["file"]), "rb").read()
        version = struct.unpack_from("<I", data, 8)[0]
        assert data[:8] == b"IMBSHARD" and version in (2, 3), entry["file"]
        position = 16
        channels, height, width, classes = struct.unpack_from("<4I", data, position)
        position += 16
        for _ in range(classes):
            position += 2 + struct.unpack_from("<H", data, position)[0]
        count = struct.unpack_from("<Q", data, position)[0]
        position += 8 + 8 * classes
        encoding, dictionary_size = struct.unpack_from("<2I", data, position)
        assert encoding == 0, "this reader handles raw records only"
        position += 8
        dictionary = data[position:position + dictionary_size]
        position += dictionary_size
        mask_planes = 0
        if version >= 3:
            mask_planes = struct.unpack_from("<I", data, position)[0]
            position += 4
        assert mask_planes == (1 if masks else 0), f"{entry['file']}: mask planes {mask_planes}"
        decompressor = zstandard.ZstdDecompressor(
            dict_data=zstandard.ZstdCompressionDict(dictionary) if dictionary else None)
        for _ in range(count):
            offset, size, label = struct.unpack_from("<QIH", data, position)
            position += 16
            record = np.frombuffer(decompressor.decompress(data[offset:offset + size]), np.uint8)
            images.append(record[:channels * height * width].reshape(channels, height, width))
            if masks:
                planes.append(record[channels * height * width:].reshape(height, width))
            labels.append(label)
    if masks:
        return np.stack(images), np.array(labels), np.stack(planes)
    return np.stack(images), np.array(labels)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["check"])
    parser.add_argument("model")
    parser.add_argument("dataset")
    parser.add_argument("--split", default="test")
    parser.add_argument("--torch", action="store_true", help="rebuild in PyTorch instead of NumPy")
    args = parser.parse_args()
    images, labels = read_split(args.dataset, args.split)
    predictions = []
    if args.torch:
        import torch
        model, preprocess, _ = torch_classifier(args.model)
        with torch.no_grad():
            for start in range(0, len(images), 100):
                predictions += model(preprocess(images[start:start + 100])).argmax(1).tolist()
    else:
        layers, preprocessing, _, tensors = read_export(args.model)
        for start in range(0, len(images), 100):
            logits = numpy_logits(layers, tensors, normalised(images[start:start + 100], preprocessing))
            predictions += logits.argmax(1).tolist()
    accuracy = float((np.array(predictions) == labels).mean())
    print(json.dumps({"images": len(labels), "accuracy": accuracy, "predictions": predictions,
                      "labels": labels.tolist()}))


if __name__ == "__main__":
    main()
