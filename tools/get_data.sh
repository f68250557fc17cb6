#!/usr/bin/env bash
# Downloads tiny-shakespeare into DIR (default data/) and verifies its md5.
#   tools/get_data.sh [DIR]         (make data)
# LJ_DATA_URL overrides the source (a mirror, or file:///path for an offline copy).
set -euo pipefail
dir=${1:-data}
url=${LJ_DATA_URL:-https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt}
md5=6fb458f1232090904fb40fe944165e91
mkdir -p "$dir"
f="$dir/tinyshakespeare.txt"
if [ -f "$f" ] && echo "$md5  $f" | md5sum -c --quiet >/dev/null 2>&1; then echo "$f is present"; exit 0; fi
trap 'rm -f "$f.part"' EXIT
if command -v curl >/dev/null; then
  curl -fsSL "$url" -o "$f.part" || { echo "could not download $url" >&2; exit 1; }
elif command -v wget >/dev/null; then
  wget -q "$url" -O "$f.part" || { echo "could not download $url" >&2; exit 1; }
else
  echo "neither curl nor wget is installed (apt-get install curl ca-certificates): cannot download $url" >&2; exit 1
fi
echo "$md5  $f.part" | md5sum -c --quiet >/dev/null 2>&1 || { echo "checksum mismatch for $url (expected md5 $md5)" >&2; exit 1; }
mv "$f.part" "$f"
echo "wrote $f ($(wc -c < "$f") bytes)"
