#!/usr/bin/env bash
# Candidates per minute: workers sharing a store against one process, interleaved rounds.
#   scripts/bench-workers.sh zero-cost [ROUNDS]   naswot, 200 candidates: 1 process vs 4 workers on PostgreSQL
#   scripts/bench-workers.sh probes [ROUNDS]      the probes, 6 candidates on one calibrated plan: 1 worker × 2 threads
#                                                 vs 2 workers × 1 thread (copies of one SQLite store)
# Needs the release build and the test PostgreSQL (scripts/postgres-test-server.sh start).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly EDGENAS=$PWD/.build/release/edgenas SPACE=$PWD/spaces/fmnist-mbconv-tiny.json
readonly MODE=${1:?zero-cost or probes} ROUNDS=${2:-2}
eval "$(scripts/postgres-test-server.sh start)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
rate() { python3 -c "import sys; n, s = float(sys.argv[1]), float(sys.argv[2]); print(f'{n / s * 60:.1f} cand/min ({s:.1f} s)')" "$@"; }

wait_all() { local failed=0; for pid in "$@"; do wait "$pid" || failed=1; done; return $failed; }

if [[ $MODE == zero-cost ]]; then
    readonly N=200 OPTIONS=(--space "$SPACE" --scorer naswot --candidates 200 --seed 9)
    for round in $(seq "$ROUNDS"); do
        start=$(now)
        "$EDGENAS" search "${OPTIONS[@]}" --out "$WORK/single-$round" --export "$WORK/single-$round/w.onnx" >/dev/null 2>&1
        echo "round $round  1 process (2 side by side × 1 thread): $(rate $N "$(echo "$(now) - $start" | bc)")"

        db=bench_workers_$(date +%s%N)
        psql -q "$EDGENAS_TEST_POSTGRES_URL" -c "CREATE DATABASE $db"
        store=${EDGENAS_TEST_POSTGRES_URL%/*}/$db
        "$EDGENAS" search --store "$store" --init "${OPTIONS[@]}" --out "$WORK/shared-$round" \
            --export "$WORK/shared-$round/w.onnx" >/dev/null 2>&1
        start=$(now)
        pids=()
        for w in 1 2 3 4; do "$EDGENAS" worker --store "$store" --name "w$w" >/dev/null 2>&1 & pids+=($!); done
        wait_all "${pids[@]}"
        echo "round $round  4 workers × 1 thread on PostgreSQL:     $(rate $N "$(echo "$(now) - $start" | bc)")"
        cmp <(cut -d, -f1-6 "$WORK/single-$round/leaderboard.csv") <(cut -d, -f1-6 "$WORK/shared-$round/leaderboard.csv") \
            && echo "round $round  leaderboards equal"
    done
else
    # A plan of about 20 s per candidate, as in a real search.
    readonly N=6
    "$EDGENAS" search --store "sqlite:$WORK/plan.sqlite" --init --space "$SPACE" --scorer probes --budget 3m \
        --candidates $N --seed 9 --out "$WORK/probes" --export "$WORK/probes/w.onnx" 2>&1 | grep -E "^plan|ready" | tail -3
    for round in $(seq "$ROUNDS"); do
        for layout in "1x2" "2x1"; do
            rm -rf "$WORK/$layout" && mkdir -p "$WORK/$layout"
            cp "$WORK/plan.sqlite" "$WORK/$layout/run.sqlite"
            store="sqlite:$WORK/$layout/run.sqlite"
            start=$(now)
            if [[ $layout == 1x2 ]]; then
                "$EDGENAS" worker --store "$store" --threads 2 --out "$WORK/$layout" >/dev/null 2>&1
            else
                pids=()
                for w in 1 2; do "$EDGENAS" worker --store "$store" --threads 1 --name "w$w" --out "$WORK/$layout" >/dev/null 2>&1 & pids+=($!); done
                wait_all "${pids[@]}"
            fi
            echo "round $round  ${layout/x/ worker(s) × } thread(s): $(rate $N "$(echo "$(now) - $start" | bc)")"
        done
        cmp <(cut -d, -f1-12 "$WORK/1x2/leaderboard.csv") <(cut -d, -f1-12 "$WORK/2x1/leaderboard.csv") \
            && echo "round $round  leaderboards equal" || echo "round $round  leaderboards differ (thread counts change OpenBLAS's last bits)"
    done
fi
