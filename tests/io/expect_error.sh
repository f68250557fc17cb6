#!/bin/sh
# expect_error.sh PATTERN COMMAND...: COMMAND must exit non-zero and print PATTERN (grep -F) on stderr.
pattern=$1; shift
err=$("$@" 2>&1 >/dev/null) && { echo "exited 0: $*"; exit 1; }
printf '%s\n' "$err"
printf '%s' "$err" | grep -qF -- "$pattern" || { echo "message lacks: $pattern"; exit 1; }
