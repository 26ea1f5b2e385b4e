"""The photo half of the loader comparison (bench/pytorch/photos). `make` writes `--count`
smooth 450x450 RGB JPEGs (quality 90) into ten class folders, as a stand-in for photographs;
`load` times PyTorch's usual pipeline over them: ImageFolder reading and decoding each JPEG
(torchvision.io.decode_jpeg), RandomResizedCrop(64, scale=(0.08, 1)) with antialiasing, a
horizontal flip and normalisation, batch 128, `--workers` worker processes of one thread.
`load` prints one JSON line: images per second over every full batch after one warm-up."""

import argparse
import json
import os
import time

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.io import decode_jpeg, encode_jpeg, read_file
from torchvision.transforms import v2


def make(folder, count):
    generator = torch.Generator().manual_seed(0)
    for index in range(count):
        coarse = torch.rand((1, 3, 12, 12), generator=generator)
        smooth = torch.nn.functional.interpolate(coarse, size=(450, 450), mode="bicubic", align_corners=False)
        grain = torch.rand((1, 3, 450, 450), generator=generator) * 0.08
        image = ((smooth + grain).clamp(0, 1) * 255).round().to(torch.uint8)[0]
        directory = os.path.join(folder, "class%d" % (index % 10))
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "%04d.jpg" % index), "wb") as file:
            file.write(encode_jpeg(image, quality=90).numpy().tobytes())


class Photos(Dataset):
    def __init__(self, folder):
        self.files = sorted(
            (os.path.join(root, name), int(os.path.basename(root)[5:]))
            for root, _, names in os.walk(folder) for name in names if name.endswith(".jpg"))
        self.transform = v2.Compose([
            v2.RandomResizedCrop(64, scale=(0.08, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([0.5] * 3, [0.25] * 3),
        ])

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        path, label = self.files[index]
        return self.transform(decode_jpeg(read_file(path))), label


def one_thread(_):
    torch.set_num_threads(1)


def load(folder, workers):
    torch.set_num_threads(1)
    dataset = Photos(folder)
    loader = DataLoader(dataset, batch_size=128, shuffle=True, num_workers=workers, drop_last=True,
                        worker_init_fn=one_thread)
    batches = iter(loader)
    next(batches)
    started = time.perf_counter()
    count = 0
    for images, _ in batches:
        count += images.shape[0]
    seconds = time.perf_counter() - started
    print(json.dumps({
        "framework": "torch %s, torchvision transforms v2" % torch.__version__, "workers": workers,
        "images_per_s": count / seconds}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["make", "load"])
    parser.add_argument("folder")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.command == "make":
        make(args.folder, args.count)
    else:
        load(args.folder, args.workers)


if __name__ == "__main__":
    main()
