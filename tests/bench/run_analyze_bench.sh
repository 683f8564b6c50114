#!/usr/bin/env bash
# Analyzer throughput and memory (issue 12): records two traces once, then
# times `ipcrace analyze` on each ROUNDS times and prints events/s and max
# RSS (GNU time), min and median:
#   - lock: lock_ops PAIRS (one thread, 3 events a pair: attempt, acquired,
#     release), recorded with --no-watch;
#   - counter: shared_counter INCREMENTS (two processes, one process-shared
#     mutex, its counter watched with a debug register: lock and memory
#     access events, happens-before across processes).
# Baselines in the same run: the read floor (`cat TRACE >/dev/null`, as
# events/s: no analyzer can be faster than reading its input), and, when
# BASELINE_IPCRACE names another build's binary (e.g. main before a change),
# that binary's `analyze` on the same traces, so a ratio is before/after on
# one machine at one time. Needs root (recording). Figures only; nothing is
# asserted.
# Usage: tests/bench/run_analyze_bench.sh [BUILD_DIR] [PAIRS] [ROUNDS]
set -euo pipefail
build=${1:-build}
pairs=${2:-1000000}
rounds=${3:-3}
ipcrace=$build/ipcrace
baseline=${BASELINE_IPCRACE:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "run_analyze_bench: needs GNU time (apt-get install time)" >&2; exit 1; }

"$ipcrace" record --no-watch -o "$tmp/lock.trace" -- \
	"$build/tests/bench/lock_ops" "$pairs" >/dev/null 2>"$tmp/rec.err" ||
	{ cat "$tmp/rec.err" >&2; exit 1; }
shm=ipcrace-bench-analyze-$$
"$ipcrace" record -o "$tmp/counter.trace" --watch "/dev/shm/$shm+0x40:8" -- \
	"$build/tests/bench/shared_counter" $((pairs / 4)) "$shm" >/dev/null 2>"$tmp/rec.err" ||
	{ cat "$tmp/rec.err" >&2; exit 1; }

# events in a trace: the JSON report's stats.events
events_of() {
	{ "$ipcrace" analyze --format json "$1" 2>/dev/null || true; } |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["stats"]["events"])'
}

# label, trace, events, command...: appends "label trace seconds maxrss_kb"
measure() {
	local label=$1 trace=$2; shift 2
	/usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null 2>&1 || true
	echo "$label $trace $(cat "$tmp/time")" >>"$tmp/rows"
}

: >"$tmp/rows"
for trace in lock counter; do
	f=$tmp/$trace.trace
	echo "$trace $(events_of "$f") $(stat -c %s "$f")" >>"$tmp/traces"
	for _ in $(seq "$rounds"); do
		measure read-floor "$trace" cat "$f"
		measure analyze "$trace" "$ipcrace" analyze "$f"
		[ -n "$baseline" ] && measure analyze-baseline "$trace" "$baseline" analyze "$f"
	done
done

echo "analyze: $rounds rounds; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: indicative; ratios in one run count)"
python3 - "$tmp/traces" "$tmp/rows" <<'PY'
import statistics, sys
traces = {}
for line in open(sys.argv[1]):
    name, events, size = line.split()
    traces[name] = (int(events), int(size))
rows = {}
for line in open(sys.argv[2]):
    label, trace, secs, rss = line.split()
    rows.setdefault((trace, label), []).append((max(float(secs), 0.005), int(rss)))
print("%-8s %-18s %10s %12s %12s %10s %10s" % ("trace", "mode", "events", "min Mev/s",
      "median Mev/s", "min MB", "median MB"))
for (trace, label), vals in rows.items():
    events, size = traces[trace]
    rates = [events / s / 1e6 for s, _ in vals]
    rss = [r / 1024 for _, r in vals]
    print("%-8s %-18s %10d %12.2f %12.2f %10.1f %10.1f" % (trace, label, events, min(rates),
          statistics.median(rates), min(rss), statistics.median(rss)))
for trace, (events, size) in traces.items():
    print("%-8s trace %d bytes, %.1f bytes/event" % (trace, size, size / max(events, 1)))
    base = rows.get((trace, "analyze-baseline"))
    cur = rows.get((trace, "analyze"))
    if base and cur:
        b = statistics.median(s for s, _ in base)
        c = statistics.median(s for s, _ in cur)
        print("%-8s analyze speed-up over baseline (median times): %.2fx; max RSS %.1f MB -> %.1f MB"
              % (trace, b / c, statistics.median(r for _, r in base) / 1024,
                 statistics.median(r for _, r in cur) / 1024))
PY
