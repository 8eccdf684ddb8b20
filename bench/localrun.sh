#!/usr/bin/env bash
# Benchmark of the local runner (`flowc interpret FLOW`), printed in one run:
#   (a) a bare loop spawning `true` N times with P at once (xargs -P);
#   (b) `flowc interpret` of an N-item foreach whose step is `true` (bench_foreach.flow),
#       and the ratio b/a of wall times;
#   (c) the same for a 200×100 nested foreach (20,000 tasks, bench_nested.flow), with the
#       interpreter's peak RSS and open file descriptors sampled from /proc.
# CPU per task beyond the command = (CPU of b − CPU of a) / N (user + system, all processes);
# "interpreter" is the CPU of the flowc process itself (engine and in-process task runtime).
# When the datastore's file system is not tmpfs, (b) runs again with the datastore and the
# tasks' temporary files on /dev/shm (when it is a writable tmpfs): the runner's own cost,
# without the disk's. The header names the file system, and for ext4 whether it has a
# journal: without one, each new file costs more for minutes after mass deletions in the
# same block groups (docs/runtime-layout.md), and a run can take 2 to 4 times as long.
# (a) and (b) alternate REPEAT times (default 5) and their medians are compared: on a
# shared 2-CPU virtual machine, six bare loops in a row took 0.86 to 1.17 s.
# Usage: bench/localrun.sh [N=2000] [OUTER=200] [INNER=100]; FLOWC=path, WORKERS=P (default:
# CPUs), REPEAT=R, SETTLE=S (at most S seconds, default 360, waiting after this script's
# previous clean-up on a journal-less ext4 disk, see below; 0: measure at once),
# BENCH_DIR=DIR: where the datastore and the tasks' temporary files go (default: a new
# folder under $TMPDIR; e.g. BENCH_DIR=/dev/shm to take the disk out of every measure: each
# task creates one folder and two small files, each atomically with a temporary file and a
# rename; on a journal-less ext4 disk that costs more right after mass deletions, such as a
# previous run's clean-up). Extra arguments for `flowc interpret` in INTERPRET_ARGS
# (e.g. INTERPRET_ARGS=--task-process: a `flowc task` child per task, as before the runtime
# ran in-process).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
OUTER=${2:-200}
INNER=${3:-100}
P=${WORKERS:-$(nproc)}
R=${REPEAT:-5}
FLOWC=${FLOWC:-target/release/flowc}
[ -x "$FLOWC" ] || cargo build --release --quiet
FLOWC=$(realpath "$FLOWC")
WORK=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}")
SHM=""
# When this script ended its last clean-up on a journal-less ext4 disk: "EPOCH_SECONDS DEVICE"
# (see the wait before measuring, below).
STAMP=target/bench-localrun.cleanup
DEV=""
clean_up() {
    rm -rf "$WORK" ${SHM:+"$SHM"}
    if [ -n "$DEV" ]; then mkdir -p target && echo "$(date +%s) $DEV" >"$STAMP"; fi
}
trap clean_up EXIT
mkdir "$WORK/tmp"
export TMPDIR="$WORK/tmp"
cp -r fixtures/run "$WORK/flows"
# Where flowc's datastore and the tasks' temporary files go (see `interpret`).
DATA=$WORK

# Runs a command under /usr/bin/time; prints "wall cpu maxrss_kb".
timed() {
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/stderr.txt" || {
        cat "$WORK/stderr.txt" >&2
        return 1
    }
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$WORK/time.txt"
}

# Samples the RSS (kB), open file descriptors and CPU ticks (user + system) of process $1
# every 50 ms until it exits; prints "max_rss max_fds last_ticks". Only bash builtins run in
# the loop (no awk, ls or sleep processes), so the sampler costs (b) next to nothing; the
# last sample is at most 50 ms before the exit, so the CPU it reads is at most that short.
sample() {
    local pid=$1 rss=0 fds=0 ticks=0 r t key value tick
    local -a fd stat
    exec {tick}<> <(:)
    while [ -d "/proc/$pid" ]; do
        r=0
        { while read -r key value _; do
            [ "$key" = VmRSS: ] && r=$value && break
        done <"/proc/$pid/status"; } 2>/dev/null
        fd=() stat=()
        shopt -s nullglob
        fd=("/proc/$pid/fd/"*)
        shopt -u nullglob
        { read -ra stat <"/proc/$pid/stat"; } 2>/dev/null
        t=$((${stat[13]:-0} + ${stat[14]:-0}))
        [ "$r" -gt "$rss" ] && rss=$r
        [ "${#fd[@]}" -gt "$fds" ] && fds=${#fd[@]}
        [ "$t" -gt "$ticks" ] && ticks=$t
        read -rt 0.05 -u "$tick" _ || true
    done
    exec {tick}<&-
    echo "$rss $fds $ticks"
}

# Runs flowc interpret on flow $1 with the remaining arguments; prints
# "wall cpu maxrss_tree rss fds interpreter_cpu_seconds" (rss, fds and CPU of the
# interpreter process itself, sampled from /proc).
interpret() {
    local flow=$1
    shift
    (cd "$WORK/flows" && TMPDIR="$DATA/tmp" exec /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" \
        "$FLOWC" interpret "$flow" --quiet --clock virtual --max-workers "$P" \
        --datastore "$DATA/ds" ${INTERPRET_ARGS:-} "$@" >/dev/null 2>"$WORK/stderr.txt") &
    local timer=$! pid=""
    for _ in $(seq 200); do
        pid=$(pgrep -P "$timer" -x flowc || true)
        [ -n "$pid" ] && break
        sleep 0.02
    done
    local s="0 0 0"
    [ -n "$pid" ] && s=$(sample "$pid")
    wait "$timer" || { cat "$WORK/stderr.txt" >&2; return 1; }
    local t
    t=$(awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$WORK/time.txt")
    echo "$t $s" | awk -v hz="$(getconf CLK_TCK)" '{printf "%s %s %s %s %s %.2f\n", $1, $2, $3, $4, $5, $6 / hz}'
}

bare() {
    timed sh -c "seq $1 | xargs -P $P -I{} true"
}

# The file system under $1, and for ext4 whether it has a journal (/proc/fs/jbd2/DEV-*).
fs_of() {
    local type dev
    type=$(df --output=fstype "$1" | tail -1 | tr -d ' ')
    dev=$(basename "$(df --output=source "$1" | tail -1 | tr -d ' ')")
    if [ "$type" = ext4 ]; then
        if compgen -G "/proc/fs/jbd2/$dev-*" >/dev/null; then
            type="ext4 with a journal"
        elif [ -d "/proc/fs/ext4/$dev" ]; then
            type="ext4 without a journal: new files cost more for minutes after mass deletions"
        fi
    fi
    echo "$type"
}
# Microseconds per new empty file in a new folder under $1 (1,000 files, created by the
# shell itself, no process per file). They stay until the script exits: deleting them now
# would itself slow the next new files on ext4 without a journal (see below).
new_file_cost() {
    local dir t0 t1
    dir=$(mktemp -d -p "$1")
    t0=$EPOCHREALTIME
    for i in {1..1000}; do : >"$dir/$i"; done
    t1=$EPOCHREALTIME
    echo $(((${t1/./} - ${t0/./}) / 1000))
}
FS=$(fs_of "$WORK")
if [ "$FS" != tmpfs ] && [ "$(fs_of /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
    SHM=$(mktemp -d -p /dev/shm)
    mkdir "$SHM/tmp"
fi
echo "flowc local runner benchmark: $(nproc) CPUs, parallelism $P, $FLOWC"
echo "datastore in $WORK ($FS)"
# On ext4 without a journal, the inode allocator skips inodes freed in the last minute (six
# while their inode table block is not written back) and scans past them for each new
# inode (docs/runtime-layout.md): for up to 6 minutes after mass deletions in the same block
# groups, a new file costs 5 to 25 times its usual cost and (b) takes 2 to 3 times the bare
# loop instead of 1.3 to 1.5. This script's own clean-up deletes about 80,000 files, so a
# second run right after a first one would measure the first one's clean-up: it waits until
# 6 minutes after it (at most SETTLE seconds, default 360; SETTLE=0 measures at once).
# Deletions by anything else cannot be known: the cost of a new file there, against tmpfs,
# is printed, with a warning when it is more than 4 times as much.
if [[ $FS == "ext4 without"* ]]; then
    DEV=$(df --output=source "$WORK" | tail -1 | tr -d ' ')
    if [ -r "$STAMP" ] && read -r ended dev <"$STAMP" && [ "$dev" = "$DEV" ]; then
        left=$((ended + 360 - $(date +%s)))
        [ "$left" -gt "${SETTLE:-360}" ] && left=${SETTLE:-360}
        if [ "$left" -gt 0 ]; then
            echo "waiting $left s: the previous run of this script deleted its files $(($(date +%s) - ended)) s ago on this disk (SETTLE=0: measure at once)"
            sleep "$left"
        fi
    fi
fi
if [ -n "$SHM" ]; then
    disk_us=$(new_file_cost "$WORK")
    shm_us=$(new_file_cost "$SHM")
    echo "a new file costs ${disk_us} µs there now, ${shm_us} µs on tmpfs"
    if [ "$disk_us" -gt $((4 * shm_us)) ]; then
        echo "  more than 4 times tmpfs (files deleted there in the last minutes?): the disk lines below may measure that"
    fi
fi

# The middle value of its arguments (numbers; for an even count, the upper middle).
median() {
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int(NR / 2) + 1]}'
}

# The largest of its arguments (numbers).
largest() {
    printf '%s\n' "$@" | sort -g | tail -1
}

# awk functions for the summary lines. A ratio needs a bare loop of at least 0.1 s (wall
# times have 10 ms steps), and the interpreter's CPU is sampled every 50 ms from /proc, so
# a run too short for one sample reads as none: both print "n/a" rather than inf or 0.
SHARES='
function ratio(b, a) { return a >= 0.1 ? sprintf("%.2f", b / a) : "n/a (bare loop under 0.1 s: use more tasks)" }
function per_task(own, n) { return own > 0 ? sprintf("%.2f ms", own * 1000 / n) : "n/a (run too short to sample)" }
'

# (a) and (b) alternate R times, so that a slow moment of the machine weighs on both, and
# the ratio is that of the medians. Nothing is deleted before the end: every run's
# datastore stays until the script exits (deleting thousands of files first would slow the
# next run's file creations on a journal-less ext4, docs/runtime-layout.md).
A_WALL=() A_CPU=() B_WALL=() B_CPU=() B_RSS=() B_FDS=() B_OWN=() T_WALL=() T_CPU=() T_OWN=()
for _ in $(seq "$R"); do
    read -r w c _ <<<"$(bare "$N")"
    A_WALL+=("$w") A_CPU+=("$c")
    read -r w c _ rss fds own <<<"$(interpret bench_foreach.flow --param "n=$N")"
    B_WALL+=("$w") B_CPU+=("$c") B_RSS+=("$rss") B_FDS+=("$fds") B_OWN+=("$own")
    if [ -n "$SHM" ]; then
        DATA=$SHM
        read -r w c _ _ _ own <<<"$(interpret bench_foreach.flow --param "n=$N")"
        DATA=$WORK
        T_WALL+=("$w") T_CPU+=("$c") T_OWN+=("$own")
    fi
done
a_wall=$(median "${A_WALL[@]}") a_cpu=$(median "${A_CPU[@]}")
b_wall=$(median "${B_WALL[@]}") b_cpu=$(median "${B_CPU[@]}") b_own=$(median "${B_OWN[@]}")
b_rss=$(largest "${B_RSS[@]}") b_fds=$(largest "${B_FDS[@]}")
echo "(a) and (b): medians of $R alternating runs (each run's wall time in brackets); RSS and fds: the largest"
printf '(a) bare loop, %d x true:            %6.2f s wall, %6.2f s CPU  [%s]\n' "$N" "$a_wall" "$a_cpu" "${A_WALL[*]}"
printf '(b) flowc interpret, %d-item foreach: %6.2f s wall, %6.2f s CPU, interpreter: peak RSS %d MB, max %d fds, %.2f s CPU  [%s]\n' \
    "$N" "$b_wall" "$b_cpu" $((b_rss / 1024)) "$b_fds" "$b_own" "${B_WALL[*]}"
awk -v a="$a_wall" -v b="$b_wall" -v ac="$a_cpu" -v bc="$b_cpu" -v n="$N" -v own="$b_own" "$SHARES"'
    BEGIN { printf "    ratio b/a = %s (target <= 1.5); CPU per task beyond the command: %.1f ms (interpreter %s)\n", ratio(b, a), (bc - ac) * 1000 / n, per_task(own, n) }'
if [ -n "$SHM" ]; then
    t_wall=$(median "${T_WALL[@]}") t_cpu=$(median "${T_CPU[@]}") t_own=$(median "${T_OWN[@]}")
    awk -v a="$a_wall" -v b="$t_wall" -v bc="$t_cpu" -v n="$N" -v own="$t_own" -v runs="${T_WALL[*]}" "$SHARES"'
        BEGIN { printf "    the same with the datastore on tmpfs: %.2f s wall, %.2f s CPU; ratio = %s; interpreter %s CPU per task  [%s]\n", b, bc, ratio(b, a), per_task(own, n), runs }'
fi
T=$((OUTER * INNER))
read -r c0_wall c0_cpu _ <<<"$(bare "$T")"
printf '(c) bare loop, %d x true:           %6.2f s wall, %6.2f s CPU\n' "$T" "$c0_wall" "$c0_cpu"
read -r c_wall c_cpu _ c_rss c_fds c_own <<<"$(interpret bench_nested.flow --param "n_outer=$OUTER" --param "n_inner=$INNER")"
printf '    flowc interpret, %dx%d nested foreach: %6.2f s wall, %6.2f s CPU, interpreter: peak RSS %d MB (target < 200), max %d fds, %.2f s CPU\n' \
    "$OUTER" "$INNER" "$c_wall" "$c_cpu" $((c_rss / 1024)) "$c_fds" "$c_own"
awk -v a="$c0_wall" -v b="$c_wall" -v ac="$c0_cpu" -v bc="$c_cpu" -v n="$T" -v own="$c_own" "$SHARES"'
    BEGIN { printf "    ratio = %s; CPU per task beyond the command: %.1f ms (interpreter %s)\n", ratio(b, a), (bc - ac) * 1000 / n, per_task(own, n) }'
