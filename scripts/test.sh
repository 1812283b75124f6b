#!/usr/bin/env bash
# Sets up the machine and runs the whole test suite (debug build).
# Extra arguments go to swift test, e.g. scripts/test.sh --filter EdgeNASDataTests
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh --for-tests
# The run-store and worker tests need a PostgreSQL server: a throw-away cluster on loopback,
# stopped again when the suite ends.
eval "$(scripts/postgres-test-server.sh start)"
trap 'scripts/postgres-test-server.sh stop' EXIT
# OpenBLAS results differ in the last bits between thread counts; tests compare against one thread.
export OPENBLAS_NUM_THREADS=1
swift test "$@"
