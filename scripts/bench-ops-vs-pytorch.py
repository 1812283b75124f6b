#!/usr/bin/env python3
"""Engine kernels vs PyTorch CPU, measured in the same run.

Runs `edgenas bench ops --json` (our engine), then the same operations in PyTorch CPU with
the same thread count, and prints milliseconds, GFLOP/s, our/PyTorch speed ratio and the
fraction of the sgemm peak for each. The operations are rebuilt from the JSON that our
benchmark prints, so both sides do exactly the same work (forward, then backward of the sum,
with input and weight gradients).

PyTorch is a benchmark peer only: this script installs it (pip) when it is missing; the
project's setup and CI never do.

    python3 scripts/bench-ops-vs-pytorch.py [--threads 2] [--seconds 0.5] [--json]
"""
import argparse
import json
import subprocess
import time

from benchpeer import edgenas_binary, ensure_torch




def median_ms(body, seconds):
    body(); body()
    samples = []
    start = time.perf_counter()
    while len(samples) < 5 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        body()
        samples.append((time.perf_counter() - t0) * 1e3)
        if len(samples) >= 1000:
            break
    samples.sort()
    return samples[len(samples) // 2]


def torch_step(spec):
    import torch
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(1)

    def param(*shape):
        return (torch.rand(*shape, generator=g) * 2 - 1).requires_grad_(True)

    if spec["kind"] == "conv2d":
        x = param(spec["batch"], spec["in_channels"], spec["size"], spec["size"])
        w = param(spec["out_channels"], spec["in_channels"] // spec["groups"], spec["kernel"], spec["kernel"])

        def step():
            x.grad = None; w.grad = None
            F.conv2d(x, w, stride=spec["stride"], padding=spec["kernel"] // 2, groups=spec["groups"]).sum().backward()
        return step
    if spec["kind"] == "matmul":
        a = param(spec["rows"], spec["inner"]); b = param(spec["inner"], spec["columns"])

        def step():
            a.grad = None; b.grad = None
            (a @ b).sum().backward()
        return step
    B, N, D, H = spec["batch"], spec["tokens"], spec["embed"], spec["heads"]
    qkv = param(B, N, 3 * D)

    def step():
        qkv.grad = None
        q, k, v = qkv.reshape(B, N, 3, H, D // H).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        y.transpose(1, 2).reshape(B, N, D).sum().backward()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--edgenas", default=None, help="path to the edgenas binary (default: release build)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args()

    binary = edgenas_binary(args.edgenas)
    ours = json.loads(subprocess.check_output(
        [binary, "bench", "ops", "--json", "--threads", str(args.threads), "--seconds", str(args.seconds)], text=True))

    ensure_torch()
    import torch
    torch.set_num_threads(args.threads)
    rows = []
    for op in ours["operations"]:
        spec = op["spec"]
        torch_ms = median_ms(torch_step(spec), args.seconds)
        flops = op["gflops_per_second"] * op["forward_backward_milliseconds"] * 1e6
        rows.append({
            "name": spec["name"],
            "ours_ms": op["forward_backward_milliseconds"],
            "pytorch_ms": torch_ms,
            "ours_gflops": op["gflops_per_second"],
            "pytorch_gflops": flops / (torch_ms * 1e6),
            "speed_ratio": torch_ms / op["forward_backward_milliseconds"],
            "ours_fraction_of_peak": op["fraction_of_sgemm_peak"],
        })
    summary = {"threads": args.threads, "blas_core": ours["blas_core"], "torch": torch.__version__,
               "sgemm_peak_gflops": ours["sgemm_peak_gflops_per_second"], "operations": rows}
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    print(f"threads {args.threads}, OpenBLAS {ours['blas_core']}, PyTorch {torch.__version__}, "
          f"sgemm peak {summary['sgemm_peak_gflops']:.1f} GFLOP/s")
    print(f"{'operation':34} {'ours ms':>9} {'torch ms':>9} {'ours GF/s':>9} {'torch GF/s':>10} {'ratio':>6} {'of peak':>7}")
    for r in rows:
        print(f"{r['name']:34} {r['ours_ms']:9.3f} {r['pytorch_ms']:9.3f} {r['ours_gflops']:9.1f} "
              f"{r['pytorch_gflops']:10.1f} {r['speed_ratio']:6.2f} {r['ours_fraction_of_peak'] * 100:6.0f}%")
    print("ratio = PyTorch time / our time (higher is better for us)")


if __name__ == "__main__":
    main()
