#!/usr/bin/env python3
"""The three ONNX forms of a Mamba layer's selective scan, measured in ONNX Runtime in one run.

For each architecture (default: the 25 Mamba records of ../shared/reference/cost-golden.jsonl)
it exports the same seeded weights three times,

    edgenas export ARCH --seed 0 --mamba-scan unrolled|scan|cumsum --out F.onnx

and reports per form: the file size, the session-creation time (median of 5), the run time
at batch 1 (median over interleaved rounds of 200 runs, 1 intra-op thread) and the largest
difference of its logits from the unrolled form's (the engine's own match is checked by the
test suite). The forms are timed round-robin so that the machine's drift hits them alike;
each line reports the spread of the round medians.

    python3 scripts/bench-mamba-onnx-scan.py [--rounds 5] [--runs 200] [ARCH.json ...]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import onnxruntime as ort

from benchpeer import ROOT, edgenas_binary

FORMS = ["unrolled", "scan", "cumsum"]


def golden_architectures():
    path = os.path.join(os.path.dirname(ROOT), "shared", "reference", "cost-golden.jsonl")
    with open(path) as handle:
        records = [json.loads(line) for line in handle]
    return [(r["id"], r["arch"]) for r in records if r["arch"]["family"] == "mamba"]


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archs", nargs="*")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--edgenas", help="edgenas binary (default: build the release product)")
    args = parser.parse_args()
    binary = edgenas_binary(args.edgenas)
    architectures = [(os.path.basename(p), json.load(open(p))) for p in args.archs] or golden_architectures()
    totals = {form: {"bytes": [], "load_ms": [], "run_ms": []} for form in FORMS}
    print(f"{'architecture':<18} {'tok':>3} " + " ".join(f"{f + ' KB':>12} {'load ms':>8} {'run ms':>15} {'max |Δ|':>8}"
                                                          for f in FORMS))
    with tempfile.TemporaryDirectory() as directory:
        for name, arch in architectures:
            arch_path = os.path.join(directory, "arch.json")
            with open(arch_path, "w") as handle:
                json.dump(arch, handle)
            files = {}
            for form in FORMS:
                files[form] = os.path.join(directory, f"{form}.onnx")
                subprocess.check_call([binary, "export", arch_path, "--seed", "0", "--mamba-scan", form,
                                       "--out", files[form]], stdout=subprocess.DEVNULL)
            loads = {form: [] for form in FORMS}
            for _ in range(5):
                for form in FORMS:
                    start = time.perf_counter()
                    session(files[form])
                    loads[form].append((time.perf_counter() - start) * 1000)
            sessions = {form: session(files[form]) for form in FORMS}
            image = np.random.default_rng(7).uniform(-1, 1, (1, arch["input"]["channels"], arch["input"]["height"],
                                                              arch["input"]["width"])).astype(np.float32)
            outputs = {form: sessions[form].run(None, {"input": image})[0] for form in FORMS}
            rounds = {form: [] for form in FORMS}
            for _ in range(args.rounds):
                for form in FORMS:
                    times = []
                    for _ in range(args.runs):
                        start = time.perf_counter()
                        sessions[form].run(None, {"input": image})
                        times.append((time.perf_counter() - start) * 1000)
                    rounds[form].append(statistics.median(times))
            tokens = (arch["input"]["height"] // arch["patch"]) * (arch["input"]["width"] // arch["patch"])
            cells = []
            for form in FORMS:
                size = os.path.getsize(files[form])
                load, run = statistics.median(loads[form]), statistics.median(rounds[form])
                difference = float(np.nanmax(np.abs(outputs[form] - outputs["unrolled"]))) \
                    if np.isfinite(outputs[form]).all() else float("nan")
                totals[form]["bytes"].append(size)
                totals[form]["load_ms"].append(load)
                totals[form]["run_ms"].append(run)
                cells.append(f"{size / 1024:>12.0f} {load:>8.1f} {run:>7.3f} ±{(max(rounds[form]) - min(rounds[form])) / 2:<6.3f}"
                             f" {difference:>8.1e}")
            print(f"{name:<18} {tokens:>3} " + " ".join(cells), flush=True)
    print()
    for form in FORMS:
        t = totals[form]
        ratio = [r / u for r, u in zip(t["run_ms"], totals["unrolled"]["run_ms"])]
        print(f"{form:<9} median size {statistics.median(t['bytes']) / 1024:.0f} KB, load {statistics.median(t['load_ms']):.1f} ms, "
              f"run {statistics.median(t['run_ms']):.3f} ms; run time / unrolled: median {statistics.median(ratio):.2f}, "
              f"range {min(ratio):.2f}–{max(ratio):.2f}")


if __name__ == "__main__":
    main()
