#!/usr/bin/env bash
# ActorSync benchmark: rsync over ssh vs ActorSync on synthetic ML dataset shapes.
# Run `bench/run.sh --help` for usage. Progress goes to stderr, the report to
# stdout and to bench/results/<timestamp>.txt.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
GEN="$SCRIPT_DIR/gen_dataset.py"
RESULTS_DIR="$SCRIPT_DIR/results"
ALL_DATASETS="ml_small,ml_large,ml_images"

# ---- defaults (flags override) ----------------------------------------------
SCALE=1.0
DATASETS=$ALL_DATASETS
STREAMS=8
REPS=1
BENCH_ROOT=/dev/shm/actorsync-bench
SRC_ROOT=$BENCH_ROOT/src
DEST_ROOT=$BENCH_ROOT/dst
KEEP=0
SKIP_BUILD=0
CLEAN=0
ACTORSYNC=${ACTORSYNC_BIN:-$REPO_ROOT/out/actorsync}
BASELINE=${ACTORSYNC_BASELINE_BIN:-}     # another actorsync build, timed in the same run (before/after)
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-3600}   # seconds, per single copy run
HEADROOM=$((1024 * 1024 * 1024))         # RAM kept free when filling a tmpfs

usage() {
    cat <<EOF
Usage: bench/run.sh [options]

Benchmarks ActorSync (out/actorsync) against 'rsync -a' over ssh (default
ciphers, throwaway sshd on 127.0.0.1), 'tar | ssh -c aes128-gcm' and a local
'cp -a' (writing the copy alone) on generated datasets, verifies every copy
against the source, measures the machine's crypto floor for each dataset
(sealing and opening its bytes as TLS 1.3 records, the work spread over all
cores) and prints a report (also saved to bench/results/).

Options:
  --scale F          scale file counts and total sizes by F (default $SCALE;
                     0.1 -> 1K/10K/10K files)
  --datasets LIST    comma-separated subset of $ALL_DATASETS (default: all)
                       ml_small   10,000 files,  60 MiB, ~6 KiB each,  ~100 dirs
                       ml_large  100,000 files, 590 MiB, ~6 KiB each, ~1000 dirs (2 levels)
                       ml_images 100,000 files, 9.7 GiB, ~100 KiB each, 1000 dirs
  --streams N        ActorSync --streams (default $STREAMS)
  --reps N           repetitions per tool, run alternately; medians reported (default $REPS)
  --dest-root DIR    destination root (default $DEST_ROOT, tmpfs);
                     a disk path makes this a disk run, labelled so in the report
  --src-root DIR     where datasets are generated and kept for reuse
                     (default $SRC_ROOT)
  --keep             keep the last destination trees and the work dir (logs, JSON)
  --baseline BIN     also time this actorsync binary (e.g. a build of an earlier
                     commit) in the same run, alternating with the others, and
                     report actorsync's speed-up over it (before/after a change)
  --skip-build       do not run 'dotnet publish'; use the existing out/actorsync
  --clean            delete the generated datasets under --src-root (they are kept
                     for reuse, and on tmpfs they hold RAM) and exit
  -h, --help         this text

Environment:
  ACTORSYNC_BIN      benchmark this binary instead of out/actorsync (implies --skip-build)
  ACTORSYNC_BASELINE_BIN  the same as --baseline
  BENCH_RUN_TIMEOUT  seconds before a single copy run is killed (default $RUN_TIMEOUT)

Needs root for 'apt-get install' of missing tools (rsync, openssh-server,
openssh-client, time, iproute2) and to run sshd. Exit status: 0 when every
run succeeded and verified, 1 otherwise.
EOF
}

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
gib() { awk -v b="$1" 'BEGIN { printf "%.2f GiB", b / 1073741824 }'; }
human_size() {
    awk -v b="$1" 'BEGIN { if (b >= 1073741824) printf "%.2f GiB", b / 1073741824;
                           else printf "%.1f MiB", b / 1048576 }'
}
median() {  # median of the numbers given as arguments
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2];
              else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
max_of() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# ---- arguments --------------------------------------------------------------
parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --scale) SCALE=${2:?--scale needs a value}; shift ;;
            --datasets) DATASETS=${2:?--datasets needs a value}; shift ;;
            --streams) STREAMS=${2:?--streams needs a value}; shift ;;
            --reps) REPS=${2:?--reps needs a value}; shift ;;
            --dest-root) DEST_ROOT=${2:?--dest-root needs a value}; shift ;;
            --src-root) SRC_ROOT=${2:?--src-root needs a value}; shift ;;
            --keep) KEEP=1 ;;
            --baseline) BASELINE=${2:?--baseline needs a binary}; shift ;;
            --skip-build) SKIP_BUILD=1 ;;
            --clean) CLEAN=1 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
        shift
    done
    if ! [[ $SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }'; then
        die "--scale must be a positive number, got '$SCALE'"
    fi
    [[ $STREAMS =~ ^[1-9][0-9]*$ ]] || die "--streams must be a positive integer"
    [[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
    local d
    IFS=, read -r -a DATASET_LIST <<< "$DATASETS"
    [ ${#DATASET_LIST[@]} -gt 0 ] || die "--datasets is empty"
    for d in "${DATASET_LIST[@]}"; do
        [[ ,$ALL_DATASETS, == *",$d,"* ]] || die "unknown dataset '$d' (known: $ALL_DATASETS)"
    done
    [ -n "${ACTORSYNC_BIN:-}" ] && SKIP_BUILD=1
    DEST_ROOT=${DEST_ROOT%/}
    SRC_ROOT=${SRC_ROOT%/}
    [ "$SRC_ROOT" != "$DEST_ROOT" ] || die "--src-root and --dest-root must differ"
}

# ---- setup ------------------------------------------------------------------
install_deps() {
    local missing=()
    command -v rsync >/dev/null || missing+=(rsync)
    [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    { command -v ssh && command -v ssh-keygen; } >/dev/null || missing+=(openssh-client)
    [ -x /usr/bin/time ] || missing+=(time)
    command -v ss >/dev/null || missing+=(iproute2)
    { [ -x /usr/bin/python3 ] || command -v python3; } >/dev/null || missing+=(python3)
    if [ ${#missing[@]} -gt 0 ]; then
        [ "$(id -u)" = 0 ] || die "missing ${missing[*]} and not root: install them first"
        log "installing: ${missing[*]}"
        # keep the package from starting a system-wide sshd on port 22
        local policy_added=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            policy_added=1
        fi
        local rc=0
        { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "${missing[@]}"; } > "$WORK/apt.log" 2>&1 < /dev/null || rc=$?
        [ $policy_added = 0 ] || rm -f /usr/sbin/policy-rc.d
        [ $rc = 0 ] || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get install failed"; }
    fi
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
    [ "$(id -u)" = 0 ] || die "must run as root (sshd, rsync as root@127.0.0.1)"
}

build_actorsync() {
    if [ $SKIP_BUILD = 0 ]; then
        log "building: dotnet publish src/Host -c Release -o out"
        local t0 rc=0
        t0=$(now)
        (cd "$REPO_ROOT" && DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 \
            dotnet publish src/Host -c Release -o out) > "$WORK/build.log" 2>&1 < /dev/null || rc=$?
        [ $rc = 0 ] || { tail -n 40 "$WORK/build.log" >&2; die "build failed (log: $WORK/build.log)"; }
        log "built in $(elapsed "$t0" "$(now)") s"
    fi
    [ -x "$ACTORSYNC" ] || die "$ACTORSYNC not found or not executable (build it, or drop --skip-build)"
    [ -z "$BASELINE" ] || [ -x "$BASELINE" ] || die "baseline $BASELINE not found or not executable"
}

# ---- free space ---------------------------------------------------------------
fs_type() {
    local t
    t=$(findmnt -n -o FSTYPE -T "$1" 2>/dev/null | head -n 1) || true
    [ -n "$t" ] || t=$(stat -f -c %T "$1")
    echo "$t"
}

free_bytes() {  # usable bytes on DIR's filesystem; for tmpfs also bounded by free RAM
    local dir=$1 avail mem
    avail=$(df -B1 --output=avail "$dir" | tail -n 1 | tr -d ' ')
    if [ "$(fs_type "$dir")" = tmpfs ]; then
        mem=$(awk '/^MemAvailable:/ { printf "%.0f\n", $2 * 1024 }' /proc/meminfo)
        mem=$((mem - HEADROOM))
        [ "$mem" -lt "$avail" ] && avail=$mem
    fi
    echo $((avail < 0 ? 0 : avail))
}

# check_space LABEL DIR BYTES [quiet]: 0 if BYTES fit, else (unless quiet) explain; 1
check_space() {
    local label=$1 dir=$2 need=$3 have
    have=$(free_bytes "$dir")
    if [ "$need" -gt "$have" ]; then
        [ -n "${4:-}" ] || log "NOT ENOUGH SPACE for $label: need ~$(gib "$need"), have $(gib "$have") on $dir ($(fs_type "$dir"), RAM headroom $(gib $HEADROOM) kept on tmpfs)"
        return 1
    fi
}

# fits NAME SRC_NEED DST_NEED [quiet]: whether a new source and a destination copy fit
fits() {
    if [ "$(stat -c %d "$SRC_ROOT")" = "$(stat -c %d "$DEST_ROOT")" ]; then
        check_space "$1 source + destination" "$DEST_ROOT" $(($2 + $3)) "${@:4}"
    else
        check_space "$1 source" "$SRC_ROOT" "$2" "${@:4}" \
            && check_space "$1 destination" "$DEST_ROOT" "$3" "${@:4}"
    fi
}

# evict_sources KEEP: delete the other datasets' cached sources (cheap to regenerate)
evict_sources() {
    local d evicted=1
    for d in ${ALL_DATASETS//,/ }; do
        if [ "$d" = "$1" ] || [ ! -d "$SRC_ROOT/$d" ]; then continue; fi
        log "$1: removing cached source $SRC_ROOT/$d to make room"
        rm -rf "${SRC_ROOT:?}/$d" "$SRC_ROOT/.$d".*
        evicted=0
    done
    return $evicted
}

# ---- datasets -----------------------------------------------------------------
tree_listing() {  # sorted metadata of a tree: files with size, mtime, mode; dirs by path
    (cd "$1" && find . -mindepth 1 \( -type f -printf 'f %P %s %T@ %m\n' \) \
        -o \( -type d -printf 'd %P\n' \) -o -printf '%y %P\n') | LC_ALL=C sort
}
tree_content_hash() {  # one hash over all file contents in path order
    (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r cat -- | sha1sum | cut -d' ' -f1)
}

# ensure_dataset NAME: generate (or reuse) the source; sets DS_SRC DS_FILES DS_BYTES,
# and DS_OK=0 (dataset to be skipped) when source + destination do not fit.
ensure_dataset() {
    local name=$1 files bytes dirs est want src_need=0 gen_ver
    local stamp=$SRC_ROOT/.$name.stamp
    read -r files bytes dirs est < <("$PYTHON" "$GEN" "$name" - --scale "$SCALE" --plan) || true
    [ -n "${est:-}" ] || die "$name: cannot plan the dataset ($GEN --plan failed)"
    DS_SRC=$SRC_ROOT/$name DS_FILES=$files DS_BYTES=$bytes DS_OK=0
    gen_ver=$(sha1sum "$GEN" | cut -c1-12)
    want="gen=$gen_ver name=$name scale=$SCALE files=$files bytes=$bytes"
    if [ -d "$DS_SRC" ] && [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "$want" ]; then
        log "$name: reusing source $DS_SRC ($files files, $(human_size "$bytes"))"
        GEN_INFO[$name]="reused $DS_SRC"
    else
        rm -rf "$DS_SRC" "$stamp" "$SRC_ROOT/.$name.listing" "$SRC_ROOT/.$name.content"
        src_need=$est
    fi
    rm -rf "${DEST_ROOT:?}/$name"
    if ! fits "$name" "$src_need" "$est" quiet; then
        evict_sources "$name" || true
        fits "$name" "$src_need" "$est" || return 0
    fi
    if [ "$src_need" -gt 0 ]; then
        log "$name: generating $files files, $(human_size "$bytes"), $dirs dirs in $DS_SRC"
        local t0 t_gen t_hash
        t0=$(now)
        "$PYTHON" "$GEN" "$name" "$DS_SRC" --scale "$SCALE" > /dev/null || die "$name: generation failed"
        t_gen=$(elapsed "$t0" "$(now)")
        log "$name: generated in $t_gen s; hashing source"
        t0=$(now)
        tree_listing "$DS_SRC" > "$SRC_ROOT/.$name.listing"
        tree_content_hash "$DS_SRC" > "$SRC_ROOT/.$name.content"
        t_hash=$(elapsed "$t0" "$(now)")
        log "$name: source hashed in $t_hash s"
        echo "$want" > "$stamp"
        GEN_INFO[$name]="generated in $t_gen s (hashing $t_hash s)"
    fi
    DS_OK=1
}

# verify_copy NAME DEST: prints "ok" or a mismatch summary; details go to stderr
verify_copy() {
    local name=$1 dst=$2 dl problems=()
    dl=$WORK/$name.dst.listing
    tree_listing "$dst" > "$dl"
    local nsrc ndst
    nsrc=$(grep -c '^f ' "$SRC_ROOT/.$name.listing" || true)
    ndst=$(grep -c '^f ' "$dl" || true)
    [ "$nsrc" = "$ndst" ] || problems+=("files $ndst/$nsrc")
    if ! cmp -s "$SRC_ROOT/.$name.listing" "$dl"; then
        problems+=("metadata")
        {
            echo "!!! $name: destination metadata differs from source (< source, > $dst):"
            diff "$SRC_ROOT/.$name.listing" "$dl" | head -n 20 || true
        } >&2
    fi
    if [ "$(tree_content_hash "$dst")" != "$(cat "$SRC_ROOT/.$name.content")" ]; then
        problems+=("content")
        echo "!!! $name: destination CONTENT differs from source ($dst)" >&2
    fi
    if [ ${#problems[@]} = 0 ]; then echo ok; else
        local IFS=,
        echo "MISMATCH(${problems[*]})"
    fi
}

# ---- sshd for rsync -------------------------------------------------------------
port_busy() { [ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]; }
free_port() {
    local p=$1
    while port_busy "$p"; do
        p=$((p + 1))
        [ "$p" -lt $(($1 + 1000)) ] || die "no free port in $1..$p"
    done
    echo "$p"
}
# wait_listen PORT PID SECONDS: 0 once PORT listens; 1 on timeout; 2 if PID died
wait_listen() {
    local port=$1 pid=$2 i
    for ((i = 0; i < $3 * 10; i++)); do
        [ -n "$(ss -Hltn "( sport = :$port )" 2>/dev/null)" ] && return 0
        kill -0 "$pid" 2>/dev/null || return 2
        sleep 0.1
    done
    return 1
}

start_sshd() {
    local d=$WORK/ssh
    mkdir -p "$d" /run/sshd
    ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$d/host_key"
    ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$d/client_key"
    cp "$d/client_key.pub" "$d/authorized_keys"
    chmod 600 "$d/authorized_keys"
    SSH_PORT=$(free_port 2222)
    cat > "$d/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
UsePAM no
StrictModes no
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PrintMotd no
EOF
    /usr/sbin/sshd -t -f "$d/sshd_config" || die "sshd config test failed"
    /usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/sshd.log" &
    SSHD_PID=$!
    wait_listen "$SSH_PORT" "$SSHD_PID" 10 || { cat "$d/sshd.log" >&2; die "sshd did not start"; }
    SSH_CMD="ssh -p $SSH_PORT -i $d/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes"
    # one login to check it works and to learn the negotiated (default) cipher
    # (-v must come first: for ssh options the first value given wins)
    ${SSH_CMD/ssh /ssh -v } root@127.0.0.1 true > "$WORK/ssh-probe.log" 2>&1 < /dev/null \
        || { cat "$WORK/ssh-probe.log" "$d/sshd.log" >&2; die "ssh login to the bench sshd failed"; }
    SSH_CIPHER=$(sed -n 's/.*kex: client->server cipher: \([^ ]*\).*/\1/p' "$WORK/ssh-probe.log" | head -n 1)
    log "sshd on 127.0.0.1:$SSH_PORT (pid $SSHD_PID), cipher ${SSH_CIPHER:-?}"
}

# ---- one copy run each -----------------------------------------------------------
drop_dest() { rm -rf "${1:?}"; sync; mkdir -p "$1"; }

# run_rsync NAME DEST REP: sets RUN_T RUN_OK
run_rsync() {
    local name=$1 dst=$2 rep=$3 rc=0 t0 t1
    local logf=$WORK/$name.r$rep.rsync.log
    drop_dest "$dst"
    log "$name: rsync run $rep ..."
    t0=$(now)
    # in the background + wait, so a TERM to this script is handled at once
    timeout -k 10 "$RUN_TIMEOUT" rsync -a -e "$SSH_CMD" "$DS_SRC/" "root@127.0.0.1:$dst/" \
        > "$logf" 2>&1 < /dev/null &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    t1=$(now)
    RUN_T=$(elapsed "$t0" "$t1") RUN_OK=1
    if [ $rc != 0 ]; then
        RUN_OK=0
        log "!!! $name: rsync FAILED (exit $rc):"; tail -n 10 "$logf" >&2
        RUNS+=("$name rsync rep=$rep FAILED exit=$rc")
        return
    fi
    RUN_VERIFY=$(verify_copy "$name" "$dst")
    [ "$RUN_VERIFY" = ok ] || RUN_OK=0
    log "$name: rsync $RUN_T s, verify $RUN_VERIFY"
    RUNS+=("$name rsync rep=$rep ${RUN_T}s verify=$RUN_VERIFY")
}

# run_tar NAME DEST REP: sets RUN_T RUN_OK. tar's own stream through one ssh connection with AES-128-GCM: the
# plainest encrypted copy there is (no per-file negotiation, one TCP stream, one cipher context each way).
run_tar() {
    local name=$1 dst=$2 rep=$3 rc=0 t0 t1
    local logf=$WORK/$name.r$rep.tar.log
    drop_dest "$dst"
    log "$name: tar|ssh run $rep ..."
    t0=$(now)
    timeout -k 10 "$RUN_TIMEOUT" bash -o pipefail -c 'tar -C "$1" -cf - . | $2 -c aes128-gcm@openssh.com root@127.0.0.1 "tar -C $3 -xpf -"' \
        _ "$DS_SRC" "$SSH_CMD" "$dst" > "$logf" 2>&1 < /dev/null &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    t1=$(now)
    RUN_T=$(elapsed "$t0" "$t1") RUN_OK=1
    if [ $rc != 0 ]; then
        RUN_OK=0
        log "!!! $name: tar|ssh FAILED (exit $rc):"; tail -n 10 "$logf" >&2
        RUNS+=("$name tar rep=$rep FAILED exit=$rc")
        return
    fi
    RUN_VERIFY=$(verify_copy "$name" "$dst")
    [ "$RUN_VERIFY" = ok ] || RUN_OK=0
    log "$name: tar|ssh $RUN_T s, verify $RUN_VERIFY"
    RUNS+=("$name tar rep=$rep ${RUN_T}s verify=$RUN_VERIFY")
}

# run_cp NAME DST REP: a local `cp -a` of the dataset into DEST, one process, no network, no encryption: what merely
# writing this copy costs on this machine (creating the files, copying their bytes into fresh pages), the other
# floor a copier over the network cannot go below. Sets RUN_T and RUN_OK.
run_cp() {
    local name=$1 dst=$2 rep=$3 rc=0 t0 t1
    drop_dest "$dst"
    log "$name: cp -a run $rep ..."
    t0=$(now)
    mkdir -p "$dst"
    timeout -k 10 "$RUN_TIMEOUT" cp -a "$DS_SRC/." "$dst" > "$WORK/$name.r$rep.cp.log" 2>&1 < /dev/null || rc=$?
    t1=$(now)
    RUN_T=$(elapsed "$t0" "$t1") RUN_OK=1
    if [ $rc != 0 ]; then
        RUN_OK=0
        log "!!! $name: cp -a FAILED (exit $rc)"
        RUNS+=("$name cp rep=$rep FAILED exit=$rc")
        return
    fi
    RUN_VERIFY=$(verify_copy "$name" "$dst")
    [ "$RUN_VERIFY" = ok ] || RUN_OK=0
    log "$name: cp -a $RUN_T s, verify $RUN_VERIFY"
    RUNS+=("$name cp rep=$rep ${RUN_T}s verify=$RUN_VERIFY")
}

# crypto_floor NAME: the time this machine needs to seal and open the dataset's bytes as TLS 1.3 records with
# AES-128-GCM (actorsync crypto-floor, single-threaded), divided by the cores both ends share: no userspace-encrypting
# copier can be faster. Sets R_FLOOR[NAME].
crypto_floor() {
    local out
    out=$("$ACTORSYNC" crypto-floor "$DS_BYTES" --cipher aes-128-gcm 2> /dev/null) || { log "!!! $1: crypto-floor failed"; return; }
    R_FLOOR[$1]=$("$PYTHON" -c 'import json,sys,os; j=json.loads(sys.argv[1]); print("%.3f" % ((j["seal_s"] + j["open_s"]) / os.cpu_count()))' "$out")
    log "$1: crypto floor ${R_FLOOR[$1]} s ($out)"
    RUNS+=("$1 crypto-floor $out cores=$(nproc)")
}

json_get() {  # json_get FILE KEY: value of KEY in the (last) JSON object in FILE
    "$PYTHON" - "$1" "$2" <<'EOF' 2>/dev/null || true
import json, sys
text = open(sys.argv[1]).read()
try:
    obj = json.loads(text)
except ValueError:
    obj = next(json.loads(l) for l in reversed(text.splitlines()) if l.strip().startswith("{"))
v = obj.get(sys.argv[2], "")
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
EOF
}
last_line() { [ -s "$1" ] && tail -n 1 "$1" || echo 0; }

# run_actorsync NAME DEST REP [BIN LABEL]: sets RUN_T RUN_OK RUN_SEND_RSS RUN_RECV_RSS RUN_CRYPTO
run_actorsync() {
    local name=$1 dst=$2 rep=$3 port t0 t1 send_rc=0 recv_rc=0 st i
    local ACTORSYNC=${4:-$ACTORSYNC} tool=${5:-actorsync}
    local r=$WORK/$name.r$rep.$tool
    mkdir -p "$r"
    drop_dest "$dst"
    port=$(free_port "$NEXT_PORT")
    NEXT_PORT=$((port + 1))
    log "$name: $tool run $rep (port $port, $STREAMS streams) ..."
    RUN_OK=0 RUN_T="" RUN_SEND_RSS=0 RUN_RECV_RSS=0 RUN_CRYPTO=""
    # With COUNT_SYSCALLS set, each end runs under perf stat counting its syscalls (tracepoints, in the kernel: no
    # strace-style stop per call); such a run is for the counts, not timed in the tables.
    local pw_recv=() pw_send=()
    if [ -n "${COUNT_SYSCALLS:-}" ]; then
        pw_recv=(perf stat -x, -e raw_syscalls:sys_enter -e syscalls:sys_enter_sched_yield -o "$r/recv.perf" --)
        pw_send=(perf stat -x, -e raw_syscalls:sys_enter -e syscalls:sys_enter_sched_yield -o "$r/send.perf" --)
    fi
    timeout -k 10 "$RUN_TIMEOUT" /usr/bin/time -f %M -o "$r/recv.rss" "${pw_recv[@]}" \
        "$ACTORSYNC" recv "$dst" --listen "127.0.0.1:$port" --secret-file "$KEY" --json \
        > "$r/recv.json" 2> "$r/recv.err" < /dev/null &
    RECV_PID=$!
    st=0; wait_listen "$port" "$RECV_PID" 10 || st=$?
    if [ $st != 0 ]; then
        if [ $st = 1 ]; then kill "$RECV_PID" 2>/dev/null || true; fi
        wait "$RECV_PID" 2>/dev/null || recv_rc=$?
        RECV_PID=""
        log "!!! $name: receiver $([ $st = 1 ] && echo 'not listening after 10 s' || echo "exited early (exit $recv_rc)"):"
        tail -n 10 "$r/recv.err" >&2
        RUNS+=("$name $tool rep=$rep FAILED receiver-start")
        return
    fi
    t0=$(now)
    timeout -k 10 "$RUN_TIMEOUT" /usr/bin/time -f %M -o "$r/send.rss" "${pw_send[@]}" \
        "$ACTORSYNC" send "$DS_SRC" "127.0.0.1:$port" --secret-file "$KEY" --streams "$STREAMS" --json \
        > "$r/send.json" 2> "$r/send.err" < /dev/null &
    CHILD_PID=$!
    wait "$CHILD_PID" || send_rc=$?
    CHILD_PID=""
    t1=$(now)
    # the receiver should exit right after the sender; give it 60 s
    for ((i = 0; i < 600; i++)); do kill -0 "$RECV_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$RECV_PID" 2>/dev/null; then
        log "!!! $name: receiver still running 60 s after the sender finished; killing it"
        kill "$RECV_PID" 2>/dev/null || true
    fi
    wait "$RECV_PID" 2>/dev/null || recv_rc=$?
    RECV_PID=""
    RUN_T=$(elapsed "$t0" "$t1")
    RUN_SEND_RSS=$(last_line "$r/send.rss") RUN_RECV_RSS=$(last_line "$r/recv.rss")
    RUN_CRYPTO=$(json_get "$r/send.json" crypto)
    local extra
    extra="elapsed_s=$(json_get "$r/send.json" elapsed_s) payload_bytes_sent=$(json_get "$r/send.json" payload_bytes_sent) files_skipped=$(json_get "$r/send.json" files_skipped)"
    # Time to first byte: the sender's start-up (process start -> transfer start) plus the transfer's own wait for its
    # first file data on a stream (walk, handshakes, the first Offer/Need round trip), both from its JSON summary.
    local ttfb
    ttfb=$(awk -v a="$(json_get "$r/send.json" started_s)" -v b="$(json_get "$r/send.json" first_data_s)" \
        'BEGIN { if (a != "" && b != "" && a != "null" && b != "null") printf "%.3f", a + b }')
    if [ -n "$ttfb" ]; then
        extra+=" first_data_after_launch_s=$ttfb"
        [ "$tool" != actorsync ] || [ "$rep" = syscalls ] || R_TTFB[$name]+="$ttfb "
    fi
    if [ $send_rc != 0 ] || [ $recv_rc != 0 ]; then
        log "!!! $name: $tool FAILED (send exit $send_rc, recv exit $recv_rc)"
        echo "--- send stderr:" >&2; tail -n 10 "$r/send.err" >&2
        echo "--- recv stderr:" >&2; tail -n 10 "$r/recv.err" >&2
        RUNS+=("$name $tool rep=$rep FAILED send_exit=$send_rc recv_exit=$recv_rc ${RUN_T}s")
        return
    fi
    local jfiles
    jfiles=$(json_get "$r/send.json" files)
    [ -z "$jfiles" ] || [ "$jfiles" = "$DS_FILES" ] \
        || log "!!! $name: send.json reports files=$jfiles, source has $DS_FILES"
    RUN_VERIFY=$(verify_copy "$name" "$dst")
    [ "$RUN_VERIFY" = ok ] && RUN_OK=1
    log "$name: $tool $RUN_T s (send RSS $((RUN_SEND_RSS / 1024)) MiB, recv RSS $((RUN_RECV_RSS / 1024)) MiB, crypto ${RUN_CRYPTO:-?}), verify $RUN_VERIFY"
    RUNS+=("$name $tool rep=$rep ${RUN_T}s verify=$RUN_VERIFY send_rss_kib=$RUN_SEND_RSS recv_rss_kib=$RUN_RECV_RSS crypto=${RUN_CRYPTO:-?} $extra")
}

# perf_count FILE EVENT: the count perf stat -x, wrote for EVENT (0 if none)
perf_count() { awk -F, -v e="$2" '$3 == e { print $1 + 0; found = 1 } END { if (!found) print 0 }' "$1" 2>/dev/null || echo 0; }

# startup_run: a 1-file transfer (4 KiB), timed (median of 3) and counted: the fixed cost every transfer pays, and the
# syscalls the per-file figures subtract. Sets START_T START_SEND START_RECV.
startup_run() {
    local d=$WORK/onefile i port t0 t1 times=() r
    mkdir -p "$d/src"
    head -c 4096 /dev/urandom > "$d/src/one.bin"
    START_SEND=0 START_RECV=0
    for i in 1 2 3 4; do
        rm -rf "$d/dst"
        port=$(free_port "$NEXT_PORT"); NEXT_PORT=$((port + 1))
        local pw_recv=() pw_send=()
        # The 4th run is counted, not timed.
        [ $i != 4 ] || { pw_recv=(perf stat -x, -e raw_syscalls:sys_enter -e syscalls:sys_enter_sched_yield -o "$d/recv.perf" --)
                         pw_send=(perf stat -x, -e raw_syscalls:sys_enter -e syscalls:sys_enter_sched_yield -o "$d/send.perf" --); }
        "${pw_recv[@]}" "$ACTORSYNC" recv "$d/dst" --listen "127.0.0.1:$port" --secret-file "$KEY" > /dev/null 2>&1 < /dev/null &
        RECV_PID=$!
        wait_listen "$port" "$RECV_PID" 10 || die "1-file run: receiver not listening"
        t0=$(now)
        "${pw_send[@]}" "$ACTORSYNC" send "$d/src" "127.0.0.1:$port" --secret-file "$KEY" > /dev/null 2>&1 < /dev/null || die "1-file run failed"
        t1=$(now)
        wait "$RECV_PID" || true
        RECV_PID=""
        cmp -s "$d/src/one.bin" "$d/dst/one.bin" || die "1-file run: copy differs"
        [ $i = 4 ] || times+=("$(elapsed "$t0" "$t1")")
    done
    START_T=$(median "${times[@]}")
    START_SEND=$(perf_count "$d/send.perf" raw_syscalls:sys_enter) START_RECV=$(perf_count "$d/recv.perf" raw_syscalls:sys_enter)
    START_SEND_Y=$(perf_count "$d/send.perf" syscalls:sys_enter_sched_yield) START_RECV_Y=$(perf_count "$d/recv.perf" syscalls:sys_enter_sched_yield)
    log "1-file transfer: $START_T s (median of 3); syscalls send $START_SEND, recv $START_RECV"
    RUNS+=("1-file transfer ${START_T}s (${times[*]}) syscalls send=$START_SEND recv=$START_RECV")
}

# syscall_counts NAME: one more (untimed) run under perf: syscalls per file on each side beyond the 1-file run's, and
# sched_yield per file. Sets R_SYS[NAME].
syscall_counts() {
    local name=$1 r=$WORK/$1.rsyscalls.actorsync s_all r_all s_y r_y
    COUNT_SYSCALLS=1 run_actorsync "$name" "$DEST_ROOT/$name" syscalls
    [ "$RUN_OK" = 1 ] || { log "!!! $name: the counted run failed"; return; }
    s_all=$(perf_count "$r/send.perf" raw_syscalls:sys_enter) r_all=$(perf_count "$r/recv.perf" raw_syscalls:sys_enter)
    s_y=$(perf_count "$r/send.perf" syscalls:sys_enter_sched_yield) r_y=$(perf_count "$r/recv.perf" syscalls:sys_enter_sched_yield)
    R_SYS[$name]=$(awk -v f="$DS_FILES" -v s="$s_all" -v r="$r_all" -v s0="$START_SEND" -v r0="$START_RECV" -v sy="$s_y" -v ry="$r_y" \
        -v sy0="$START_SEND_Y" -v ry0="$START_RECV_Y" \
        'BEGIN { printf "send %.2f (of them sched_yield %.2f)  recv %.2f (sched_yield %.2f)", (s - s0) / f, (sy - sy0) / f, (r - r0) / f, (ry - ry0) / f }')
    log "$name: syscalls per file: ${R_SYS[$name]}"
}

# ---- per dataset ---------------------------------------------------------------
bench_dataset() {
    local name=$1 dst=$DEST_ROOT/$1 rep rs_t=() as_t=() bl_t=() tar_t=() cp_t=() s_rss=() r_rss=() status=ok
    ensure_dataset "$name"
    if [ "$DS_OK" = 0 ]; then
        R_STATUS[$name]="SKIPPED (not enough space)"
        return
    fi
    R_FILES[$name]=$DS_FILES R_BYTES[$name]=$DS_BYTES
    crypto_floor "$name"
    local tools=(rsync actorsync tar cp) tool i
    [ -z "$BASELINE" ] || tools+=(baseline)
    for ((rep = 1; rep <= REPS; rep++)); do
        # Each rep starts with the next tool: no tool always runs right after another one's cleanup.
        for ((i = 0; i < ${#tools[@]}; i++)); do
            tool=${tools[$(( (i + rep - 1) % ${#tools[@]} ))]}
            RUN_VERIFY=""
            case $tool in
                rsync)
                    run_rsync "$name" "$dst" "$rep"
                    if [ "$RUN_OK" = 1 ]; then rs_t+=("$RUN_T"); else status="rsync ${RUN_VERIFY:-FAILED}"; fi ;;
                actorsync)
                    run_actorsync "$name" "$dst" "$rep"
                    if [ "$RUN_OK" = 1 ]; then
                        as_t+=("$RUN_T") s_rss+=("$RUN_SEND_RSS") r_rss+=("$RUN_RECV_RSS")
                        R_CRYPTO[$name]=$RUN_CRYPTO
                    else
                        status="actorsync ${RUN_VERIFY:-FAILED}"
                    fi ;;
                tar)
                    run_tar "$name" "$dst" "$rep"
                    if [ "$RUN_OK" = 1 ]; then tar_t+=("$RUN_T"); else status="tar ${RUN_VERIFY:-FAILED}"; fi ;;
                cp)
                    run_cp "$name" "$dst" "$rep"
                    if [ "$RUN_OK" = 1 ]; then cp_t+=("$RUN_T"); else status="cp ${RUN_VERIFY:-FAILED}"; fi ;;
                baseline)
                    run_actorsync "$name" "$dst" "$rep" "$BASELINE" baseline
                    if [ "$RUN_OK" = 1 ]; then bl_t+=("$RUN_T"); else status="baseline ${RUN_VERIFY:-FAILED}"; fi ;;
            esac
        done
    done
    [ ${#bl_t[@]} = 0 ] || R_BASE[$name]=$(median "${bl_t[@]}")
    [ ${#rs_t[@]} = 0 ] || R_RSYNC[$name]=$(median "${rs_t[@]}")
    [ ${#tar_t[@]} = 0 ] || R_TAR[$name]=$(median "${tar_t[@]}")
    [ ${#cp_t[@]} = 0 ] || R_CP[$name]=$(median "${cp_t[@]}")
    [ ${#as_t[@]} = 0 ] || {
        R_AS[$name]=$(median "${as_t[@]}")
        R_SRSS[$name]=$(max_of "${s_rss[@]}") R_RRSS[$name]=$(max_of "${r_rss[@]}")
    }
    [ "$status" != ok ] || ! command -v perf > /dev/null || syscall_counts "$name"
    R_STATUS[$name]=$status
    [ "$status" = ok ] || FAILED=1
    [ $KEEP = 1 ] || { rm -rf "${dst:?}"; sync; }
}

# ---- report -------------------------------------------------------------------
report() {
    local fs label name cpu mem rev
    fs=$(fs_type "$DEST_ROOT")
    label=$([ "$fs" = tmpfs ] && echo "tmpfs, in RAM" || echo "$fs, DISK run")
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    rev=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
    [ -z "$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null)" ] || rev="$rev+dirty"
    echo "ActorSync benchmark $STAMP  scale=$SCALE streams=$STREAMS reps=$REPS (median of reps)"
    echo "machine: nproc=$(nproc) kernel=$(uname -r) cpu=${cpu:-?} mem=$mem"
    echo "dest:    $DEST_ROOT ($label)   src: $SRC_ROOT ($(fs_type "$SRC_ROOT"))"
    echo "rsync:   $(rsync --version | head -n 1 | awk '{ print $1, $3 }') -a over $(ssh -V 2>&1 | cut -d, -f1) cipher=${SSH_CIPHER:-?} (sshd on 127.0.0.1)"
    echo "actorsync: $ACTORSYNC (repo $rev)"
    [ -z "$BASELINE" ] || echo "baseline:  $BASELINE"
    echo
    printf '%-10s %8s %10s %9s %12s %9s %8s %9s %9s  %-14s %s\n' \
        dataset files size "rsync s" "actorsync s" speed-up "MiB/s" "send MiB" "recv MiB" crypto status
    for name in "${DATASET_LIST[@]}"; do
        if [ -z "${R_FILES[$name]:-}" ]; then
            printf '%-10s %s\n' "$name" "${R_STATUS[$name]:-not run}"
            continue
        fi
        local rs=${R_RSYNC[$name]:-} as=${R_AS[$name]:-} ratio=- tput=- srss=- rrss=-
        if [ -n "$as" ]; then
            tput=$(awk -v b="${R_BYTES[$name]}" -v t="$as" 'BEGIN { printf "%.1f", b / 1048576 / t }')
            srss=$(awk -v k="${R_SRSS[$name]}" 'BEGIN { printf "%.0f", k / 1024 }')
            rrss=$(awk -v k="${R_RRSS[$name]}" 'BEGIN { printf "%.0f", k / 1024 }')
            [ -z "$rs" ] || ratio=$(awk -v a="$rs" -v b="$as" 'BEGIN { printf "%.2fx", a / b }')
        fi
        printf '%-10s %8s %10s %9s %12s %9s %8s %9s %9s  %-14s %s\n' "$name" "${R_FILES[$name]}" \
            "$(human_size "${R_BYTES[$name]}")" "${rs:-FAIL}" "${as:-FAIL}" "$ratio" "$tput" \
            "$srss" "$rrss" "${R_CRYPTO[$name]:--}" "${R_STATUS[$name]}"
    done
    echo
    echo "against tar | ssh -c aes128-gcm and the crypto floor (same run):"
    for name in "${DATASET_LIST[@]}"; do
        local t=${R_TAR[$name]:-} a=${R_AS[$name]:-} f=${R_FLOOR[$name]:-}
        [ -n "$a" ] || continue
        printf '  %-10s tar|ssh %9s s  actorsync %9s s  tar/actorsync %6s   floor %7s s  actorsync/floor %s\n' "$name" "${t:-FAIL}" "$a" \
            "$([ -n "$t" ] && awk -v t="$t" -v a="$a" 'BEGIN { printf "%.2fx", t / a }' || echo -)" "${f:--}" \
            "$([ -n "$f" ] && awk -v f="$f" -v a="$a" 'BEGIN { printf "%.2fx", a / f }' || echo -)"
    done
    echo
    echo "against a local cp -a into DEST (one process, no network, no encryption: writing the copy alone, same run):"
    for name in "${DATASET_LIST[@]}"; do
        local c=${R_CP[$name]:-} a=${R_AS[$name]:-}
        [ -n "$a" ] && [ -n "$c" ] || continue
        printf '  %-10s cp -a %9s s  actorsync %9s s  actorsync/cp %s\n' "$name" "$c" "$a" "$(awk -v c="$c" -v a="$a" 'BEGIN { printf "%.2fx", a / c }')"
    done
    echo
    echo "time to first byte: sender launch -> its first file data written to a stream (median over reps):"
    for name in "${DATASET_LIST[@]}"; do
        # shellcheck disable=SC2086
        [ -z "${R_TTFB[$name]:-}" ] || printf '  %-10s %s s\n' "$name" "$(median ${R_TTFB[$name]})"
    done
    if [ -n "${START_T:-}" ]; then
        echo "start-up: a 1-file (4 KiB) transfer takes $START_T s wall (median of 3; both processes start, handshake, one file)."
        echo "syscalls per file (perf stat tracepoints, one extra untimed run; minus the 1-file run's):"
        for name in "${DATASET_LIST[@]}"; do [ -z "${R_SYS[$name]:-}" ] || printf '  %-10s %s\n' "$name" "${R_SYS[$name]}"; done
        echo
    fi
    if [ -n "$BASELINE" ]; then
        echo "against the baseline (same run, alternating):"
        for name in "${DATASET_LIST[@]}"; do
            local b=${R_BASE[$name]:-} a=${R_AS[$name]:-}
            [ -n "$b" ] && [ -n "$a" ] || { printf '  %-10s baseline %s\n' "$name" "${b:-FAIL}"; continue; }
            printf '  %-10s baseline %9s s  actorsync %9s s  actorsync is %s the baseline'"'"'s speed  (rsync/baseline %s)\n' "$name" "$b" "$a" \
                "$(awk -v b="$b" -v a="$a" 'BEGIN { printf "%.2fx", b / a }')" \
                "$([ -n "${R_RSYNC[$name]:-}" ] && awk -v r="${R_RSYNC[$name]}" -v b="$b" 'BEGIN { printf "%.2fx", r / b }' || echo -)"
        done
        echo
    fi
    echo "speed-up = rsync s / actorsync s; MiB/s = dataset size / actorsync s; floor = (seal + open of the"
    echo "dataset's bytes as 16 KiB TLS 1.3 records, AES-128-GCM, one thread each) / cores: both ends share them;"
    echo "send/recv MiB = ActorSync peak RSS (max over reps); times are wall clock of the client process."
    echo
    echo "runs:"
    for name in "${DATASET_LIST[@]}"; do
        [ -z "${GEN_INFO[$name]:-}" ] || echo "  $name source: ${GEN_INFO[$name]}"
    done
    printf '  %s\n' "${RUNS[@]}"
}

# ---- cleanup ------------------------------------------------------------------
cleanup() {
    local rc=$?
    set +e
    if [ -n "${CHILD_PID:-}" ]; then kill "$CHILD_PID" 2>/dev/null; wait "$CHILD_PID" 2>/dev/null; fi
    if [ -n "${RECV_PID:-}" ]; then kill "$RECV_PID" 2>/dev/null; wait "$RECV_PID" 2>/dev/null; fi
    if [ -n "${SSHD_PID:-}" ]; then kill "$SSHD_PID" 2>/dev/null; wait "$SSHD_PID" 2>/dev/null; fi
    if [ $KEEP = 1 ] || [ $rc != 0 ] || [ "${FAILED:-0}" = 1 ]; then
        [ -z "${WORK:-}" ] || log "logs kept in $WORK"
    else
        rm -rf "${WORK:?}"
    fi
    if [ $KEEP = 0 ] && [ -n "${DATASET_LIST+x}" ]; then
        for name in "${DATASET_LIST[@]}"; do rm -rf "${DEST_ROOT:?}/$name"; done
    fi
    exit $rc
}

clean_sources() {
    local d
    for d in ${ALL_DATASETS//,/ }; do
        rm -rf "${SRC_ROOT:?}/$d" "$SRC_ROOT/.$d".*
    done
    rmdir "$SRC_ROOT" 2>/dev/null || true
    log "removed generated datasets under $SRC_ROOT"
}

main() {
    parse_args "$@"
    if [ $CLEAN = 1 ]; then clean_sources; exit 0; fi
    WORK=$(mktemp -d /tmp/actorsync-bench.XXXXXX)
    SSHD_PID="" RECV_PID="" CHILD_PID="" FAILED=0 RUNS=()
    declare -gA R_FILES R_BYTES R_RSYNC R_AS R_BASE R_TAR R_CP R_FLOOR R_SYS R_TTFB R_SRSS R_RRSS R_CRYPTO R_STATUS GEN_INFO
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    STAMP=$(date +%Y%m%d-%H%M%S)

    install_deps
    build_actorsync
    mkdir -p "$SRC_ROOT" "$DEST_ROOT" "$RESULTS_DIR"
    KEY=$WORK/secret.key
    "$ACTORSYNC" keygen "$KEY" > "$WORK/keygen.log" 2>&1 < /dev/null \
        || { cat "$WORK/keygen.log" >&2; die "actorsync keygen failed"; }
    start_sshd
    NEXT_PORT=7400
    if command -v perf > /dev/null; then startup_run; else log "no perf here: start-up and syscall counts skipped"; fi

    for name in "${DATASET_LIST[@]}"; do bench_dataset "$name"; done

    local out=$RESULTS_DIR/$STAMP.txt
    echo >&2
    report | tee "$out"
    log "report saved to ${out#"$REPO_ROOT"/}"
    log "datasets kept for reuse in $SRC_ROOT ($(du -sh "$SRC_ROOT" | cut -f1)); 'bench/run.sh --clean' removes them"
    [ "$FAILED" = 0 ] || { log "some runs FAILED or did not verify (see above)"; exit 1; }
}

main "$@"
