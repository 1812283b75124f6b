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


def quantile(values, q):
    """Linear interpolation between order statistics, as SelectionRegret.limits does."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean_regret(scores, accuracies, costs):
    """Mean top-1 regret in points under limits at the 0.3/0.5/0.7/1.0 quantiles of the costs."""
    regrets = []
    for limit in [quantile(costs, q) for q in (0.3, 0.5, 0.7, 1.0)]:
        feasible = [i for i, cost in enumerate(costs) if cost <= limit]
        pick = max(feasible, key=lambda i: (scores[i], -i))
        regrets.append(100 * (max(accuracies[i] for i in feasible) - accuracies[pick]))
    return statistics.mean(regrets)


def kendall_tau(xs, ys):
    """Kendall tau-b."""
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            dx, dy = xs[i] - xs[j], ys[i] - ys[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = ((concordant + discordant + ties_x) * (concordant + discordant + ties_y)) ** 0.5
    return (concordant - discordant) / denominator if denominator else 0.0


def noise_floor(archs):
    """What one complete training of every architecture achieves: ranked by one training
    seed's test accuracy and judged on the other seed's (both ways), per family, with the
    limits on FLOPs as `rank` sets them without a latency table. A selection cannot be
    expected to beat this on the same data; Params can, by luck of the set."""
    with open(archs) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if len(r.get("seed_accs") or []) >= 2]
    if not rows:
        return
    print(f"\n## Noise floor of {os.path.basename(archs)}: one complete training seed judged on the other")
    print("| subset | count | Kendall tau (seed 1 vs seed 2) | mean regret, seed 1 → 2 / 2 → 1 (points) | Params regret on the mean (points) |")
    print("|---|---|---|---|---|")
    families = sorted({r["arch"]["family"] for r in rows})
    for family in families + (["all"] if len(families) > 1 else []):
        members = [r for r in rows if family in ("all", r["arch"]["family"])]
        first = [r["seed_accs"][0] for r in members]
        second = [r["seed_accs"][1] for r in members]
        costs = [r["flops"] for r in members]
        params = [r["params"] for r in members]
        print(f"| {family} | {len(members)} | {kendall_tau(first, second):+.2f} | {mean_regret(first, second, costs):.2f} / "
              f"{mean_regret(second, first, costs):.2f} | {mean_regret(params, [r['test_acc'] for r in members], costs):.2f} |")


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
        noise_floor(args.archs)
        return
    os.makedirs(args.out, exist_ok=True)
    edgenas = edgenas_binary(args.edgenas)
    paths = [run(edgenas, args.archs, scorer, args.budget, seed, args.out) for seed in args.seeds for scorer in args.scorers]
    summarize(paths)
    noise_floor(args.archs)


if __name__ == "__main__":
    main()
