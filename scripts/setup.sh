#!/usr/bin/env bash
# Installs what EdgeNAS needs on Debian 12, and only what is missing, so that
# a second run is a quiet no-op. Runs as root, or through sudo when available.
set -euo pipefail

readonly APT_PACKAGES=(
    libopenblas-dev       # BLAS for the tensor engine
    libonnx-dev           # native ONNX checker
    libprotobuf-dev       # needed by libonnx, which does not pull it in
    dataset-fashion-mnist # the real dataset, in /usr/share/datasets/fashion-mnist
    zlib1g-dev            # reading the gzip-compressed dataset
    libsqlite3-dev        # latency lookup tables
    libpng-dev            # image-folder datasets: PNG
    libjpeg62-turbo-dev   # image-folder datasets: JPEG
    libdnnl2              # oneDNN: bf16 matrix products (--matmul-precision bf16), loaded at run time
    libpq-dev             # PostgreSQL's C client: run stores shared by workers (--store postgresql://...)
)
# Only for the test suite (scripts/setup.sh --for-tests): the servers its store and worker tests start.
readonly TEST_APT_PACKAGES=(
    postgresql            # a throw-away cluster on loopback (scripts/postgres-test-server.sh)
    slurm-wlm             # a one-node Slurm on localhost for the worker array test (scripts/slurm-test.sh)
    munge                 # Slurm's authentication between its daemons
)
readonly ONNX_VERSION=1.23.2
readonly ONNXRUNTIME_VERSION=1.32.0

fail() {
    echo "setup.sh: error: $*" >&2
    exit 1
}

# The prefix that runs a command as root: nothing when we are root, else sudo.
root_command_prefix() {
    if [[ $(id -u) -eq 0 ]]; then
        ROOT_PREFIX=()
    elif command -v sudo >/dev/null 2>&1; then
        ROOT_PREFIX=(sudo)
    else
        fail "installing $1 needs root: run scripts/setup.sh as root or install sudo"
    fi
}

# Runs a command with its output kept in a log that is shown only if it fails.
run_quietly() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        echo "setup.sh: '$*' failed:" >&2
        tail -n 40 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

is_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

install_system_packages() {
    command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
        || fail "dpkg and apt-get not found: EdgeNAS's setup expects Debian 12"
    local missing=()
    local wanted=("${APT_PACKAGES[@]}")
    [[ $FOR_TESTS == 1 ]] && wanted+=("${TEST_APT_PACKAGES[@]}")
    for package in "${wanted[@]}"; do
        is_installed "$package" || missing+=("$package")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0

    root_command_prefix "${missing[*]}"
    echo "setup.sh: installing ${missing[*]} with apt-get"
    run_quietly "${ROOT_PREFIX[@]}" apt-get update \
        || fail "apt-get update failed; check the network and /etc/apt/sources.list"
    run_quietly "${ROOT_PREFIX[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}" \
        || fail "could not install ${missing[*]}; on Debian 12 they are in the main archive"
}

python_packages_match() {
    python3 - "$ONNX_VERSION" "$ONNXRUNTIME_VERSION" >/dev/null 2>&1 <<'PYTHON'
import sys
import onnx, onnxruntime
sys.exit(0 if (onnx.__version__, onnxruntime.__version__) == tuple(sys.argv[1:3]) else 1)
PYTHON
}

python_is_externally_managed() {
    python3 - <<'PYTHON'
import os, sys, sysconfig
in_virtual_environment = sys.prefix != sys.base_prefix
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if not in_virtual_environment and os.path.exists(marker) else 1)
PYTHON
}

install_python_packages() {
    command -v python3 >/dev/null 2>&1 \
        || fail "python3 not found: install it (apt-get install python3 python3-pip), then rerun"
    python_packages_match && return 0

    python3 -m pip --version >/dev/null 2>&1 \
        || fail "pip not found for python3: install it (apt-get install python3-pip), then rerun"
    local requirements=("onnx==$ONNX_VERSION" "onnxruntime==$ONNXRUNTIME_VERSION")
    local pip_options=(--quiet)
    if python_is_externally_managed; then
        # Debian's own python3 refuses pip installs (PEP 668) unless told otherwise.
        pip_options+=(--break-system-packages)
        echo "setup.sh: python3 is Debian's externally managed one; installing into it with --break-system-packages"
    fi
    echo "setup.sh: installing ${requirements[*]} with pip"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
        run_quietly python3 -m pip install "${pip_options[@]}" "${requirements[@]}" \
        || fail "pip could not install ${requirements[*]}; check the network, or install them into python3 yourself"
    python_packages_match \
        || fail "python3 still does not import onnx $ONNX_VERSION and onnxruntime $ONNXRUNTIME_VERSION after pip install"
}

check_swift() {
    local version
    if ! version=$(swift --version 2>&1); then
        fail "Swift not found on PATH: install the Swift 6 toolchain for Debian 12 from https://www.swift.org/install/linux/ and add its usr/bin directory to PATH"
    fi
    if ! grep -q 'Swift version 6\.' <<<"$version"; then
        fail "EdgeNAS needs Swift 6.x, found: $(head -n 1 <<<"$version")"
    fi
}

FOR_TESTS=0
case "${1:-}" in
    --for-tests) FOR_TESTS=1 ;;
    "") ;;
    *) fail "unknown option $1 (the only one is --for-tests: also install what the test suite's servers need)" ;;
esac

install_system_packages
install_python_packages
check_swift
