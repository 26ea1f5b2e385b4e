"""The PyTorch side of docs/results.md's segmentation table (issue 17): the rows of
scripts/segmentation-results written the way a PyTorch user writes them, on the very canvases
and masks of an imbal-dist packed dataset (read from its shards by scripts/imbal_export.py).

Recipe, as imbal-dist's `train --task segmentation --model unet --augment standard`: bench.py's
UNetSegmentation (the same 117,243 parameters), RandomCrop with zero padding of 1/8 of the side
(masks padded with the ignore label 255) and a horizontal flip applied to image and mask
together, batch 32 with the last partial batch dropped, SGD momentum 0.9 and weight decay 5e-4,
peak learning rate 0.05 with a linear warm-up over the first epoch and a per-step cosine decay
to 0, the best epoch by validation mIoU tested. Losses are summed over the labelled pixels of
the batch and divided by their count (by Σ w_y for weighted-ce), as imbal-dist's. Rows:

  ce-uniform                   cross-entropy, shuffled
  wce-log-uniform              cross-entropy weighted by ln(1 + (n_max / n_c)^2), n_c the
                               training pixels of class c (ignored pixels not counted)
  focal-uniform                focal loss, gamma 2 (Lin et al. 2017)
  focal-oversample             focal, WeightedRandomSampler with 1 / n of each canvas's rarest
                               class (n: training canvases of that rarest class)
  focal-oversample-copypaste   the same, and with probability 0.5 a canvas receives every pixel
                               of one class from another training canvas (Ghiasi et al. 2021, as
                               imbal-dist's --copy-paste: the source drawn by 1 / n of its rarest
                               class, that class pasted with its top-left-most pixel on a
                               background pixel of the canvas's top-left background quadrant,
                               pixels past the border dropped, a 1-pixel ignore ring), before the
                               crop and flip

    python bench/pytorch/train_seg.py --recipe focal-oversample --seed 0 [--epochs 15] [--data DIR]

Prints one JSON line: test mIoU, pixel accuracy, the mean IoU of classes 6-10 (the benchmark's
five rarest), per-class IoU, the best epoch and the wall time.
"""

import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler, WeightedRandomSampler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from bench import UNetSegmentation  # noqa: E402
from imbal_export import read_split  # noqa: E402
from train import learning_rate  # noqa: E402

IGNORE = 255
RECIPES = ["ce-uniform", "wce-log-uniform", "focal-uniform", "focal-oversample", "focal-oversample-copypaste"]


def quadrant_pixel(mask, rng):
    """A background pixel at or before the background's median row and column (all of the
    background when that quadrant is empty); None without background."""
    rows, cols = np.nonzero(mask == 0)
    if len(rows) == 0:
        return None
    inside = (rows <= np.percentile(rows, 50)) & (cols <= np.percentile(cols, 50))
    if inside.any():
        rows, cols = rows[inside], cols[inside]
    pick = rng.integers(len(rows))
    return rows[pick], cols[pick]


def copy_paste(image, mask, source_image, source_mask, label, rng):
    target = quadrant_pixel(mask, rng)
    rows, cols = np.nonzero(source_mask == label)
    if target is None or len(rows) == 0:
        return image, mask
    corner = np.argmin((rows + cols) * mask.size + rows * mask.shape[1] + cols)
    rows_to, cols_to = rows + target[0] - rows[corner], cols + target[1] - cols[corner]
    inside = (rows_to >= 0) & (rows_to < mask.shape[0]) & (cols_to >= 0) & (cols_to < mask.shape[1])
    image, mask = image.copy(), mask.copy()
    pasted = np.zeros(mask.shape, bool)
    pasted[rows_to[inside], cols_to[inside]] = True
    image[:, pasted] = source_image[:, rows[inside], cols[inside]]
    mask[pasted] = label
    ring = max(1, min(mask.shape) // 160)
    near = F.max_pool2d(torch.from_numpy(pasted).float()[None, None], 2 * ring + 1, 1, ring)[0, 0].numpy() > 0
    mask[near & ~pasted] = IGNORE
    return image, mask


class Canvases(Dataset):
    def __init__(self, images, masks, labels, mean, std, augment, paste=0.0, counts=None, seed=0):
        self.images, self.masks, self.labels = images, masks, labels
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.augment, self.paste = augment, paste
        self.rng = np.random.default_rng(seed)
        if paste:
            weights = np.where(labels > 0, 1 / np.maximum(counts[labels], 1), 0)
            self.sources = weights / weights.sum()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image, mask = self.images[index], self.masks[index]
        if self.paste and self.rng.random() < self.paste:
            source = self.rng.choice(len(self.images), p=self.sources)
            image, mask = copy_paste(image, mask, self.images[source], self.masks[source], self.labels[source],
                                     self.rng)
        image, mask = torch.from_numpy(np.ascontiguousarray(image)), torch.from_numpy(np.ascontiguousarray(mask))
        if self.augment:
            side = image.shape[-1]
            pad = max(1, round(side / 8))
            image = F.pad(image, (pad, pad, pad, pad), value=0)
            mask = F.pad(mask, (pad, pad, pad, pad), value=IGNORE)
            y, x = self.rng.integers(2 * pad + 1, size=2)
            image, mask = image[:, y:y + side, x:x + side], mask[y:y + side, x:x + side]
            if self.rng.random() < 0.5:
                image, mask = image.flip(-1), mask.flip(-1)
        return (image.float() / 255 - self.mean) / self.std, mask.long()


def pixel_loss(logits, masks, recipe, weights, gamma=2.0):
    labelled = masks != IGNORE
    if recipe.startswith("wce"):
        ce = F.cross_entropy(logits, masks, weight=weights, ignore_index=IGNORE, reduction="sum")
        return ce / weights[masks[labelled]].sum()
    ce = F.cross_entropy(logits, masks, ignore_index=IGNORE, reduction="none")
    if recipe.startswith("focal"):
        ce = (1 - torch.exp(-ce)) ** gamma * ce
    return ce.sum() / labelled.sum()


def confusion(model, loader, classes):
    model.eval()
    matrix = torch.zeros(classes, classes, dtype=torch.int64)
    with torch.no_grad():
        for x, y in loader:
            predicted = model(x).argmax(1)
            labelled = y != IGNORE
            matrix += torch.bincount(y[labelled] * classes + predicted[labelled],
                                     minlength=classes * classes).view(classes, classes)
    return matrix.numpy()


def segmentation_metrics(matrix):
    """IoU per class (None in neither truth nor prediction), mIoU over the others, pixel
    accuracy: imbal-dist's SegmentationMetrics."""
    tp = np.diag(matrix).astype(np.float64)
    union = matrix.sum(0) + matrix.sum(1) - tp
    iou = [float(tp[k] / union[k]) if union[k] else None for k in range(len(tp))]
    present = [v for v in iou if v is not None]
    return {"miou": float(np.mean(present)) if present else 0.0,
            "pixel_accuracy": float(tp.sum() / max(matrix.sum(), 1)), "iou": iou}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", required=True, choices=RECIPES)
    parser.add_argument("--data", default="data/fashion-mnist-seg-exp100")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--init", choices=["pytorch", "he"], default="pytorch",
                        help="he: He-normal weights (std sqrt(2 / fan-in), the fan-in of an output pixel) "
                             "and zero biases, imbal-dist's convolutions before docs/architecture.md's decision 43")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()

    manifest = json.load(open(os.path.join(args.data, "manifest.json")))
    mean, std = manifest["normalization"]["mean"], manifest["normalization"]["std"]
    classes = len(manifest["class_names"])
    splits = {name: read_split(args.data, name, masks=True) for name in ["train", "val", "test"]}
    images, labels, masks = splits["train"]
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    pixels = np.bincount(masks[masks != IGNORE].ravel(), minlength=classes).astype(np.float64)
    paste = 0.5 if args.recipe.endswith("copypaste") else 0.0
    train = Canvases(images, masks, labels, mean, std, augment=True, paste=paste, counts=counts, seed=args.seed)
    evaluation = {name: DataLoader(Canvases(splits[name][0], splits[name][2], splits[name][1], mean, std,
                                            augment=False), batch_size=128) for name in ["val", "test"]}
    sampler = (WeightedRandomSampler(np.where(counts[labels] > 0, 1 / np.maximum(counts[labels], 1), 0),
                                     len(labels), replacement=True)
               if "oversample" in args.recipe else RandomSampler(train))
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler, drop_last=True)
    weights = torch.tensor(np.where(pixels > 0, np.log1p((pixels.max() / np.maximum(pixels, 1)) ** 2), 0),
                           dtype=torch.float32)

    model = UNetSegmentation(channels=images.shape[1], classes=classes)
    if args.init == "he":
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                # ConvTranspose2d's weight is (in, out, k, k); each output pixel of a stride-s
                # transposed convolution sums in·k²/s² products.
                fan_in = (module.in_channels * module.kernel_size[0] * module.kernel_size[1]
                          // (module.stride[0] * module.stride[1]))
                nn.init.normal_(module.weight, std=math.sqrt(2 / fan_in))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    steps, total = 0, args.epochs * len(loader)
    best = (-1.0, None, 0)
    for epoch in range(1, args.epochs + 1):
        model.train()
        for x, y in loader:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(steps, total, len(loader), 0.05)
            optimizer.zero_grad()
            pixel_loss(model(x), y, args.recipe, weights).backward()
            optimizer.step()
            steps += 1
        score = segmentation_metrics(confusion(model, evaluation["val"], classes))["miou"]
        if score > best[0]:
            best = (score, copy.deepcopy(model.state_dict()), epoch)
    model.load_state_dict(best[1])
    result = segmentation_metrics(confusion(model, evaluation["test"], classes))
    rare = [result["iou"][k] or 0.0 for k in range(6, 11)]
    result.update({"recipe": args.recipe, "seed": args.seed, "epochs": args.epochs, "best_epoch": best[2],
                   "validation_miou": best[0], "rare_iou": float(np.mean(rare)),
                   "seconds": round(time.time() - started, 1)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
