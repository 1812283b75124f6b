#!/usr/bin/env python3
"""Full training steps of our engine vs PyTorch CPU on the same architectures, in one run.

For each architecture file (default: benchmarks/architectures/*.json, a tiny MBConv, a
larger MBConv and a ViT from the reference spaces) it runs

    edgenas bench train --arch A --batch 64 --steps 30 --threads 2 --json

and then the same network in PyTorch CPU with the same thread count, batch, random inputs
and step (forward, cross-entropy, backward, SGD with momentum 0.9), and prints samples/s of
each and the ratio. The PyTorch network is built here from the architecture format
(docs: the project's architecture-format specification); its parameter count is checked
against `edgenas count` so that both sides train the same model.

A Mamba architecture is compared with three PyTorch peers: the oracle's own module
(../shared/reference/pytorch_reference.py, whose selective scan is a Python loop over
tokens), the same loop under torch.jit.script, and the closed cumulative-sum form.

PyTorch is a benchmark peer only: this script installs it (pip) when it is missing; the
project's setup and CI never do.

With --matmul-precision bf16 our side rounds its large matrix products' inputs to
bfloat16 (edgenas --matmul-precision bf16, processors with AVX512_BF16 only), and PyTorch
runs twice per round: in float32, and under torch.autocast("cpu", bfloat16), the
like-for-like peer; the table gives the ratio to each.

The two sides alternate --rounds times, so that the machine's drift falls on both; the
table gives the median samples/s of each, the ratio of medians and the spread of the
per-round ratios.

    python3 scripts/bench-train-vs-pytorch.py [--threads 2] [--batch 64] [--steps 30] [--rounds 3] [ARCH.json ...]
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import time

from benchpeer import ROOT, edgenas_binary, ensure_torch, ratio_columns




def torch_network(arch, peer="oracle"):
    """The network of an edgenas.architecture/1 document, for mbconv and vit."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    activations = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish, "silu": nn.SiLU, "gelu": nn.GELU}

    def unit(cin, cout, kernel, stride=1, groups=1, act=None):
        layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        return layers + ([activations[act]()] if act else [])

    class Excite(nn.Module):
        def __init__(self, channels):
            super().__init__()
            squeezed = max(8, channels // 4)
            self.reduce, self.expand = nn.Conv2d(channels, squeezed, 1), nn.Conv2d(squeezed, channels, 1)

        def forward(self, x):
            return x * F.hardsigmoid(self.expand(F.relu(self.reduce(x.mean((2, 3), keepdim=True)))))

    class Block(nn.Module):
        def __init__(self, cin, cout, kernel, expand, stride, excite, act):
            super().__init__()
            hidden = cin * expand
            layers = unit(cin, hidden, 1, act=act) if expand > 1 else []
            layers += unit(hidden, hidden, kernel, stride, hidden, act)
            layers += [Excite(hidden)] if excite else []
            layers += unit(hidden, cout, 1)
            self.body, self.residual = nn.Sequential(*layers), stride == 1 and cin == cout

        def forward(self, x):
            return x + self.body(x) if self.residual else self.body(x)

    class MBConv(nn.Module):
        def __init__(self):
            super().__init__()
            act, stem = arch["activation"], arch["stem"]
            layers = unit(arch["input"]["channels"], stem["channels"], stem["kernel"], stem["stride"], act=act)
            channels = stem["channels"]
            for stage in arch["stages"]:
                for index, block in enumerate(stage["blocks"]):
                    layers.append(Block(channels, stage["channels"], block["kernel"], block["expand"],
                                        stage["stride"] if index == 0 else 1, block["se"], act))
                    channels = stage["channels"]
            if arch["head"]["channels"] > 0:
                layers += unit(channels, arch["head"]["channels"], 1, act=act)
                channels = arch["head"]["channels"]
            self.features, self.classifier = nn.Sequential(*layers), nn.Linear(channels, arch["classes"])

        def forward(self, x):
            return self.classifier(self.features(x).mean((2, 3)))

    class Layer(nn.Module):
        def __init__(self, embed, heads, hidden):
            super().__init__()
            self.heads = heads
            self.norm1, self.qkv, self.proj = nn.LayerNorm(embed), nn.Linear(embed, 3 * embed), nn.Linear(embed, embed)
            self.norm2 = nn.LayerNorm(embed)
            self.mlp = nn.Sequential(nn.Linear(embed, hidden), nn.GELU(), nn.Linear(hidden, embed))

        def forward(self, x):
            batch, tokens, embed = x.shape
            q, k, v = self.qkv(self.norm1(x)).reshape(batch, tokens, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
            attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, tokens, embed)
            x = x + self.proj(attended)
            return x + self.mlp(self.norm2(x))

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            patch, embed, shape = arch["patch"], arch["embed"], arch["input"]
            tokens = (shape["height"] // patch) * (shape["width"] // patch)
            self.patch = nn.Conv2d(shape["channels"], embed, patch, patch)
            self.position = nn.Parameter(torch.zeros(1, tokens, embed))
            self.layers = nn.Sequential(*[Layer(embed, layer["heads"], round(embed * layer["mlp_ratio"]))
                                          for layer in arch["layers"]])
            self.norm, self.classifier = nn.LayerNorm(embed), nn.Linear(embed, arch["classes"])

        def forward(self, x):
            x = self.patch(x).flatten(2).transpose(1, 2) + self.position
            return self.classifier(self.norm(self.layers(x)).mean(1))

    if arch["family"] == "mbconv":
        return MBConv()
    if arch["family"] == "vit":
        return ViT()
    if arch["family"] == "mamba":
        return mamba_network(arch, peer)
    raise SystemExit(f"family {arch['family']} is not benchmarked")


def mamba_network(arch, peer):
    """The oracle's Mamba module; with peer "scripted" its scan loop under TorchScript, with
    "cumsum" the closed form exp(L)·cumsum(exp(−L)·Δ·v·B), L = cumsum(Δ·A): the fastest PyTorch
    form measured here (it overflows float32 on long sequences, which does not change its speed)."""
    import sys
    import types
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(os.path.dirname(ROOT), "shared", "reference"))
    import pytorch_reference
    model = pytorch_reference.build(arch)
    if peer == "oracle":
        return model

    @torch.jit.script
    def loop_scan(v, dt, b, c, a, d):
        h = torch.zeros(v.shape[0], a.shape[0], a.shape[1])
        ys = []
        for t in range(v.shape[1]):
            h = torch.exp(dt[:, t, :, None] * a) * h + (dt[:, t, :, None] * v[:, t, :, None]) * b[:, t, None, :]
            ys.append((h * c[:, t, None, :]).sum(-1))
        return torch.stack(ys, 1) + d * v

    def cumsum_scan(v, dt, b, c, a, d):
        total = torch.cumsum(dt.unsqueeze(-1) * a, 1)
        h = torch.exp(total) * torch.cumsum(torch.exp(-total) * ((dt * v).unsqueeze(-1) * b.unsqueeze(2)), 1)
        return (h * c.unsqueeze(2)).sum(-1) + d * v

    scan = loop_scan if peer == "scripted" else cumsum_scan

    def forward(self, u):
        v = F.silu(self.conv(F.pad(u.transpose(1, 2), (self.k - 1, 0))).transpose(1, 2))
        dt = F.softplus(self.dt2(self.dt1(v)))
        return scan(v, dt, self.B(v), self.C(v), -torch.exp(self.A_log), self.D)

    for module in model.modules():
        if isinstance(module, pytorch_reference.Direction):
            module.forward = types.MethodType(forward, module)
    return model


def torch_samples_per_second(arch, batch, steps, threads, peer="oracle", autocast=False):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch_network(arch, peer)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    shape = arch["input"]
    images = torch.randn(batch, shape["channels"], shape["height"], shape["width"])
    labels = torch.randint(0, arch["classes"], (batch,))

    def step():
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start), sum(p.numel() for p in model.parameters())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("architectures", nargs="*")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
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
    print(f"threads {args.threads}, batch {args.batch}, {args.steps} steps (forward, cross-entropy, backward, SGD), "
          f"{args.rounds} interleaved rounds, our matrix products in {args.matmul_precision}")
    print(f"{'architecture':22} {'params':>8} {'ours samples/s':>15} {'torch samples/s':>16} {'ratio':>6} "
          f"{'per-round':>11} {'ours RSS MB':>11}" + (f" {'torch bf16 s/s':>15} {'ratio':>6} {'per-round':>11}" if bf16 else ""))
    for path in paths:
        arch = json.load(open(path))
        counted = json.loads(subprocess.check_output([binary, "count", path, "--json"], text=True))["params"]
        name = os.path.splitext(os.path.basename(path))[0]
        peers = ["oracle", "scripted", "cumsum"] if arch["family"] == "mamba" else ["oracle"]
        for peer in peers:
            ours, theirs, theirs_bf16, memory = [], [], [], []
            for _ in range(args.rounds):
                report = json.loads(subprocess.check_output(
                    [binary, "bench", "train", "--arch", path, "--batch", str(args.batch), "--steps", str(args.steps),
                     "--threads", str(args.threads), "--matmul-precision", args.matmul_precision, "--json"], text=True))
                ours.append(report["train_samples_per_s"])
                memory.append(report["peak_rss_mb"])
                rate, torch_params = torch_samples_per_second(arch, args.batch, args.steps, args.threads, peer)
                if torch_params != counted:
                    raise SystemExit(f"{path}: PyTorch network has {torch_params} parameters, edgenas counts {counted}")
                theirs.append(rate)
                if bf16:
                    theirs_bf16.append(torch_samples_per_second(arch, args.batch, args.steps, args.threads, peer,
                                                                autocast=True)[0])
            label = name if len(peers) == 1 else f"{name} ({ {'oracle': 'oracle', 'scripted': 'TorchScript', 'cumsum': 'cumsum'}[peer]})"
            columns = ratio_columns(ours, [theirs] + ([theirs_bf16] if bf16 else []), ours_over_peer=True, value_format="16.1f")
            print(f"{label:22} {counted:8d} {statistics.median(ours):15.1f}{columns[0]} {max(memory):11.1f}"
                  + "".join(columns[1:]), flush=True)
    print("ratio = our samples/s / PyTorch samples/s (higher is better for us)")


if __name__ == "__main__":
    main()
