"""Random images for the benchmark datasets of bench/pytorch (the pixels do not change a
step's time): a folder of class folders of PNGs for `pack --source folder`, or images/ and
masks/ (8x8-pixel blocks of random class indices, grey PNG) for `pack --source seg-folder`.
Written with zlib alone, so it needs no venv.
    python3 random_images.py folder|seg-folder OUT [--count N] [--side S] [--channels C] [--classes K]"""

import argparse
import os
import random
import struct
import zlib


def png(width, height, channels, rows):
    """A PNG of 8-bit grey (1 channel) or RGB (3) pixels from `rows`, one bytes object per row."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, {1: 0, 3: 2}[channels], 0, 0, 0)
    data = zlib.compress(b"".join(b"\0" + row for row in rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def noise(side, channels):
    return png(side, side, channels, [random.randbytes(side * channels) for _ in range(side)])


def blocks(side, classes, block=8):
    labels = [[random.randrange(classes) for _ in range(side // block + 1)] for _ in range(side // block + 1)]
    rows = [bytes(labels[y // block][x // block] for x in range(side)) for y in range(side)]
    return png(side, side, 1, rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("layout", choices=["folder", "seg-folder"])
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--side", type=int, default=72)
    parser.add_argument("--channels", type=int, default=3, choices=[1, 3])
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()
    random.seed(0)
    for i in range(args.count):
        if args.layout == "folder":
            folder = os.path.join(args.out, "class%d" % (i % args.classes))
            os.makedirs(folder, exist_ok=True)
            open(os.path.join(folder, "%d.png" % i), "wb").write(noise(args.side, args.channels))
        else:
            for part, data in [("images", noise(args.side, args.channels)), ("masks", blocks(args.side, args.classes))]:
                os.makedirs(os.path.join(args.out, part), exist_ok=True)
                open(os.path.join(args.out, part, "%d.png" % i), "wb").write(data)


if __name__ == "__main__":
    main()
