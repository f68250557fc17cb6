#!/usr/bin/env bash
# make bench: the machine's peaks and the library's products against them (bench_peak, and PyTorch's
# products at the same shapes), then the layer benchmarks side by side with PyTorch (compare.py), all
# against the current PyTorch from PyPI (tools/bench_venv.sh installs it under the build folder).
set -euo pipefail
build=${1:-build}
here=$(dirname "$0")
python=$("$here/../tools/bench_venv.sh" "$build")
"$python" "$here/gemm_compare.py" "$build"
echo
exec "$python" "$here/compare.py" "$build" "${@:2}"
