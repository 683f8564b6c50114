#!/usr/bin/env bash
# Per-lock-operation cost, all in one run, each row ROUNDS times interleaved
# with the native baseline (noise from other load hits both alike); min and
# median, wall and CPU (the traced process's own CPU time: traps and BPF
# programs run in its context), and ratios. Needs root.
#
# Lock pair (tests/bench/lock_ops.c, one thread, uncontended):
#   native
#   bare-probes       empty BPF programs on the same functions and sites,
#                     entry and return probes on every lock function: three
#                     traps per pair (the floor before issue 12)
#   bare-entries      the same at the entries only (IPCRACE_BARE_NO_RETURNS=1):
#                     two traps per pair, the floor of a pthread_mutex_lock
#                     whose acquisition is taken from the next event
#   ipcrace-locks     record with lock probes only (--no-watch,
#                     --access-probes off): what a lock pair costs
#   ipcrace-locks-returns  the same with a return probe on every lock call
#                     (IPCRACE_NO_UPROBE_SESSION=1: as before issue 12)
#   ipcrace-record    record as it runs by default (the watcher and the
#                     access probes add their own traps on lock_ops' counter)
#   ipcrace-check     check, by default
#   helgrind, drd     valgrind, installed here if missing (apt-get)
#   tsan              lock_ops built with -fsanitize=thread, when the
#                     compiler can
# Other lock kinds (KINDS, default "sem semtry rwtry": lock_ops' sem_wait/
# sem_post, sem_trywait/sem_post and pthread_rwlock_trywrlock/unlock pairs):
# KIND:native, KIND:bare-probes (empty programs, as ipcrace places and
# attaches them), KIND:ipcrace-locks (and KIND:ipcrace-locks-entry with
# ENTRY_SITE=1); ratios against KIND:native.
# Hot counter (tests/bench/shared_counter.c, two processes, one
# process-shared mutex): native, ipcrace-locks, ipcrace-record; and, with
# SAMPLED_INCREMENTS per process (default 10000000, about a second natively;
# 0: not run), counter-long-native and counter-long-sampled: ipcrace
# attached (`record -p`) with the lock budget `--overhead SAMPLED_PCT`
# (default 10), which takes the lock probes off while the budget is spent
# (README "Lock sampling"): the one way a lock pair of two traps (about 1.6
# us here) can cost a 46 ns critical section less than 1.5x; the share of
# the time the probes were on is printed from ipcrace's stderr.
# With NEIGHBOURS=1 (default), the cost an UNTRACED process pays while
# ipcrace traces something else: `record -- CMD` (its probes are on private
# copies of libc in the tree's mount namespace), the same with
# IPCRACE_NO_SCOPE=1 (host-wide probes, the fallback), and attach mode.
# With ENTRY_SITE=1, the rows again with --probe-site entry (a probe the
# kernel must single-step: slow on a VM).
# Usage: tests/bench/run_lock_bench.sh [BUILD_DIR] [PAIRS] [ROUNDS] [INCREMENTS]
set -euo pipefail
build=${1:-build}
pairs=${2:-500000}
rounds=${3:-3}
increments=${4:-200000}
sampled_increments=${SAMPLED_INCREMENTS:-10000000}
sampled_pct=${SAMPLED_PCT:-10}
neighbours=${NEIGHBOURS:-1}
entry_site=${ENTRY_SITE:-0}
kinds=${KINDS-sem semtry rwtry}
ipcrace=$build/ipcrace
work=$build/tests/bench/lock_ops
counter=$build/tests/bench/shared_counter
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
tracer=
sleeper=
cleanup() {
	[ -n "$tracer" ] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v valgrind >/dev/null; then
	echo "installing valgrind for the Helgrind and DRD rows" >&2
	apt-get install -y -q valgrind >/dev/null 2>&1 || echo "valgrind: not installed" >&2
fi
tsan=
if cc -O2 -pthread -fsanitize=thread -o "$tmp/lock_ops_tsan" "$here/lock_ops.c" 2>/dev/null &&
	"$tmp/lock_ops_tsan" 10 >/dev/null 2>&1; then
	tsan=$tmp/lock_ops_tsan
else
	echo "no -fsanitize=thread here: no TSan row" >&2
fi

locks_only=(--no-watch --access-probes off)

# label, key, command...: appends "label wall cpu" to $tmp/rows
measure() {
	local label=$1 key=$2 out wall cpu
	shift 2
	out=$("$@" 2>"$tmp/err") || { echo "failed: $* ($(tail -n 1 "$tmp/err"))" >&2; return 0; }
	wall=$(sed -n "s/^${key}=//p" <<<"$out")
	cpu=$(sed -n "s/^cpu_${key}=//p" <<<"$out")
	echo "$label $wall ${cpu:-nan}" >>"$tmp/rows"
}

pair() {	# label, command prefix... (lock_ops PAIRS appended)
	local label=$1
	shift
	measure "$label" ns_per_pair "$@" "$work" "$pairs"
}

kpair() {	# kind, label, command prefix... (lock_ops PAIRS KIND appended)
	local kind=$1 label=$2
	shift 2
	measure "$kind:$label" ns_per_pair "$@" "$work" "$pairs" "$kind"
}

incr() {	# label, command prefix... (shared_counter INCREMENTS appended)
	local label=$1
	shift
	measure "$label" ns_per_increment "$@" "$counter" "$increments"
}

# the hot counter attached with a lock budget: the counter waits at its gate
# (a FIFO) until `record -p` says it is attached, then counts
incr_sampled() {
	local out pid
	rm -f "$tmp/gate"
	mkfifo "$tmp/gate"
	"$counter" "$sampled_increments" "" "$tmp/gate" >"$tmp/counter.out" 2>"$tmp/counter.err" &
	pid=$!
	# attach to the counter itself, not to the shell that is about to exec it
	for _ in $(seq 100); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(realpath "$counter")" ] && break
		sleep 0.02
	done
	"$ipcrace" record -v -o "$tmp/t" "${locks_only[@]}" --overhead "$sampled_pct" -p "$pid" \
		2>"$tmp/tracer.err" &
	tracer=$!
	for _ in $(seq 300); do grep -q "attached" "$tmp/tracer.err" && break; sleep 0.05; done
	echo go >"$tmp/gate"
	wait "$pid" || echo "failed: sampled counter ($(tail -n 1 "$tmp/counter.err"))" >&2
	wait "$tracer" 2>/dev/null || true
	tracer=
	out=$(cat "$tmp/counter.out")
	echo "counter-long-sampled $(sed -n 's/^ns_per_increment=//p' <<<"$out")" \
		"$(sed -n 's/^cpu_ns_per_increment=//p' <<<"$out")" >>"$tmp/rows"
	grep -o 'locks: sampled: .*' "$tmp/tracer.err" | head -1 >>"$tmp/sampled" ||
		echo "locks: not sampled" >>"$tmp/sampled"
}

# a neighbour: untraced, while a tracer runs; the tracer must be set up
# (its -v line "time: set up the watcher" or "attached") before measuring
with_tracer() {	# label, ready-pattern, tracer command...
	local label=$1 ready=$2
	shift 2
	"$@" 2>"$tmp/tracer.err" &
	tracer=$!
	for _ in $(seq 300); do grep -q "$ready" "$tmp/tracer.err" && break; sleep 0.05; done
	sleep 0.2
	pair native
	pair "$label"
	kill -INT "$tracer" 2>/dev/null || true
	wait "$tracer" 2>/dev/null || true
	tracer=
}

for _ in $(seq "$rounds"); do
	pair native
	pair bare-probes "$ipcrace" record -o "$tmp/t" --bare-probes "${locks_only[@]}" --
	pair bare-entries env IPCRACE_BARE_NO_RETURNS=1 "$ipcrace" record -o "$tmp/t" --bare-probes \
		"${locks_only[@]}" --
	pair ipcrace-locks-returns env IPCRACE_NO_UPROBE_SESSION=1 "$ipcrace" record -o "$tmp/t" \
		"${locks_only[@]}" --
	pair ipcrace-locks "$ipcrace" record -o "$tmp/t" "${locks_only[@]}" --
	pair ipcrace-record "$ipcrace" record -o "$tmp/t" --
	pair ipcrace-check "$ipcrace" check --
	if [ "$entry_site" = 1 ]; then
		pair bare-probes-entry "$ipcrace" record -o "$tmp/t" --bare-probes \
			--probe-site entry "${locks_only[@]}" --
		pair ipcrace-locks-entry "$ipcrace" record -o "$tmp/t" --probe-site entry \
			"${locks_only[@]}" --
	fi
	if command -v valgrind >/dev/null; then
		pair helgrind valgrind --tool=helgrind -q
		pair drd valgrind --tool=drd -q
	fi
	[ -n "$tsan" ] && measure tsan ns_per_pair "$tsan" "$pairs"
	for kind in $kinds; do
		kpair "$kind" native
		kpair "$kind" bare-probes "$ipcrace" record -o "$tmp/t" --bare-probes "${locks_only[@]}" --
		kpair "$kind" ipcrace-locks "$ipcrace" record -o "$tmp/t" "${locks_only[@]}" --
		[ "$entry_site" = 1 ] && kpair "$kind" ipcrace-locks-entry "$ipcrace" record -o "$tmp/t" \
			--probe-site entry "${locks_only[@]}" --
	done
	incr counter-native
	incr counter-ipcrace-locks "$ipcrace" record -o "$tmp/t" "${locks_only[@]}" --
	incr counter-ipcrace-record "$ipcrace" record -o "$tmp/t" --
	if [ "$sampled_increments" -gt 0 ]; then
		measure counter-long-native ns_per_increment "$counter" "$sampled_increments"
		incr_sampled
	fi
	if [ "$neighbours" = 1 ]; then
		with_tracer neighbour-of-run "time: set up the watcher" \
			"$ipcrace" record -v -o "$tmp/idle" -- sleep 60
		with_tracer neighbour-of-run-host-wide "time: set up the watcher" \
			env IPCRACE_NO_SCOPE=1 "$ipcrace" record -v -o "$tmp/idle" -- sleep 60
		sleep 60 &
		sleeper=$!
		with_tracer neighbour-of-attach "attached" "$ipcrace" record -v -o "$tmp/idle" -p "$sleeper"
		kill "$sleeper" 2>/dev/null || true
		wait "$sleeper" 2>/dev/null || true
		sleeper=
	fi
done

echo "lock/unlock pairs: $pairs per run, shared-counter increments: $increments per process," \
	"$rounds rounds; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/rows" "$tmp/sampled" <<'PY'
import math, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, wall, cpu = line.split()
    rows.setdefault(label, []).append((float(wall), float(cpu)))

def stat(label, col, f):
    vals = [v[col] for v in rows.get(label, []) if not math.isnan(v[col])]
    return f(vals) if vals else float("nan")

def base(label):
    if ":" in label:
        return label.split(":")[0] + ":native"
    if label.startswith("counter-long-"):
        return "counter-long-native"
    return "counter-native" if label.startswith("counter-") else "native"

print("%-28s %9s %9s %9s %9s %8s %8s" % ("mode (ns per pair/increment)", "wall min", "wall med",
                                          "cpu min", "cpu med", "cpu/nat", "wall/nat"))
for label in rows:
    b = base(label)
    cmed, wmed = stat(label, 1, statistics.median), stat(label, 0, statistics.median)
    print("%-28s %9.1f %9.1f %9.1f %9.1f %8.2f %8.2f" % (
        label, stat(label, 0, min), wmed, stat(label, 1, min), cmed,
        cmed / stat(b, 1, statistics.median), wmed / stat(b, 0, statistics.median)))

# the issue's goals, as ratios of medians of CPU per pair
locks = stat("ipcrace-locks", 1, statistics.median)
print()
print("lock pair under ipcrace (lock probes only): %.0f ns CPU (median)" % locks)
for other in ("bare-probes", "bare-entries", "ipcrace-locks-returns", "helgrind", "drd", "tsan"):
    if other in rows:
        o = stat(other, 1, statistics.median)
        print("  %-12s %8.0f ns CPU: ipcrace/%s = %.2f" % (other, o, other, locks / o))
if "counter-ipcrace-locks" in rows:
    n = stat("counter-native", 0, statistics.median)
    print("hot counter, 2 processes, wall: ipcrace-locks %.2fx native, ipcrace-record %.2fx" % (
        stat("counter-ipcrace-locks", 0, statistics.median) / n,
        stat("counter-ipcrace-record", 0, statistics.median) / n))
if "counter-long-sampled" in rows:
    n = stat("counter-long-native", 0, statistics.median)
    print("hot counter attached with a lock budget, wall: %.2fx native (min %.2fx)" % (
        stat("counter-long-sampled", 0, statistics.median) / n,
        stat("counter-long-sampled", 0, min) / n))
    for line in open(sys.argv[2]):
        print("  " + line.strip())
PY
