#!/bin/sh
# Usage: binary_prefetches.sh BINARY NAME...
# Fails unless the machine code of each function of BINARY whose demangled name contains NAME has
# a prefetch instruction. The stores' batch lookups depend on their prefetches (ADR 015), and GCC
# silently deleted a loop of them once (store/prefetch.hpp); no functional test can see that.
set -eu
binary=$1
shift
for name in "$@"; do
    count=$(objdump -d --no-show-raw-insn -C "$binary" | awk -v name="$name" '
        /^[0-9a-f]+ <.*>:$/ { inside = index($0, name) > 0 && index($0, "[clone .cold]") == 0; next }
        inside && /prefetch/ { n++ }
        END { print n + 0 }')
    if [ "$count" -eq 0 ]; then
        echo "no prefetch left in $name"
        exit 1
    fi
    echo "$name: $count prefetch instructions"
done
