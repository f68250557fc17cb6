#!/usr/bin/env bash
# make bench: the layer benchmarks side by side with PyTorch (see compare.py).
set -euo pipefail
build=${1:-build}
exec /usr/bin/python3 "$(dirname "$0")/compare.py" "$build" "${@:2}"
