"""The PyTorch side of the imbal-dist comparison (bench/pytorch/run): the same models (layer
for layer, the same parameter count), input shape, batch, loss and optimizer as `imbal-dist
bench`, one process with one thread, or DDP over gloo with one thread per process. A model
name ending in -end-to-end adds the decoder's reconstruction (sigmoid, mean squared error with
weight 1, as `--mode end-to-end`), -seg ends the decoder in class maps (`--task
segmentation`). Prints one JSON line per configuration."""

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


def block(inputs, width, kernel=3, stride=1, activation=nn.ReLU):
    """imbal-dist's conv unit (NetworkBuilder.convolution): convolution without bias, batch
    norm, then the activation (none when `activation` is None)."""
    layers = [nn.Conv2d(inputs, width, kernel, stride=stride, padding=kernel // 2, bias=False),
              nn.BatchNorm2d(width)]
    return layers + ([activation()] if activation else [])


class BasicBlock(nn.Module):
    """ResNet's basic block with option-A shortcuts (He et al. 2016, §4.2): subsampled input,
    zero-padded channels, no parameters."""

    def __init__(self, inputs, width, stride):
        super().__init__()
        self.residual = nn.Sequential(*block(inputs, width, stride=stride), *block(width, width, activation=None))
        self.stride, self.pad = stride, width - inputs

    def forward(self, x):
        shortcut = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.pad:
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.pad))
        return F.relu(self.residual(x) + shortcut)


def resnet(blocks, channels=1, classes=10, side=28):
    """imbal-dist's resnet20 (blocks=3) and resnet32 (5): conv to 16, three stages of 16, 32
    and 64 channels, global average pooling, dense."""
    layers, inputs = block(channels, 16), 16
    for stage, width in enumerate([16, 32, 64]):
        for index in range(blocks):
            layers.append(BasicBlock(inputs, width, 2 if stage > 0 and index == 0 else 1))
            inputs = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block (Sandler et al. 2018): 1x1 expansion, 3x3 depthwise, 1x1 linear
    projection, each with batch norm, ReLU6 after the first two; residual when the shape is kept."""

    def __init__(self, inputs, width, expansion, stride):
        super().__init__()
        hidden = inputs * expansion
        layers = block(inputs, hidden, kernel=1, activation=nn.ReLU6) if expansion != 1 else []
        layers += [nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6()]
        self.layers = nn.Sequential(*layers, *block(hidden, width, kernel=1, activation=None))
        self.residual = stride == 1 and inputs == width

    def forward(self, x):
        return self.layers(x) + x if self.residual else self.layers(x)


class MobileNetV2(nn.Module):
    """imbal-dist's mobilenetv2: a stride-1 stem to 32 channels, (t, c, n, s) = (1,16,1,1),
    (6,24,2,2), (6,32,3,2), (6,64,2,2), a 1x1 conv to 128; the classifier a 1x1 conv to the
    classes globally averaged; the decoder 3x3 stride-2 transposed convolutions + BN + ReLU6
    back to each downsampled level's size and width, then a 1x1 conv (+ sigmoid for the
    reconstruction)."""

    def __init__(self, channels=1, classes=10, side=28, head=None):
        super().__init__()
        layers, inputs, levels, size = block(channels, 32, activation=nn.ReLU6), 32, [], side
        for expansion, width, repeats, stride in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 2)]:
            for index in range(repeats):
                s = stride if index == 0 else 1
                if s > 1:
                    levels.append((size, inputs))
                    size = (size + 1) // 2
                layers.append(InvertedResidual(inputs, width, expansion, s))
                inputs = width
        self.encoder = nn.Sequential(*layers, *block(inputs, 128, kernel=1, activation=nn.ReLU6))
        self.head = head
        self.classifier = nn.Conv2d(128, classes, 1) if head != "seg" else None
        if head is None:
            return
        decoder, inputs = [], 128
        for target, width in reversed(levels):
            padding = target - (2 * size - 1)
            decoder += [nn.ConvTranspose2d(inputs, width, 3, stride=2, padding=1, output_padding=padding),
                        nn.BatchNorm2d(width), nn.ReLU6()]
            inputs, size = width, target
        decoder.append(nn.Conv2d(inputs, classes if head == "seg" else channels, 1))
        self.decoder = nn.Sequential(*decoder)

    def forward(self, x):
        encoded = self.encoder(x)
        if self.head == "seg":
            return self.decoder(encoded)
        logits = self.classifier(encoded).mean((2, 3))
        return (logits, torch.sigmoid(self.decoder(encoded))) if self.head else logits


class UNet(nn.Module):
    """imbal-dist's unet: three levels of two conv units (16, 32, 64 channels) with 2x2 max
    pooling between them; the classifier dense 128, ReLU, dropout 0.5, dense on the flattened
    bottleneck; the decoder 2x2 stride-2 transposed convolutions, the skip concatenated after
    the upsampled map, two conv units, and a 1x1 convolution to the classes (head "seg") or to
    the input's channels and a sigmoid (head "reconstruction")."""

    def __init__(self, channels=1, classes=10, side=28, head=None, widths=(16, 32, 64)):
        super().__init__()
        self.head = head
        bottleneck = widths[-1] * (side // 4) ** 2
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(bottleneck, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, classes)
        ) if head != "seg" else None
        self.encoder = nn.ModuleList()
        inputs = channels
        for width in widths:
            self.encoder.append(nn.Sequential(*block(inputs, width), *block(width, width)))
            inputs = width
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        if head is None:
            return
        for width in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(inputs, width, 2, stride=2))
            self.decoder.append(nn.Sequential(*block(2 * width, width), *block(width, width)))
            inputs = width
        self.out = nn.Conv2d(inputs, classes if head == "seg" else channels, 1)

    def forward(self, x):
        skips = []
        for level, stage in enumerate(self.encoder):
            x = stage(F.max_pool2d(x, 2) if level > 0 else x)
            skips.append(x)
        skips.pop()
        logits = self.classifier(x) if self.classifier else None
        if self.head is None:
            return logits
        for up, stage in zip(self.up, self.decoder):
            x = stage(torch.cat([up(x), skips.pop()], 1))
        if self.head == "seg":
            return self.out(x)
        return logits, torch.sigmoid(self.out(x))


# Each architecture built for (channels, side, classes, head).
ARCHITECTURES = {
    "small-cnn": lambda c, s, k, h: small_cnn(True, c, k),
    "small-cnn-nobn": lambda c, s, k, h: small_cnn(False, c, k),
    "resnet20": lambda c, s, k, h: resnet(3, c, k, s),
    "resnet32": lambda c, s, k, h: resnet(5, c, k, s),
    "mobilenetv2": lambda c, s, k, h: MobileNetV2(c, k, s, h),
    "unet": lambda c, s, k, h: UNet(c, k, s, h),
}
HEADS = {"-end-to-end": "reconstruction", "-seg": "seg"}


def split_name(model_name):
    """(architecture, head) of a model name such as unet-seg or mobilenetv2-end-to-end."""
    for suffix, head in HEADS.items():
        if model_name.endswith(suffix):
            return model_name[: -len(suffix)], head
    return model_name, None


def build(model_name, channels, side):
    architecture, head = split_name(model_name)
    classes = 11 if head == "seg" else 10
    return ARCHITECTURES[architecture](channels, side, classes, head), head, classes


def measure(model_name, channels, side, batch, steps, warmup, rank=0, world=1):
    torch.manual_seed(0)
    model, head, classes = build(model_name, channels, side)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    local = batch // world
    x = torch.randn(local, channels, side, side)
    y = torch.randint(0, classes, (local, side, side) if head == "seg" else (local,))
    pixels = torch.rand(local, channels, side, side)

    def loss_of(output):
        if head == "reconstruction":
            logits, reconstruction = output
            return F.cross_entropy(logits, y) + F.mse_loss(reconstruction, pixels)
        return F.cross_entropy(output, y, ignore_index=255)

    for step in range(warmup + steps):
        if step == warmup:
            if world > 1:
                dist.barrier()
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of(model(x))
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
    rate = measure(args.model, *args.input, args.batch_size, args.steps, args.warmup, rank, world)
    if rank == 0:
        results.put(rate)
    dist.destroy_process_group()


def shape(text):
    channels, side = text.split("x")
    return int(channels), int(side)


def main():
    parser = argparse.ArgumentParser()
    models = [a + suffix for a in ARCHITECTURES for suffix in [""] + list(HEADS)
              if not suffix or a in ("mobilenetv2", "unet")]
    parser.add_argument("--model", default="small-cnn-nobn", choices=models)
    parser.add_argument("--input", type=shape, default=(1, 28), help="CxS: channels and side, as 3x32")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--ranks", type=int, default=1)
    args = parser.parse_args()
    if args.ranks == 1:
        torch.set_num_threads(1)
        rate = measure(args.model, *args.input, args.batch_size, args.steps, args.warmup)
    else:
        context = mp.get_context("spawn")
        results = context.SimpleQueue()
        mp.spawn(ddp_worker, args=(args.ranks, args, results), nprocs=args.ranks, join=True)
        rate = results.get()
    print(json.dumps({
        "framework": "pytorch " + torch.__version__, "model": args.model, "ranks": args.ranks,
        "input": "%dx%dx%d" % (args.input[0], args.input[1], args.input[1]),
        "parameters": sum(p.numel() for p in build(args.model, *args.input)[0].parameters()),
        "threads_per_rank": 1, "batch_size": args.batch_size, "images_per_s": rate,
    }))


if __name__ == "__main__":
    main()
