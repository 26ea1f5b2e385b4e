"""The PyTorch side of the loader comparison (bench/pytorch/loader): a DataLoader over uint8
images held in memory, as imbal-dist holds a rank's decoded shards, with torchvision's
transforms equivalent to `--augment standard` (RandomCrop with zero padding, horizontal flip)
and normalisation, batch 128, `--workers` worker processes of one thread each. Prints one
JSON line: images per second over `--batches` batches after two warm-up batches."""

import argparse
import json
import time

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2


class Images(Dataset):
    def __init__(self, count, channels, size, padding):
        generator = torch.Generator().manual_seed(0)
        self.images = torch.randint(0, 256, (count, channels, size, size), dtype=torch.uint8, generator=generator)
        self.labels = torch.randint(0, 10, (count,), generator=generator)
        self.transform = v2.Compose([
            v2.RandomCrop(size, padding=padding),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([0.5] * channels, [0.25] * channels),
        ])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(self.images[index]), self.labels[index]


def one_thread(_):
    torch.set_num_threads(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    padding = max(1, round(args.size / 8))
    dataset = Images(128 * (args.batches + 2), args.channels, args.size, padding)
    loader = DataLoader(dataset, batch_size=128, shuffle=True, num_workers=args.workers,
                        worker_init_fn=one_thread, persistent_workers=args.workers > 0)
    batches = iter(loader)
    for _ in range(2):
        next(batches)
    started = time.perf_counter()
    for _ in range(args.batches):
        next(batches)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "framework": "torch %s, torchvision transforms v2" % torch.__version__,
        "workers": args.workers, "channels": args.channels, "size": args.size, "padding": padding,
        "images_per_s": 128 * args.batches / seconds}))


if __name__ == "__main__":
    main()
