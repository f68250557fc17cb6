#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those missing. Run as root (or with sudo).
#   tools/setup.sh build   what building and running needs
#   tools/setup.sh test    that, plus what the tests need (PyTorch for reference values, clang for fuzzing)
set -euo pipefail
what=${1:-build}

build_pkgs=(g++ cmake make pkg-config curl ca-certificates libdnnl-dev libgtest-dev libbenchmark-dev
            nlohmann-json3-dev libcli11-dev libstb-dev libpng-dev fonts-dejavu-core libopenmpi-dev openmpi-bin)
test_pkgs=(python3 python3-torch python3-numpy clang libclang-rt-14-dev chromium iproute2)

pkgs=("${build_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
