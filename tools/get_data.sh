#!/usr/bin/env bash
# Downloads tiny-shakespeare into DIR (default data/) and verifies its md5.
set -euo pipefail
dir=${1:-data}
url=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
md5=6fb458f1232090904fb40fe944165e91
mkdir -p "$dir"
f="$dir/tinyshakespeare.txt"
if [ -f "$f" ] && echo "$md5  $f" | md5sum -c --quiet 2>/dev/null; then echo "$f is present"; exit 0; fi
if command -v curl >/dev/null; then curl -fsSL "$url" -o "$f.part"; else wget -q "$url" -O "$f.part"; fi
echo "$md5  $f.part" | md5sum -c --quiet || { echo "checksum mismatch for $url" >&2; rm -f "$f.part"; exit 1; }
mv "$f.part" "$f"
echo "wrote $f"
