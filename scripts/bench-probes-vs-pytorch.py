#!/usr/bin/env python3
"""One candidate's six probes in our engine vs the same probe steps in PyTorch CPU, in one run.

For each architecture file (default: benchmarks/architectures/*.json) it runs

    edgenas bench probes --arch A --data-volume D --epochs E --threads T --repeats 1 --json

and then the same work in PyTorch with the same thread count, rebuilt from that JSON: per
probe a fresh network with 3 input channels (the oracle's module from
../shared/reference/pytorch_reference.py; Mamba with the closed cumulative-sum scan, the
fastest PyTorch form, see bench-train-vs-pytorch.py), its classifier replaced by a
one-Linear head of the probe's outputs, AdamW at the probe learning rate, gradient
clipping, D/E at the probe batch size on random inputs, then the held-out forwards in
training mode (batch statistics, as the engine scores), and for visual memory the
training samples too. The two sides alternate --rounds times, so that the machine's drift
falls on both; the table gives the median seconds of each, the ratio of medians and the
spread of the per-round ratios.

PyTorch is a benchmark peer only: this script installs it (pip) when it is missing; the
project's setup and CI never do.

With --matmul-precision bf16 our side rounds its large matrix products' inputs to
bfloat16 (edgenas --matmul-precision bf16, processors with AVX512_BF16 only), and PyTorch
runs twice per round: in float32, and under torch.autocast("cpu", bfloat16), the
like-for-like peer; the table gives the ratio to each.

    python3 scripts/bench-probes-vs-pytorch.py [--threads 1] [--data-volume 256] [--epochs 2] [--rounds 3] [ARCH.json ...]
"""
import argparse
import glob
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

from benchpeer import ROOT, edgenas_binary, ensure_torch, ratio_columns


_bench_train = None


def bench_train_module():
    """scripts/bench-train-vs-pytorch.py, loaded once, for its Mamba peer."""
    global _bench_train
    if _bench_train is None:
        spec = importlib.util.spec_from_file_location("bench_train", os.path.join(ROOT, "scripts", "bench-train-vs-pytorch.py"))
        _bench_train = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_bench_train)
    return _bench_train


def peer_network(arch):
    """The oracle's network for `arch` with 3 input channels and its classifier removed,
    and the width of its pooled features."""
    import copy
    import torch.nn as nn
    arch = copy.deepcopy(arch)
    arch["input"]["channels"] = 3
    sys.path.insert(0, os.path.join(os.path.dirname(ROOT), "shared", "reference"))
    if arch["family"] == "mamba":
        model = bench_train_module().mamba_network(arch, "cumsum")
    else:
        import pytorch_reference
        model = pytorch_reference.build(arch)
    features = model.fc.in_features
    model.fc = nn.Identity()
    return model, features


def torch_probe_seconds(arch, spec, autocast=False):
    """Wall time of the six probes of `spec` (the edgenas JSON) in PyTorch."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    batch, volume, epochs = spec["batch_size"], spec["data_volume"], spec["epochs"]
    size = spec["resolution"]
    seconds = 0.0
    for probe in spec["probes"]:
        # The data is made before the clock starts: the engine's probe data is generated once per suite.
        images = torch.rand(volume, 3, size, size)
        if probe["loss"] == "cross_entropy":
            targets = torch.randint(0, probe["classes"], (volume * probe["outputs"] // probe["classes"],))
        else:
            targets = torch.rand(volume, probe["outputs"])
        scored = spec["evaluation_count"] + (volume if probe["kind"] == "vm" else 0)
        held_out = torch.rand(scored, 3, size, size)
        start = time.perf_counter()
        network, features = peer_network(arch)
        head = nn.Linear(features, probe["outputs"])
        parameters = list(network.parameters()) + list(head.parameters())
        optimizer = torch.optim.AdamW(parameters, lr=spec["learning_rate"], weight_decay=spec["weight_decay"])
        network.train()
        for _ in range(epochs):
            order = torch.randperm(volume)
            for first in range(0, volume - 1, batch):
                index = order[first:first + batch]
                optimizer.zero_grad()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                    outputs = head(network(images[index])).float()
                if probe["loss"] == "cross_entropy":
                    groups = outputs.shape[1] // probe["classes"]
                    rows = (index.unsqueeze(1) * groups + torch.arange(groups)).reshape(-1)
                    loss = F.cross_entropy(outputs.reshape(-1, probe["classes"]), targets[rows])
                else:
                    loss = F.mse_loss(outputs, targets[index])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, spec["maximum_gradient_norm"])
                optimizer.step()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            for first in range(0, scored, 2 * batch):
                head(network(held_out[first:first + 2 * batch]))
        seconds += time.perf_counter() - start
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("architectures", nargs="*")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-volume", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--edgenas", default=None, help="path to the edgenas binary (default: release build)")
    parser.add_argument("--matmul-precision", choices=["fp32", "bf16"], default="fp32",
                        help="ours with bfloat16 matrix products (bf16), also compared with PyTorch under "
                             "torch.autocast(bfloat16), the like-for-like peer")
    args = parser.parse_args()
    bf16 = args.matmul_precision == "bf16"

    paths = args.architectures or sorted(glob.glob(os.path.join(ROOT, "benchmarks", "architectures", "*.json")))
    binary = edgenas_binary(args.edgenas)
    ensure_torch()
    print(f"six probes, D {args.data_volume}, E {args.epochs}, {args.threads} thread(s), {args.rounds} interleaved rounds, "
          f"our matrix products in {args.matmul_precision}")
    print(f"{'architecture':16} {'ours s':>8} {'torch s':>8} {'ratio':>6} {'ratio range':>12} {'ours GFLOP/s':>12} {'of peak':>8}"
          + (f" {'torch bf16 s':>12} {'ratio':>6} {'ratio range':>12}" if bf16 else ""))
    for path in paths:
        arch = json.load(open(path))
        ours, theirs, theirs_bf16, reports = [], [], [], []
        for _ in range(args.rounds):
            report = json.loads(subprocess.check_output(
                [binary, "bench", "probes", "--arch", path, "--data-volume", str(args.data_volume), "--epochs", str(args.epochs),
                 "--threads", str(args.threads), "--repeats", "1", "--matmul-precision", args.matmul_precision, "--json"],
                text=True))
            reports.append(report)
            ours.append(report["median_seconds"])
            theirs.append(torch_probe_seconds(arch, report))
            if bf16:
                theirs_bf16.append(torch_probe_seconds(arch, report, autocast=True))
        name = os.path.splitext(os.path.basename(path))[0]
        gflops = statistics.median(r["gflops_per_second"] for r in reports)
        peak = statistics.median(r["fraction_of_sgemm_peak"] for r in reports)
        columns = ratio_columns(ours, [theirs] + ([theirs_bf16] if bf16 else []), ours_over_peer=False, value_format="8.2f")
        print(f"{name:16} {statistics.median(ours):8.2f}{columns[0]} {gflops:12.2f} {peak * 100:7.0f}%" + "".join(columns[1:]),
              flush=True)
    print("ratio = PyTorch seconds / our seconds (higher is better for us); range: per-round ratios")


if __name__ == "__main__":
    main()
