#!/usr/bin/env python3
"""Test accuracy of `edgenas train` against the PyTorch oracle under the same recipe, in one run.

For each architecture and seed it trains the oracle's network
(../shared/reference/pytorch_reference.py, imported) on Fashion-MNIST with the ground-truth
recipe of ../shared/reference/README.md, and runs

    edgenas train ARCH --epochs E --validation-share 0 --seed S --out TMP

on the same data, then prints both test accuracies, their mean over seeds and the
seed-to-seed spread of each side. Both sides train on all 60,000 training images and test
on the 10,000 test images. The oracle runs float32 on the CPU (the ground truth used
bfloat16 autocast for ViT on a GPU; Mamba and MBConv are float32 there too).

PyTorch is a benchmark peer only: it is installed (pip) when missing; the project's set-up
and CI never do.

    python3 scripts/train-vs-oracle.py [--epochs 2] [--seeds 0 1] [--threads 2] ARCH.json ...
"""
import argparse
import gzip
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchpeer import ROOT, edgenas_binary, ensure_torch

DATA = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return data[4 + 4 * dims:], shape


def load_split(prefix):
    import torch
    images, shape = idx(os.path.join(DATA, f"{prefix}-images-idx3-ubyte.gz"))
    labels, _ = idx(os.path.join(DATA, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.frombuffer(bytearray(images), dtype=torch.uint8).reshape(shape[0], 1, shape[1], shape[2]).float()
    y = torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()
    return (x / 255 - 0.2860) / 0.3530, y


def oracle_accuracy(arch, epochs, seed, train, test):
    """The reference recipe: batch 1024, AdamW lr 4e-3, wd 0.05 on rank > 1, 1 warm-up epoch
    then cosine to 0 (per step), label smoothing 0.1, random crop of the 2-padded image + flip."""
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(os.path.dirname(ROOT), "shared", "reference"))
    import pytorch_reference
    torch.manual_seed(seed)
    model = pytorch_reference.build(arch)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=4e-3)
    x, y = train
    batch = 1024
    steps_per_epoch = math.ceil(len(x) / batch)
    total, warmup = epochs * steps_per_epoch, steps_per_epoch
    step = 0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch):
            index = order[start:start + batch]
            padded = F.pad(x[index], (2, 2, 2, 2))
            # A crop offset per image: gather rows and columns through per-image index grids.
            tops, lefts = torch.randint(0, 5, (len(index),)), torch.randint(0, 5, (len(index),))
            rows = (tops[:, None] + torch.arange(28))[:, None, :, None].expand(-1, 1, 28, 32)
            images = padded.gather(2, rows)
            columns = (lefts[:, None] + torch.arange(28))[:, None, None, :].expand(-1, 1, 28, 28)
            images = images.gather(3, columns)
            flip = torch.rand(len(index)) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(3), images)
            lr = 4e-3 * (step + 1) / warmup if step < warmup else \
                4e-3 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = F.cross_entropy(model(images), y[index], label_smoothing=0.1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(test[0]), 1000):
            correct += (model(test[0][start:start + 1000]).argmax(1) == test[1][start:start + 1000]).sum().item()
    return correct / len(test[0])


def engine_accuracy(binary, path, epochs, seed, threads):
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "model.ckpt")
        subprocess.check_call([binary, "train", path, "--epochs", str(epochs), "--validation-share", "0",
                               "--seed", str(seed), "--threads", str(threads), "--out", out],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out + ".json") as handle:  # the training record beside the checkpoint
            return json.load(handle)["test_accuracy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archs", nargs="+")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--edgenas", help="edgenas binary (default: build the release product)")
    args = parser.parse_args()
    ensure_torch()
    import torch
    torch.set_num_threads(args.threads)
    binary = edgenas_binary(args.edgenas)
    train, test = load_split("train"), load_split("t10k")
    print(f"{'architecture':<40} {'seed':>4} {'oracle':>8} {'engine':>8} {'oracle s':>9} {'engine s':>9}")
    for path in args.archs:
        with open(path) as handle:
            arch = json.load(handle)
        oracle, engine = [], []
        for seed in args.seeds:  # interleaved, so that the machine's drift hits both sides alike
            start = time.time()
            oracle.append(oracle_accuracy(arch, args.epochs, seed, train, test))
            middle = time.time()
            print(f"  oracle seed {seed}: {oracle[-1]:.4f} in {middle - start:.0f} s", flush=True)
            engine.append(engine_accuracy(binary, path, args.epochs, seed, args.threads))
            print(f"{os.path.basename(path):<40} {seed:>4} {oracle[-1]:>8.4f} {engine[-1]:>8.4f} "
                  f"{middle - start:>9.1f} {time.time() - middle:>9.1f}", flush=True)
        spread = (lambda v: max(v) - min(v))
        print(f"{os.path.basename(path):<40} mean {statistics.mean(oracle):>8.4f} {statistics.mean(engine):>8.4f}   "
              f"spread over seeds: oracle {spread(oracle):.4f}, engine {spread(engine):.4f}, "
              f"difference of means {statistics.mean(engine) - statistics.mean(oracle):+.4f}")


if __name__ == "__main__":
    main()
