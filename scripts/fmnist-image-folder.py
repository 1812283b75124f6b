#!/usr/bin/env python3
"""Writes an image folder (OUT/train/CLASS/*.png, OUT/test/CLASS/*.png) of Fashion-MNIST images,
recoloured with a tint per image and enlarged to odd sizes, to try EdgeNAS's image-folder
workflow without a photo collection of one's own:

  python3 scripts/fmnist-image-folder.py /tmp/fashion-photos --train-per-class 300 --test-per-class 50
  edgenas search --space spaces/rgb32-mbconv-tiny.json --images /tmp/fashion-photos --budget 5m --train-epochs 3 --out runs/photos

Reads the Debian package's gzip IDX files; writes RGB PNGs with the standard library only
(zlib). The images are real Fashion-MNIST pictures, not photographs: colour carries no class
information here.
"""
import argparse
import gzip
import os
import random
import struct
import zlib

NAMES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def png(width, height, rows):
    """An 8-bit RGB PNG of `rows` (bytes of width*3 each)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--train-per-class", type=int, default=300)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    (count, height, width), pixels = read_idx(os.path.join(args.source, "train-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(args.source, "train-labels-idx1-ubyte.gz"))
    taken = [0] * len(NAMES)
    for index in range(count):
        label = labels[index]
        if taken[label] >= args.train_per_class + args.test_per_class:
            continue
        part = "train" if taken[label] < args.train_per_class else "test"
        taken[label] += 1
        folder = os.path.join(args.out, part, NAMES[label])
        os.makedirs(folder, exist_ok=True)
        image = pixels[index * height * width:(index + 1) * height * width]
        size_w, size_h = rng.randint(28, 44), rng.randint(28, 44)
        tint = [rng.uniform(0.5, 1.0) for _ in range(3)]
        rows = []
        for y in range(size_h):
            row = bytearray()
            for x in range(size_w):
                value = image[min(height - 1, y * height // size_h) * width + min(width - 1, x * width // size_w)]
                row += bytes(min(255, int(value * t)) for t in tint)
            rows.append(bytes(row))
        with open(os.path.join(folder, f"{index:05d}.png"), "wb") as f:
            f.write(png(size_w, size_h, rows))
        if all(n >= args.train_per_class + args.test_per_class for n in taken):
            break
    print(f"wrote {sum(taken)} images of {len(NAMES)} classes to {args.out}")


if __name__ == "__main__":
    main()
