"""Writes the fuzzers' seed corpus into Fuzz/corpus/<target>/: small valid inputs of every
format, and the inputs of issue 18 that once crashed imbal-dist (each must now be a clean
error). Run once by hand after a format change, with the release binary built and the venv of
scripts/python-venv (for PIL):

    .build/python-venv/bin/python Fuzz/make-seeds.py
"""
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")
BINARY = os.path.join(ROOT, ".build", "release", "imbal-dist")
FOUND_BY_FUZZING = ["shard/channels-4e9.imbs"]


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, rows):
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows))
            + png_chunk(b"IEND", b""))


def image_seeds():
    put("image", "grey-4x4.png", png(4, 4, b"".join(b"\x00" + bytes(range(r * 4, r * 4 + 4)) for r in range(4))))
    # Issue 18: 57 bytes declaring 1,000,000 × 1,000,000 pixels (tried to allocate 3 TB).
    put("image", "bomb-1e6.png", png(1_000_000, 1_000_000, b"")[:57])
    with tempfile.TemporaryDirectory() as scratch:
        Image.new("RGB", (8, 8), (200, 30, 60)).save(f"{scratch}/a.jpg", quality=90)
        jpeg = bytearray(open(f"{scratch}/a.jpg", "rb").read())
    put("image", "rgb-8x8.jpg", bytes(jpeg))
    # Issue 18: a JPEG whose frame header declares 65500 × 65500 (refused only after 18 s, 4 GB).
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)
    put("image", "huge-65500.jpg", bytes(jpeg))


def idx_seeds():
    images = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 2, 2) + bytes(range(8))
    put("idx", "images-2x2x2", images)
    put("idx", "labels-2", bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes([0, 1]))
    put("idx", "images.gz", gzip.compress(images))
    # Issue 18: dimensions whose product overflows, and images of height 0.
    put("idx", "overflow", bytes([0, 0, 8, 3]) + struct.pack(">III", 3, 0xFFFFFFFF, 0xFFFFFFFF))
    put("idx", "height-0", bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 0, 28))


def mask_seeds():
    for mode, name in [("P", "palette"), ("L", "grey")]:
        mask = Image.new(mode, (6, 4), 0)
        mask.putpixel((1, 1), 3)
        mask.putpixel((2, 0), 255)
        if mode == "P":
            mask.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [224, 224, 192] * 252)
        buffer = io.BytesIO()
        mask.save(buffer, format="PNG")
        put("mask", f"{name}.png", buffer.getvalue())
    # A grey PNG of 1 bit (packed samples) and an RGB one (refused: masks are indices).
    buffer = io.BytesIO()
    Image.new("1", (9, 3), 1).save(buffer, format="PNG")
    put("mask", "grey-1bit.png", buffer.getvalue())
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), (1, 2, 3)).save(buffer, format="PNG")
    put("mask", "rgb.png", buffer.getvalue())


def cifar_seeds():
    put("cifar", "one-record", bytes([3, 42]) + bytes(i % 256 for i in range(3072)))


def dataset_seeds():
    with tempfile.TemporaryDirectory() as scratch:
        for label, name in enumerate(["a", "b"]):
            os.makedirs(f"{scratch}/photos/{name}")
            for i in range(3):
                Image.new("L", (4, 4), 40 * label + 10 * i).save(f"{scratch}/photos/{name}/{i}.png")
        for encoding in ["raw", "png", "jpeg"]:
            out = f"{scratch}/{encoding}"
            subprocess.run([BINARY, "pack", "--source", "folder", "--input", f"{scratch}/photos", "--out", out,
                            "--shards", "1", "--split", "1,1,1", "--encoding", encoding], check=True,
                           stdout=subprocess.DEVNULL)
            put("shard", f"{encoding}.imbs", open(f"{out}/train-00000-of-00001.imbs", "rb").read())
        manifest = open(f"{scratch}/raw/manifest.json", "rb").read()
        for split in ["train", "val", "test"]:
            os.makedirs(f"{scratch}/segment/{split}/images")
            os.makedirs(f"{scratch}/segment/{split}/masks")
            for i in range(2):
                Image.new("L", (4, 4), 30 * i).save(f"{scratch}/segment/{split}/images/{i}.png")
                mask = Image.new("L", (4, 4), i)
                mask.putpixel((0, 0), 255)
                mask.save(f"{scratch}/segment/{split}/masks/{i}.png")
        subprocess.run([BINARY, "pack", "--source", "seg-folder", "--input", f"{scratch}/segment", "--out",
                        f"{scratch}/segment-packed", "--shards", "1"], check=True, stdout=subprocess.DEVNULL)
        put("shard", "masks.imbs", open(f"{scratch}/segment-packed/train-00000-of-00001.imbs", "rb").read())
    put("manifest", "manifest.json", manifest)
    # Issue 18: impossible manifests (a class count of 2^63−1, std of length 0).
    document = json.loads(manifest)
    document["splits"]["train"]["class_counts"][0] = 2**63 - 1
    put("manifest", "count-2e63.json", json.dumps(document).encode())
    document = json.loads(manifest)
    document["normalization"]["std"] = []
    put("manifest", "std-empty.json", json.dumps(document).encode())
    # Issue 18: a shard header declaring 2^32−1 records, and 2^63−1 classes (the fuzzer
    # recomputes the header CRC).
    shard = bytearray(open(os.path.join(CORPUS, "shard", "raw.imbs"), "rb").read())
    body = 16
    classes = struct.unpack_from("<I", shard, body + 12)[0]
    names = body + 16
    for _ in range(classes):
        names += 2 + struct.unpack_from("<H", shard, names)[0]
    records = bytearray(shard)
    struct.pack_into("<Q", records, names, 0xFFFFFFFF)
    put("shard", "records-2e32.imbs", bytes(records))
    many = bytearray(shard)
    struct.pack_into("<I", many, body + 12, 0x7FFFFFFF)
    put("shard", "classes-2e31.imbs", bytes(many))


if __name__ == "__main__":
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"{BINARY} is missing: run `make build` first")
    # Inputs a fuzzing run found (docs/fuzzing.md) are kept as they are; the rest is rewritten.
    kept = {name: open(os.path.join(CORPUS, name), "rb").read() for name in FOUND_BY_FUZZING
            if os.path.exists(os.path.join(CORPUS, name))}
    shutil.rmtree(CORPUS, ignore_errors=True)
    for name, data in kept.items():
        put(*name.split("/"), data)
    image_seeds()
    idx_seeds()
    cifar_seeds()
    mask_seeds()
    dataset_seeds()
    for target in sorted(os.listdir(CORPUS)):
        print(target, sorted(os.listdir(os.path.join(CORPUS, target))))
