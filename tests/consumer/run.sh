#!/usr/bin/env bash
# Installs the built library into a temporary prefix, builds examples/quickstart.cpp against it with
# find_package(llm_journey), runs it and checks its first line (the seed's parameter count).
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
      -DQUICKSTART_SOURCE="$src/examples/quickstart.cpp" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/build" >/dev/null
out=$("$tmp/build/quickstart")
echo "$out"
[ "$(echo "$out" | head -1)" = "16640" ]
echo "$out" | grep -q "^\[2, 10, 64\] "
echo "$out" | grep -q "^attention.w_q.weight \[64, 64\] "
