#!/bin/sh
# run_fuzzer.sh NAME SOURCE_DIR WORK_DIR SECONDS
# Builds the libFuzzer harness tests/fuzz/fuzz_NAME.cpp with clang++ from the parser's own sources
# (src/io/NAME.cpp and what it needs, none of the tensor code) under ASan and UBSan, then fuzzes for
# SECONDS from the seed corpus tests/fuzz/corpus/NAME (read-only; new inputs go to WORK_DIR).
# Any crash, sanitizer report or leak fails, leaving the input in WORK_DIR. The seed is fixed so that
# a run is repeatable; the corpus kept in WORK_DIR grows from run to run.
set -eu
name=$1 src=$2 work=$3 secs=$4
cxx=${LJ_FUZZ_CXX:-clang++}
command -v "$cxx" >/dev/null || { echo "$cxx not found: install clang and libclang-rt-14-dev (tools/setup.sh test)"; exit 1; }
mkdir -p "$work/corpus_$name"
bin="$work/fuzz_$name"
sources="$src/tests/fuzz/fuzz_$name.cpp $src/src/io/$name.cpp $src/src/io/array.cpp $src/src/io/mapped_file.cpp"
headers="$src/include/llm_journey/io.hpp $src/include/llm_journey/error.hpp $src/src/io/checked.hpp $src/src/io/mapped_file.hpp"
stale=1
if [ -x "$bin" ]; then
  stale=0
  for f in $sources $headers; do [ "$f" -nt "$bin" ] && stale=1; done
fi
if [ $stale = 1 ]; then
  echo "building $bin"
  # shellcheck disable=SC2086
  "$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$src/include" -I"$src/src" $sources -o "$bin"
fi
cd "$work"
exec "$bin" -seed=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$work/crash_${name}_" "$work/corpus_$name" "$src/tests/fuzz/corpus/$name"
