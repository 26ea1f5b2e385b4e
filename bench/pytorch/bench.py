"""The PyTorch side of the imbal-dist comparison (bench/pytorch/run): the same models, batch,
loss and optimizer as `imbal-dist bench`, one process with one thread, or DDP over gloo with
one thread per process. Prints one JSON line per configuration."""

import argparse
import json
import os
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F


def small_cnn(batch_norm, channels=1, classes=10):
    """imbal-dist's small-cnn (batch_norm) and small-cnn-nobn: 4 conv 3x3, 2 max-pools, GAP, dense."""
    layers, inputs = [], channels
    for i, width in enumerate([32, 32, 64, 64]):
        layers.append(nn.Conv2d(inputs, width, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU())
        if i % 2 == 1:
            layers.append(nn.MaxPool2d(2))
        inputs = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    return nn.Sequential(*layers)


def block(inputs, width):
    """imbal-dist's conv unit: 3x3 convolution without bias, batch norm, ReLU."""
    return [nn.Conv2d(inputs, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]


class UNetSegmentation(nn.Module):
    """imbal-dist's unet with --task segmentation: three levels of two conv units (16, 32, 64
    channels) with 2x2 max pooling between them, 2x2 stride-2 transposed convolutions, the skip
    concatenated after the upsampled map, two conv units, and a 1x1 convolution to the classes."""

    def __init__(self, channels=1, classes=11, widths=(16, 32, 64)):
        super().__init__()
        self.encoder = nn.ModuleList()
        inputs = channels
        for width in widths:
            self.encoder.append(nn.Sequential(*block(inputs, width), *block(width, width)))
            inputs = width
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for width in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(inputs, width, 2, stride=2))
            self.decoder.append(nn.Sequential(*block(2 * width, width), *block(width, width)))
            inputs = width
        self.classifier = nn.Conv2d(inputs, classes, 1)

    def forward(self, x):
        skips = []
        for level, stage in enumerate(self.encoder):
            x = stage(F.max_pool2d(x, 2) if level > 0 else x)
            skips.append(x)
        skips.pop()
        for up, stage in zip(self.up, self.decoder):
            x = stage(torch.cat([up(x), skips.pop()], 1))
        return self.classifier(x)


# Each model with its input (channels, side) and classes: the default datasets' shapes.
MODELS = {
    "small-cnn": (lambda: small_cnn(True), (1, 28), 10),
    "small-cnn-nobn": (lambda: small_cnn(False), (1, 28), 10),
    "unet-seg": (UNetSegmentation, (1, 64), 11),
}


def measure(model_name, batch, steps, warmup, rank=0, world=1):
    torch.manual_seed(0)
    build, (channels, side), classes = MODELS[model_name]
    model = build()
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    local = batch // world
    x = torch.randn(local, channels, side, side)
    segments = model_name.endswith("-seg")
    y = torch.randint(0, classes, (local, side, side) if segments else (local,))
    for step in range(warmup + steps):
        if step == warmup:
            if world > 1:
                dist.barrier()
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y, ignore_index=255)
        loss.backward()
        optimizer.step()
    if world > 1:
        dist.barrier()
    seconds = time.perf_counter() - start
    return batch * steps / seconds


def ddp_worker(rank, world, args, results):
    torch.set_num_threads(1)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29517")
    dist.init_process_group("gloo", rank=rank, world_size=world)
    rate = measure(args.model, args.batch_size, args.steps, args.warmup, rank, world)
    if rank == 0:
        results.put(rate)
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="small-cnn-nobn", choices=sorted(MODELS))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--ranks", type=int, default=1)
    args = parser.parse_args()
    if args.ranks == 1:
        torch.set_num_threads(1)
        rate = measure(args.model, args.batch_size, args.steps, args.warmup)
    else:
        context = mp.get_context("spawn")
        results = context.SimpleQueue()
        mp.spawn(ddp_worker, args=(args.ranks, args, results), nprocs=args.ranks, join=True)
        rate = results.get()
    print(json.dumps({
        "framework": "pytorch " + torch.__version__, "model": args.model, "ranks": args.ranks,
        "threads_per_rank": 1, "batch_size": args.batch_size, "images_per_s": rate,
    }))


if __name__ == "__main__":
    main()
