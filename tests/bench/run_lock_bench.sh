#!/usr/bin/env bash
# Per-lock-operation cost, all in one run: native; under a bare uprobe (an
# empty BPF program) at the function entry and at the emulated probe site;
# under ipcrace at both sites; and the cost an UNTRACED process pays while
# ipcrace traces something else: `check`/`record -- CMD` (its probes are on
# private copies of libc in the tree's mount namespace), the same with
# IPCRACE_NO_SCOPE=1 (host-wide probes, the fallback), and attach mode.
# Each row is measured ROUNDS times, interleaved with the native baseline
# (noise from other load hits both alike); prints min and median ns per
# lock/unlock pair and their ratios to native's. Needs root.
# Usage: tests/bench/run_lock_bench.sh [BUILD_DIR] [PAIRS] [ROUNDS]
set -euo pipefail
build=${1:-build}
pairs=${2:-200000}
rounds=${3:-5}
ipcrace=$build/ipcrace
work=$build/tests/bench/lock_ops
tmp=$(mktemp -d)
tracer=
sleeper=
cleanup() {
	[ -n "$tracer" ] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# one figure: ns per pair of one lock_ops run, through the given command
once() {
	local out
	out=$("$@" 2>/dev/null | grep ns_per_pair) || { echo "failed: $*" >&2; return 1; }
	echo "${out#ns_per_pair=}"
}

# label, command...: appends "label value" lines to $tmp/rows
measure() {
	local label=$1; shift
	echo "$label $(once "$@")" >>"$tmp/rows"
}

# a neighbour: untraced, while a tracer runs; the tracer must be set up
# (its -v line "time: attach uprobes" or "attached") before measuring
with_tracer() {	# label, ready-pattern, tracer command...
	local label=$1 ready=$2; shift 2
	"$@" 2>"$tmp/tracer.err" &
	tracer=$!
	for _ in $(seq 300); do grep -q "$ready" "$tmp/tracer.err" && break; sleep 0.05; done
	sleep 0.2
	measure native "$work" "$pairs"
	measure "$label" "$work" "$pairs"
	kill -INT "$tracer" 2>/dev/null || true
	wait "$tracer" 2>/dev/null || true
	tracer=
}

for _ in $(seq "$rounds"); do
	measure native "$work" "$pairs"
	measure bare-uprobe-entry "$ipcrace" record -o "$tmp/t" --bare-probes --probe-site entry -- "$work" "$pairs"
	measure bare-uprobe-auto "$ipcrace" record -o "$tmp/t" --bare-probes --probe-site auto -- "$work" "$pairs"
	measure ipcrace-entry "$ipcrace" record -o "$tmp/t" --probe-site entry -- "$work" "$pairs"
	measure ipcrace-auto "$ipcrace" record -o "$tmp/t" --probe-site auto -- "$work" "$pairs"
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
done

echo "lock/unlock pairs: $pairs per run, $rounds rounds; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, value = line.split()
    rows.setdefault(label, []).append(float(value))
native_min, native_med = min(rows["native"]), statistics.median(rows["native"])
print("%-28s %10s %10s %10s %10s" % ("mode", "min ns", "median ns", "min/min", "med/med"))
for label, vals in rows.items():
    med = statistics.median(vals)
    print("%-28s %10.1f %10.1f %10.2f %10.2f" % (label, min(vals), med, min(vals) / native_min,
                                                  med / native_med))
PY
