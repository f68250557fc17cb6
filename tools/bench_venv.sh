#!/usr/bin/env bash
# The speed anchor for the benchmarks: the current PyTorch from PyPI, in a virtual environment under
# the build folder (BUILD/bench-venv). It pulls its CUDA libraries too (about 5 GB), so only `make bench`
# installs it; the tests use Debian's python3-torch. Prints the environment's python.
#   tools/bench_venv.sh BUILD
set -euo pipefail
venv=${1:-build}/bench-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  if ! python3 -c "import ensurepip" 2>/dev/null; then  # Debian keeps venv's pip in python3-venv
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  echo "Installing PyTorch from PyPI into $venv (about 5 GB, once)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q torch numpy >&2
fi
echo "$venv/bin/python"
