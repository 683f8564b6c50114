#!/usr/bin/env bash
# Analyzer throughput and memory (issue 12): records the traces once, then
# times `ipcrace analyze` on each ROUNDS times and prints events/s (CPU
# time to the microsecond) and max RSS (GNU time), min and median:
#   - lock-N: lock_ops with N/2 pairs (one thread, 2 events a pair: the
#     attempt, whose acquisition is deferred to the thread's next event,
#     and the release), recorded with --no-watch, for each N of EVENTS
#     (1 M, 3 M and 10 M events by default): memory must stay flat as N
#     grows (bounded by live state, not by events);
#   - counter: shared_counter, N/12 increments for the first N of EVENTS
#     (two processes, one process-shared mutex, its counter
#     watched with a debug register: lock and memory access events,
#     happens-before across processes).
# Events/s is given for CPU time (user + sys: the figure on a machine other
# jobs share) and for wall time. Baselines in the same run: the read floor
# (`cat TRACE >/dev/null`: no analyzer can be faster than reading its
# input), and, when BASELINE_IPCRACE names another build's binary (e.g.
# main before a change), that binary's `analyze` on the same workloads,
# recorded by that binary too (a binary before trace version 3 cannot read
# version 3), so a ratio is before/after on one machine at one time, and
# the bytes an event of both formats are printed. Needs root (recording).
# Figures only; nothing is asserted.
# Usage: tests/bench/run_analyze_bench.sh [BUILD_DIR] [EVENTS] [ROUNDS]
#   EVENTS: trace sizes, comma separated (default 1000000,3000000,10000000)
set -euo pipefail
build=${1:-build}
sizes=${2:-1000000,3000000,10000000}
rounds=${3:-3}
ipcrace=$build/ipcrace
baseline=${BASELINE_IPCRACE:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "run_analyze_bench: needs GNU time (apt-get install time)" >&2; exit 1; }

IFS=, read -r -a events_list <<<"$sizes"
traces=()
# binary, prefix: records the traces (PREFIXlock-N, PREFIXcounter)
record_all() {
	local bin=$1 prefix=$2 n shm
	for n in "${events_list[@]}"; do
		"$bin" record --no-watch -o "$tmp/${prefix}lock-$n.trace" -- \
			"$build/tests/bench/lock_ops" $((n / 2)) >/dev/null 2>"$tmp/rec.err" ||
			{ cat "$tmp/rec.err" >&2; exit 1; }
	done
	shm=ipcrace-bench-analyze-$$
	"$bin" record -o "$tmp/${prefix}counter.trace" --watch "/dev/shm/$shm+0x40:8" -- \
		"$build/tests/bench/shared_counter" $((events_list[0] / 12)) "$shm" >/dev/null \
		2>"$tmp/rec.err" || { cat "$tmp/rec.err" >&2; exit 1; }
}
record_all "$ipcrace" ""
[ -n "$baseline" ] && record_all "$baseline" base-
for n in "${events_list[@]}"; do
	traces+=("lock-$n")
done
traces+=(counter)

# events in a trace, and lost ones: the JSON report's stats (BIN TRACE)
stats_of() {
	{ "$1" analyze --format json "$2" 2>/dev/null || true; } |
		python3 -c 'import json, sys; s = json.load(sys.stdin)["stats"]; print(s["events"], s["lost_events"])'
}

# label, trace, command...: appends "label trace wall_s user_s sys_s maxrss_kb".
# CPU and wall time of the command alone, to the microsecond (posix_spawn,
# wait4: GNU time's 10 ms steps were a third of a 1 M-event analysis); max
# RSS from a second run under GNU time (a spawned child's maxrss counts the
# spawner's memory until it execs).
measure() {
	local label=$1 trace=$2; shift 2
	python3 -c '
import os, sys, time
start = time.monotonic()
devnull = [(os.POSIX_SPAWN_OPEN, fd, "/dev/null", os.O_WRONLY, 0) for fd in (1, 2)]
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ, file_actions=devnull)
_, _, ru = os.wait4(pid, 0)
print("%.6f %.6f %.6f" % (time.monotonic() - start, ru.ru_utime, ru.ru_stime))' "$@" >"$tmp/cpu"
	/usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null 2>&1 || true
	echo "$label $trace $(cat "$tmp/cpu") $(cat "$tmp/rss")" >>"$tmp/rows"
}

: >"$tmp/rows"
: >"$tmp/traces"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for trace in "${traces[@]}"; do
	f=$tmp/$trace.trace
	b=$tmp/base-$trace.trace
	echo "$trace $(stats_of "$ipcrace" "$f") $(stat -c %s "$f")" >>"$tmp/traces"
	[ -n "$baseline" ] && echo "base-$trace $(stats_of "$baseline" "$b") $(stat -c %s "$b")" >>"$tmp/traces"
	for _ in $(seq "$rounds"); do
		measure read-floor "$trace" cat "$f"
		measure analyze "$trace" "$ipcrace" analyze "$f"
		[ -n "$baseline" ] && measure analyze-baseline "base-$trace" "$baseline" analyze "$b"
	done
done

echo "analyze: $rounds rounds; $(nproc) CPUs, load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (a shared machine: indicative; ratios in one run count)"
python3 - "$tmp/traces" "$tmp/rows" <<'PY'
import statistics, sys
traces = {}
for line in open(sys.argv[1]):
    name, events, lost, size = line.split()
    traces[name] = (int(events), int(lost), int(size))
rows = {}
for line in open(sys.argv[2]):
    label, trace, wall, user, sys_s, rss = line.split()
    rows.setdefault((trace, label), []).append(
        (max(float(wall), 1e-6), max(float(user) + float(sys_s), 1e-6), int(rss)))
print("%-14s %-17s %10s %13s %13s %13s %9s %9s" % ("trace", "mode", "events",
      "CPU Mev/s min", "CPU Mev/s med", "wall Mev/s md", "min MB", "median MB"))
for (trace, label), vals in rows.items():
    events = traces[trace][0]
    cpu = [events / c / 1e6 for _, c, _ in vals]
    wall = [events / w / 1e6 for w, _, _ in vals]
    rss = [r / 1024 for _, _, r in vals]
    print("%-14s %-17s %10d %13.2f %13.2f %13.2f %9.1f %9.1f" % (trace, label, events,
          min(cpu), statistics.median(cpu), statistics.median(wall), min(rss),
          statistics.median(rss)))
for trace, (events, lost, size) in traces.items():
    print("%-14s trace %d bytes, %.1f bytes/event, %d events lost" % (trace, size,
          size / max(events, 1), lost))
    base = rows.get(("base-" + trace, "analyze-baseline"))
    cur = rows.get((trace, "analyze"))
    if base and cur:
        # per event: the two recordings hold about, not exactly, as many
        b = statistics.median(c for _, c, _ in base) / max(traces["base-" + trace][0], 1)
        c = statistics.median(c for _, c, _ in cur) / max(events, 1)
        print("%-14s analyze speed-up over baseline (median CPU time an event): %.2fx; max RSS %.1f MB -> %.1f MB"
              % (trace, b / c, statistics.median(r for _, _, r in base) / 1024,
                 statistics.median(r for _, _, r in cur) / 1024))
PY
