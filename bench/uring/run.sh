#!/usr/bin/env bash
# Do io_uring batches cut what a small file costs a receiver and a sender? Plain syscalls against linked io_uring
# chains (and, for the receiver, against the creation strategies that skip the rename), on tmpfs, alternating, medians.
# Usage: bench/uring/run.sh [--files N] [--reps R] [--batch B] [--tree DIR]
#   --tree: an existing tree for the sender side (default: an ml_large-shaped one is generated, scale 0.5)
# Needs gcc and liburing-dev (installed with apt-get when missing, as root).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FILES=50000 REPS=3 BATCH=64 TREE=""
while [ $# -gt 0 ]; do
    case $1 in
        --files) FILES=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --batch) BATCH=$2; shift 2 ;;
        --tree) TREE=$2; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
if ! command -v gcc > /dev/null || [ ! -e /usr/include/liburing.h ]; then
    apt-get update -qq && apt-get install -y -qq gcc liburing-dev > /dev/null
fi
WORK=$(mktemp -d /dev/shm/actorsync-uring.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
gcc -O2 -Wall -o "$WORK/receiver" "$HERE/receiver.c" -luring
gcc -O2 -Wall -o "$WORK/sender" "$HERE/sender.c" -luring
if [ -z "$TREE" ]; then
    TREE=$WORK/tree
    python3 "$HERE/../gen_dataset.py" ml_large "$TREE" --scale 0.5 > /dev/null
fi
MODES_R="rename direct uring2 uringall"
[ "$(id -u)" = 0 ] && MODES_R="rename direct tmpfile uring2 uringall"   # linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH

for ((rep = 1; rep <= REPS; rep++)); do
    for m in $MODES_R; do rm -rf "$WORK/r"; "$WORK/receiver" "$m" "$FILES" "$WORK/r" "$BATCH"; done
    for m in plain uring uringstat; do "$WORK/sender" "$m" "$TREE" "$BATCH"; done
done | python3 -c '
import sys, statistics as st
us, cpu, order = {}, {}, []
for line in sys.stdin:
    f = line.split()
    side = "sender" if f[0] in ("plain", "uring", "uringstat") else "receiver"
    key = (side, f[0])
    if key not in us: order.append(key)
    us.setdefault(key, []).append(float(f[1])); cpu.setdefault(key, []).append(float(f[3]))
base = {"receiver": "rename", "sender": "plain"}
for side, mode in order:
    b = st.median(cpu[(side, base[side])])
    print(f"{side:8} {mode:9} {st.median(us[(side, mode)]):6.2f} us/file  cpu {st.median(cpu[(side, mode)]):.3f} s  = {st.median(cpu[(side, mode)]) / b:.2f}x the plain path'"'"'s CPU")
'
echo "(medians of $REPS; receiver: $FILES files of 6 KiB; sender: the tree's files; io_uring batches of $BATCH files)"
