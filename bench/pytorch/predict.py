"""PyTorch's side of bench/pytorch/predict: an exported model rebuilt in PyTorch
(scripts/imbal_export.py) classifies a packed split in batches, as `imbal-dist predict` does:
standardise, forward, softmax, top 5. Only that loop is timed (reading the shards in Python is
left out, which favours PyTorch). Prints one JSON line."""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from imbal_export import read_split, torch_classifier  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("dataset")
    parser.add_argument("--split", default="test")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, preprocess, _ = torch_classifier(args.model)
    images, _ = read_split(args.dataset, args.split)
    started = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(images), args.batch_size):
            logits = model(preprocess(images[start:start + args.batch_size]))
            torch.softmax(logits, dim=1).topk(min(5, logits.shape[1]), dim=1)
    seconds = time.perf_counter() - started
    print(json.dumps({"framework": "PyTorch %s" % torch.__version__, "threads": args.threads,
                      "images": len(images), "seconds": seconds, "images_per_s": len(images) / seconds}))


if __name__ == "__main__":
    main()
