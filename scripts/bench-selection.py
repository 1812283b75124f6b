#!/usr/bin/env python3
"""Selection quality on held-out ground truth, next to Params, FLOPs and the random pick.

Runs `edgenas rank --json` for each scorer and seed on held-out ground truth (by default
benchmarks/groundtruth/groundtruth-dev2.jsonl; the pipeline's defaults were fitted on
groundtruth-dev.jsonl, see benchmarks/groundtruth/README.md), then prints Kendall tau and mean top-1 regret per
family, as mean and spread over the seeds. Runs are sequential (the machine has 2 cores and
each run is budgeted in wall time).

  python3 scripts/bench-selection.py --budget 5m --seeds 0 1 --scorers pipeline task probes
  python3 scripts/bench-selection.py --summarize runs/bench-selection/*.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchpeer import edgenas_binary  # noqa: E402


def run(edgenas, archs, scorer, budget, seed, out_dir):
    path = os.path.join(out_dir, f"{scorer}-{budget}-s{seed}.json")
    with open(path, "w") as out, open(path[:-5] + ".err", "w") as err:
        subprocess.run([edgenas, "rank", "--archs", archs, "--scorer", scorer, "--budget", budget, "--seed", str(seed), "--json"],
                       stdout=out, stderr=err, check=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    return path


def summarize(paths):
    groups = {}
    for path in paths:
        with open(path) as f:
            result = json.load(f)
        key = (result["scorer"], round(result.get("budget_seconds", 0)))
        groups.setdefault(key, []).append(result)
    for (scorer, budget), results in sorted(groups.items()):
        use = [r["wall_seconds"] / r["budget_seconds"] * 100 for r in results if r.get("budget_seconds")]
        print(f"\n## {scorer}, budget {budget} s, {len(results)} seed(s)"
              + (f", wall time {min(use):.0f}–{max(use):.0f}% of the budget" if use else ""))
        print("| scorer | subset | Kendall tau | mean regret (points) |")
        print("|---|---|---|---|")
        rows = {}
        for result in results:
            for row in result.get("quality", []):
                rows.setdefault((row["scorer"], row["subset"]), []).append(row)
        for (name, subset), items in rows.items():
            if name not in (scorer, "probe total", "params", "flops", "random"):
                continue
            taus = [r["kendall_tau"] for r in items if r.get("kendall_tau") is not None]
            regrets = [r["regret"]["mean_regret_points"] for r in items if r.get("regret")]

            def cell(values, fmt):
                if not values:
                    return "-"
                text = fmt % statistics.mean(values)
                return text + (f" (spread {fmt % min(values)}…{fmt % max(values)})" if len(values) > 1 else "")
            print(f"| {name} | {subset} | {cell(taus, '%+.2f')} | {cell(regrets, '%.2f')} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default=os.path.join(HERE, "..", "benchmarks", "groundtruth", "groundtruth-dev2.jsonl"))
    parser.add_argument("--budget", default="5m")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--scorers", nargs="+", default=["pipeline", "task", "probes"])
    parser.add_argument("--out", default="runs/bench-selection")
    parser.add_argument("--edgenas", help="the edgenas binary (default: the release build, built now if needed)")
    parser.add_argument("--summarize", nargs="+", metavar="JSON", help="only summarize earlier rank --json outputs")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return
    os.makedirs(args.out, exist_ok=True)
    edgenas = edgenas_binary(args.edgenas)
    paths = [run(edgenas, args.archs, scorer, args.budget, seed, args.out) for seed in args.seeds for scorer in args.scorers]
    summarize(paths)


if __name__ == "__main__":
    main()
