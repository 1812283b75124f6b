#!/usr/bin/env bash
# The main job on the embedded default, from a fresh machine:
#   1. install what is missing and build edgenas in release;
#   2. profile this machine (devices/local.yaml) for the tiny-MBConv reference space,
#      resuming the table when it already exists;
#   3. search that space under a latency limit that cuts off the slower half, score the
#      candidates with the six probes on real Fashion-MNIST, train the winner one epoch,
#      export it to exports/readme-tiny-mbconv.onnx and time it in ONNX Runtime.
# Extra arguments go to `edgenas search`, e.g. scripts/run.sh --budget 20m --candidates 24
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
swift build -c release --product edgenas
edgenas="$(swift build -c release --show-bin-path)/edgenas"

space=spaces/fmnist-mbconv-tiny.json
device=devices/local.yaml
run=runs/readme-tiny-mbconv

echo "== profile: block latencies of $space on this machine =="
"$edgenas" profile --space "$space" --device "$device" --calibrate 8

echo "== search: $space under a latency limit =="
resume=()
# A run folder from an earlier call goes on where it stopped (or rebuilds its outputs).
if [[ -f "$run/search.sqlite" ]]; then resume=(--resume); fi
"$edgenas" search --space "$space" --device "$device" --max-latency-quantile 0.5 \
    --budget 5m --candidates 12 --train-epochs 1 --out "$run" --export exports/readme-tiny-mbconv.onnx \
    "${resume[@]}" "$@"

echo "== report: $run/report.md =="
cat "$run/report.md"
