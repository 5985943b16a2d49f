#!/usr/bin/env bash
# Scale-out of a cluster job on one machine: the same job with 1, 2 and 3 sender nodes, each capped with
# --bwlimit (standing in for one machine's NIC), into one receiver node. If coordination is not the limit, the
# aggregate rate grows with the senders: the issue's bar is >= 1.8x with 2 and >= 2.5x with 3.
#
#   bench/cluster.sh [--rate 20M] [--mib 384] [--reps 3] [--one-file [--range-size 32M]] [--keep]
#
# --one-file: the dataset is a single file of --mib MiB, which the job sends in ranges of --range-size (each a unit
# any sender node may take), so one huge file scales out like a tree does.
#
# Prints a table of median job times (the coordinator's elapsed_s: first unit handed out to last confirmed) and
# wall times of `actorsync job`. Data and DEST live in /dev/shm; everything is removed at the end unless --keep.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=20M MIB=384 REPS=3 KEEP=0 ONE_FILE=0 RANGE=32M
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rate) RATE=$2; shift 2 ;;
    --mib) MIB=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --one-file) ONE_FILE=1; shift ;;
    --range-size) RANGE=$2; shift 2 ;;
    *) echo "usage: $0 [--rate 20M] [--mib 384] [--reps 3] [--one-file [--range-size 32M]] [--keep]" >&2; exit 2 ;;
  esac
done
BIN=src/Host/bin/Release/net10.0/actorsync
dotnet build src/Host -c Release -v q -nologo >/dev/null
WORK=/dev/shm/actorsync-cluster-bench
rm -rf "$WORK"; mkdir -p "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; [[ $KEEP == 1 ]] || rm -rf "$WORK"; }
trap cleanup EXIT
"$BIN" keygen "$WORK/key" 2>/dev/null
echo "actorsync.cluster.range-size = $RANGE" >"$WORK/nodes.conf"
# 32 directories of 4 MiB files (and a few small ones): enough units for 3 nodes x 2 at a time. Or one file.
python3 - "$WORK/src" "$MIB" "$ONE_FILE" <<'PY'
import os, sys
root, mib, one = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
if one:
    os.makedirs(root)
    with open(os.path.join(root, "huge.bin"), "wb") as out:
        for _ in range(mib): out.write(os.urandom(1 << 20))
    sys.exit(0)
dirs, per = 32, max(1, mib // 32 // 4)
for d in range(dirs):
    p = os.path.join(root, f"shard{d:02d}")
    os.makedirs(p)
    for f in range(per):
        with open(os.path.join(p, f"part{f}.bin"), "wb") as out: out.write(os.urandom(4 << 20))
    for f in range(20):
        with open(os.path.join(p, f"meta{f}.json"), "wb") as out: out.write(os.urandom(2000))
PY
BYTES=$(du -sb "$WORK/src" | cut -f1)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_cluster() {  # $1 = sender nodes; prints "elapsed wall" per rep
  local n=$1 ports=() i
  PIDS=()
  for ((i = 0; i <= n; i++)); do ports+=("$(port)"); done
  local seeds="--seed 127.0.0.1:${ports[0]} --seed 127.0.0.1:${ports[1]}"
  # The receiver first: it is the oldest node, so the coordinator runs there and not on a capped sender.
  "$BIN" node --listen "127.0.0.1:${ports[0]}" --data-listen "127.0.0.1:$(port)" $seeds --role receiver --secret-file "$WORK/key" --config "$WORK/nodes.conf" >"$WORK/node0.log" 2>&1 &
  PIDS+=($!)
  sleep 2
  for ((i = 1; i <= n; i++)); do
    "$BIN" node --listen "127.0.0.1:${ports[$i]}" $seeds --role sender --bwlimit "$RATE" --secret-file "$WORK/key" --config "$WORK/nodes.conf" >"$WORK/node$i.log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 60); do
    up=$("$BIN" cluster status --cluster "127.0.0.1:${ports[0]}" --secret-file "$WORK/key" --json 2>/dev/null | python3 -c 'import json,sys; print(sum(m["status"]=="Up" for m in json.load(sys.stdin)["members"]))' || echo 0)
    [[ $up == $((n + 1)) ]] && break
    sleep 1
  done
  for ((r = 0; r < REPS; r++)); do
    rm -rf "$WORK/dst"
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN" job "$WORK/src" "$WORK/dst" --cluster "127.0.0.1:${ports[0]}" --secret-file "$WORK/key" --json >"$WORK/job.json" 2>"$WORK/job.err" || { cat "$WORK/job.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    diff -r -q "$WORK/src" "$WORK/dst" >/dev/null || { echo "DEST differs from SRC" >&2; exit 1; }
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["summary"]["elapsed_s"], float(sys.argv[3])-float(sys.argv[2]), len(j["nodes"]))' "$WORK/job.json" "$t0" "$t1"
  done
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

what="in 32 directories"; [[ $ONE_FILE == 1 ]] && what="in one file, ranges of $RANGE"
echo "dataset: $((BYTES / 1048576)) MiB $what; each sender node capped at $RATE/s; 1 receiver node; $REPS reps, medians"
printf "%-8s %10s %10s %10s %9s %12s\n" senders "job s" "wall s" "MiB/s" speedup "nodes used"
base=""
for n in 1 2 3; do
  mapfile -t rows < <(run_cluster "$n")
  read -r med wall used < <(printf '%s\n' "${rows[@]}" | python3 -c '
import sys, statistics
rows = [l.split() for l in sys.stdin if l.strip()]
print(statistics.median(float(r[0]) for r in rows), statistics.median(float(r[1]) for r in rows), min(int(r[2]) for r in rows))')
  [[ -z $base ]] && base=$med
  python3 -c 'import sys; n,med,wall,used,base,b=sys.argv[1:]; med=float(med); print(f"{n:<8} {med:10.2f} {float(wall):10.2f} {int(b)/1048576/med:10.1f} {float(base)/med:8.2f}x {used:>12}")' "$n" "$med" "$wall" "$used" "$base" "$BYTES"
done
