"""The PyTorch side of docs/results.md's long-tail table (issue 16): the same recipes as
scripts/long-tail-results, written the way a PyTorch user writes them, on the very images of
an imbal-dist packed dataset (read from its shards by scripts/imbal_export.py).

Recipe, as imbal-dist's: small CNN with batch norm (bench.py's), RandomCrop with zero padding of
⅛ of the side and a horizontal flip (`--augment standard`), global batch 128 with the last
partial batch dropped, SGD momentum 0.9 and weight decay 5e-4, peak learning rate 0.05 with a
linear warm-up over the first epoch and a per-step cosine decay to 0, the best epoch by
validation macro-F1 tested. Rows:

  ce-uniform, ce-oversample       cross-entropy; shuffle, or WeightedRandomSampler with 1/n_c
  ldam-drw                        LDAM (Cao et al. 2019): cosine classifier, s = 30, margins
                                  0.5·n_c^(-1/4)/max, effective-number weights (β = 0.9999) from
                                  epoch ⌊0.8·E⌋ + 1 (DRW), PyTorch's weighted mean
  remix                           Remix (Chou et al. 2020): one λ ~ Beta(1, 1) and one randperm
                                  per batch, κ = 3, τ = 0.5, mean of λ_y·ce(a) + (1 − λ_y)·ce(b)
  crt                             ce + shuffle, then 10 epochs with a fresh classifier on the
                                  frozen encoder (eval-mode batch norm), class-balanced batches,
                                  cosine from 0.05 without warm-up (Kang et al. 2020)

    python bench/pytorch/train.py --recipe remix --seed 0 [--epochs 30] [--data DIR]

Prints one JSON line: the test macro-F1, accuracy, many/medium/few-shot accuracy (> 100,
20–100, < 20 training images), the best epoch and the wall time.
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
from torchvision.transforms import v2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from bench import small_cnn  # noqa: E402
from imbal_export import read_split  # noqa: E402


class Images(Dataset):
    def __init__(self, images, labels, mean, std, augment):
        self.images, self.labels = torch.from_numpy(images), torch.from_numpy(labels).long()
        side = images.shape[-1]
        steps = [v2.RandomCrop(side, padding=max(1, round(side / 8))), v2.RandomHorizontalFlip()] if augment else []
        self.transform = v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(self.images[index]), self.labels[index]


class NormedLinear(nn.Module):
    """Cao et al.'s cosine classifier: the logits are cosines between features and class rows."""

    def __init__(self, features, classes):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(classes, features).uniform_(-1, 1))

    def forward(self, x):
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=1).t()


def effective_weights(counts, beta=0.9999):
    weights = (1 - beta) / (1 - np.power(beta, counts))
    return torch.tensor(weights / weights.sum() * len(counts), dtype=torch.float32)


def ldam_loss(logits, labels, margins, weights):
    adjusted = logits - margins[labels].unsqueeze(1) * F.one_hot(labels, logits.shape[1])
    return F.cross_entropy(30 * adjusted, labels, weight=weights)


def remix_weights(lam, labels_a, labels_b, counts, kappa=3.0, tau=0.5):
    ratio = counts[labels_a] / counts[labels_b]
    weights = torch.full(labels_a.shape, lam)
    weights[(ratio >= kappa) & (lam < tau)] = 0.0
    weights[(ratio <= 1 / kappa) & (1 - lam < tau)] = 1.0
    return weights


def learning_rate(step, total, warmup, base):
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * base * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))


def predictions(model, loader):
    model.eval()
    outputs, labels = [], []
    with torch.no_grad():
        for x, y in loader:
            outputs.append(model(x).argmax(1))
            labels.append(y)
    return torch.cat(outputs).numpy(), torch.cat(labels).numpy()


def metrics(predicted, labels, classes, train_counts):
    recall, f1 = [], []
    for c in range(classes):
        tp = np.sum((predicted == c) & (labels == c))
        support, chosen = np.sum(labels == c), np.sum(predicted == c)
        r = tp / support if support else 0.0
        p = tp / chosen if chosen else 0.0
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    groups = {"many": [c for c in range(classes) if train_counts[c] > 100],
              "medium": [c for c in range(classes) if 20 <= train_counts[c] <= 100],
              "few": [c for c in range(classes) if train_counts[c] < 20]}
    result = {"macro_f1": float(np.mean(f1)), "accuracy": float(np.mean(predicted == labels))}
    for name, members in groups.items():
        result[name + "_shot_accuracy"] = float(np.mean([recall[c] for c in members])) if members else None
    return result


def train_epochs(model, parameters, loader, epochs, before_epoch, loss_of, warmup_epochs, evaluate, mix=None):
    """SGD over `epochs` with the warm-up and cosine schedule; returns (best validation score,
    its state, its epoch), a later epoch only when strictly better."""
    optimizer = torch.optim.SGD(parameters, lr=0.05, momentum=0.9, weight_decay=5e-4)
    steps, total = 0, epochs * len(loader)
    best = (-1.0, None, 0)
    for epoch in range(1, epochs + 1):
        model.train()
        if before_epoch:
            before_epoch(model)
        for x, y in loader:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(steps, total, warmup_epochs * len(loader), 0.05)
            optimizer.zero_grad()
            if mix:
                loss = mix(model, x, y, epoch)
            else:
                loss = loss_of(model(x), y, epoch)
            loss.backward()
            optimizer.step()
            steps += 1
        score = evaluate()
        if score > best[0]:
            best = (score, copy.deepcopy(model.state_dict()), epoch)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", required=True, choices=["ce-uniform", "ce-oversample", "ldam-drw", "remix", "crt"])
    parser.add_argument("--data", default="data/fashion-mnist-lt-exp100")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--crt-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()

    manifest = json.load(open(os.path.join(args.data, "manifest.json")))
    mean, std = manifest["normalization"]["mean"], manifest["normalization"]["std"]
    classes = len(manifest["class_names"])
    splits = {name: read_split(args.data, name) for name in ["train", "val", "test"]}
    train_images, train_labels = splits["train"]
    counts = np.bincount(train_labels, minlength=classes).astype(np.float64)
    train = Images(train_images, train_labels, mean, std, augment=True)
    evaluation = {name: DataLoader(Images(*splits[name], mean, std, augment=False), batch_size=256)
                  for name in ["val", "test"]}

    def loader(balanced):
        sampler = (WeightedRandomSampler((1 / counts)[train_labels], len(train_labels), replacement=True)
                   if balanced else RandomSampler(train))
        return DataLoader(train, batch_size=args.batch_size, sampler=sampler, drop_last=True)

    def validation_score():
        return metrics(*predictions(model, evaluation["val"]), classes, counts)["macro_f1"]

    model = small_cnn(True, channels=train_images.shape[1], classes=classes)
    counts_tensor = torch.tensor(counts, dtype=torch.float32)
    ce = lambda logits, y, epoch: F.cross_entropy(logits, y)  # noqa: E731
    if args.recipe == "ldam-drw":
        model[-1] = NormedLinear(64, classes)
        margins = torch.tensor(1 / counts ** 0.25, dtype=torch.float32)
        margins = 0.5 * margins / margins.max()
        drw = int(0.8 * args.epochs) + 1
        weights = effective_weights(counts)
        loss_of = lambda logits, y, epoch: ldam_loss(logits, y, margins, weights if epoch >= drw else None)  # noqa: E731
        best = train_epochs(model, model.parameters(), loader(False), args.epochs, None, loss_of, 1, validation_score)
    elif args.recipe == "remix":
        def remix(net, x, y, epoch):
            lam = float(np.random.beta(1.0, 1.0))
            index = torch.randperm(x.shape[0])
            weights = remix_weights(lam, y, y[index], counts_tensor)
            logits = net(lam * x + (1 - lam) * x[index])
            return (weights * F.cross_entropy(logits, y, reduction="none")
                    + (1 - weights) * F.cross_entropy(logits, y[index], reduction="none")).mean()
        best = train_epochs(model, model.parameters(), loader(False), args.epochs, None, None, 1, validation_score,
                            mix=remix)
    else:
        balanced = args.recipe == "ce-oversample"
        best = train_epochs(model, model.parameters(), loader(balanced), args.epochs, None, ce, 1, validation_score)
    if args.recipe == "crt":
        # From the last first-stage model, as imbal-dist's cRT phase; the best of both stages is tested.
        model[-1].reset_parameters()
        for parameter in model[:-1].parameters():
            parameter.requires_grad = False

        def frozen_features(net):
            net[:-1].eval()
        second = train_epochs(model, model[-1].parameters(), loader(True), args.crt_epochs, frozen_features, ce, 0,
                              validation_score)
        if second[0] > best[0]:
            best = (second[0], second[1], args.epochs + second[2])
    model.load_state_dict(best[1])
    result = metrics(*predictions(model, evaluation["test"]), classes, counts)
    result.update({"recipe": args.recipe, "seed": args.seed, "epochs": args.epochs, "best_epoch": best[2],
                   "validation_macro_f1": best[0], "seconds": round(time.time() - started, 1)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
