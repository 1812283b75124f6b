#!/usr/bin/env bash
# The main job: set up the machine, build the CLI in release, run it.
# Extra arguments go to the command, e.g. scripts/run.sh --help
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
swift build -c release --product edgenas
edgenas="$(swift build -c release --show-bin-path)/edgenas"

# Until the search command exists, the main job is the training demo on Fashion-MNIST.
exec "$edgenas" demo "$@"
