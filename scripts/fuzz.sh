#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, with -sanitize=fuzzer,address) and runs one.
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   scripts/fuzz.sh list              # the targets
#   scripts/fuzz.sh build             # build them all, run none
# TARGET is one of the decoders: architecture-json space-json space-yaml device-yaml idx rank-jsonl image cifar.
# The run starts from the checked-in corpus (Tests/FuzzCorpusTests/Corpus/TARGET), grows a
# working corpus in .build-fuzz/corpus/TARGET and leaves crashes in .build-fuzz/crashes/TARGET;
# add a crash reproducer to the checked-in corpus once it is fixed, so the test suite replays it.
# The fuzz targets are never part of `swift build` or `swift test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

targets=(architecture-json space-json space-yaml device-yaml idx rank-jsonl image cifar)
scratch="$PWD/.build-fuzz"

build() {
    (cd Fuzz && swift build -c debug --scratch-path "$scratch/build" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld)
}

case "${1:-}" in
    list) printf '%s\n' "${targets[@]}"; exit 0 ;;
    build) build; exit 0 ;;
    "") echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...] | list | build" >&2; exit 64 ;;
esac

target="$1"
seconds="${2:?usage: scripts/fuzz.sh TARGET SECONDS}"
shift 2
if [[ ! " ${targets[*]} " == *" $target "* ]]; then
    echo "unknown target $target; one of: ${targets[*]}" >&2
    exit 64
fi
build
binary="$(cd Fuzz && swift build -c debug --scratch-path "$scratch/build" --show-bin-path \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld)/fuzz-$target"
corpus="$scratch/corpus/$target"
crashes="$scratch/crashes/$target"
mkdir -p "$corpus" "$crashes"
# Backtraces from the Swift runtime would slow every crash down and hide libFuzzer's report.
export SWIFT_BACKTRACE=enable=no
# detect_leaks=0: the Swift runtime's caches read as leaks to LeakSanitizer.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
# -timeout is wall time: 60 s, so that a fuzzer at low priority on a busy machine does not
# report the machine's load as a hang (every input here decodes in well under a second).
exec "$binary" "$corpus" "Tests/FuzzCorpusTests/Corpus/$target" \
    -max_total_time="$seconds" -max_len=4096 -timeout=60 -rss_limit_mb=2048 \
    -artifact_prefix="$crashes/" -print_final_stats=1 "$@"
