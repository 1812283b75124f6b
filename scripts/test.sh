#!/usr/bin/env bash
# Sets up the machine and runs the whole test suite (debug build).
# Extra arguments go to swift test, e.g. scripts/test.sh --filter EdgeNASDataTests
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
# OpenBLAS results differ in the last bits between thread counts; tests compare against one thread.
export OPENBLAS_NUM_THREADS=1
exec swift test "$@"
