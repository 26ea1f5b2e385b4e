"""Checks a model written by `imbal-dist export --format onnx` with the ONNX checker and runs it
in onnxruntime on a packed dataset's split (read from its shards by imbal_export.read_split),
against the scores `imbal-dist predict --logits` wrote for the same split (JSON lines, one per
record in split order).

    python scripts/check_onnx.py MODEL.onnx PREDICTIONS.jsonl DATASET [--split test]
        prints {"images", "max_abs_diff", "argmax_agree", "input", "output", "opset", "metadata"}
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imbal_export import read_split  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("predictions")
    parser.add_argument("dataset")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    images, _ = read_split(args.dataset, args.split)
    name = session.get_inputs()[0].name
    theirs = np.concatenate([session.run(None, {name: images[i:i + 256]})[0] for i in range(0, len(images), 256)])
    with open(args.predictions) as lines:
        ours = np.array([json.loads(line)["logits"] for line in lines], np.float32)
    if ours.shape != theirs.shape:
        raise SystemExit("predict wrote %s scores, onnxruntime computed %s" % (ours.shape, theirs.shape))
    print(json.dumps({
        "images": len(images),
        "max_abs_diff": float(np.abs(ours - theirs).max()),
        "argmax_agree": int((ours.argmax(1) == theirs.argmax(1)).sum()),
        "input": [name, session.get_inputs()[0].type, session.get_inputs()[0].shape],
        "output": [session.get_outputs()[0].name, session.get_outputs()[0].shape],
        "opset": model.opset_import[0].version,
        "metadata": sorted(prop.key for prop in model.metadata_props),
    }))


if __name__ == "__main__":
    main()
