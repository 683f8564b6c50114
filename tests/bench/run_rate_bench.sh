#!/usr/bin/env bash
# Sustained event rate: does the ring buffer keep up? A synthetic producer
# (tests/bench/event_rate: threads calling futex(FUTEX_WAKE), one event per
# call through the raw tracepoints, no trap) runs natively, then under
# `ipcrace record` as fast as it can and paced at RATE events a second,
# then under `ipcrace check` paced (recording and analysis). Each row:
# the producer's rate, the events recorded, the events lost, the trace's
# bytes per event, ipcrace's wall time and max RSS; ROUNDS rounds, min and
# median. Default ring buffer unless BUFFER_KIB is set. Needs root.
# Usage: tests/bench/run_rate_bench.sh [BUILD_DIR] [SECONDS] [ROUNDS] [RATE] [THREADS]
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
rounds=${3:-3}
rate=${4:-1000000}
threads=${5:-2}
ipcrace=$build/ipcrace
producer=$build/tests/bench/event_rate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
buffer=()
[ -n "${BUFFER_KIB:-}" ] && buffer=(--buffer-size "$BUFFER_KIB")

[ -x "$producer" ] || { echo "run_rate_bench: no $producer (build first)" >&2; exit 1; }

# label, command...: one row "label rate events lost bytes wall rss"
measure() {
	local label=$1; shift
	local out stats trace=$tmp/t.trace
	rm -f "$trace" "$tmp/report"
	/usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || true
	out=$(grep -o 'rate=[0-9]*' "$tmp/out") || { echo "failed: $*" >&2; cat "$tmp/err" >&2; return 1; }
	if [ -f "$trace" ]; then
		"$ipcrace" analyze --format json -o "$tmp/report" "$trace" 2>/dev/null || true
	fi
	if [ "$label" = native ]; then
		stats="0 0"
	else
		stats=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["stats"]
print(s["events"], s["lost_events"])' "$tmp/report")
	fi
	echo "$label ${out#rate=} $stats $(stat -c %s "$trace" 2>/dev/null || echo 0) $(tail -n 1 "$tmp/time")" >>"$tmp/rows"
}

: >"$tmp/rows"
for _ in $(seq "$rounds"); do
	measure native "$producer" "$threads" "$seconds"
	measure record-max "$ipcrace" record "${buffer[@]}" -o "$tmp/t.trace" -- \
		"$producer" "$threads" "$seconds"
	measure record-paced "$ipcrace" record "${buffer[@]}" -o "$tmp/t.trace" -- \
		"$producer" "$threads" "$seconds" "$rate"
	measure check-paced "$ipcrace" check "${buffer[@]}" --format json -o "$tmp/report" -- \
		"$producer" "$threads" "$seconds" "$rate"
done

echo "event rate: $threads producer threads, ${seconds} s, paced at $rate/s, buffer ${BUFFER_KIB:-default} KiB, $rounds rounds; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: indicative)"
python3 - "$tmp/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, rate, events, lost, size, wall, rss = line.split()
    rows.setdefault(label, []).append((int(rate), int(events), int(lost), int(size),
                                       float(wall), int(rss)))
print("%-13s %12s %12s %10s %10s %9s %9s %8s" % ("mode", "min ev/s", "median ev/s",
      "events", "max lost", "B/event", "wall s", "RSS MB"))
for label, vals in rows.items():
    rates = [v[0] for v in vals]
    last = vals[-1]
    print("%-13s %12d %12d %10d %10d %9s %9.2f %8.1f" % (label, min(rates),
          statistics.median(rates), last[1], max(v[2] for v in vals),
          "%.1f" % (last[3] / last[1]) if last[1] and last[3] else "-",
          statistics.median(v[4] for v in vals), max(v[5] for v in vals) / 1024))
PY
