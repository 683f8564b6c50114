#!/usr/bin/env bash
# Per-lock-operation cost, all in one run: native; under a bare uprobe (an
# empty BPF program) at the function entry and at the emulated probe site;
# under ipcrace at both sites; and the cost an UNTRACED process pays while
# ipcrace traces something else, in both modes.
# Prints ns per lock/unlock pair and the ratio to native. Needs root.
# Usage: tests/bench/run_lock_bench.sh [BUILD_DIR] [PAIRS]
set -euo pipefail
build=${1:-build}
pairs=${2:-200000}
ipcrace=$build/ipcrace
work=$build/tests/bench/lock_ops
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() {	# label, command...
	local label=$1; shift
	local out ns
	out=$("$@" 2>/dev/null | grep ns_per_pair) || { echo "$label: failed" >&2; return 1; }
	ns=${out#ns_per_pair=}
	echo "$label $ns"
}

results=()
results+=("$(measure native "$work" "$pairs")")
results+=("$(measure bare-uprobe-entry "$ipcrace" record -o "$tmp/t" --bare-probes --probe-site entry -- "$work" "$pairs")")
results+=("$(measure bare-uprobe-auto "$ipcrace" record -o "$tmp/t" --bare-probes --probe-site auto -- "$work" "$pairs")")
results+=("$(measure ipcrace-entry "$ipcrace" record -o "$tmp/t" --probe-site entry -- "$work" "$pairs")")
results+=("$(measure ipcrace-auto "$ipcrace" record -o "$tmp/t" --probe-site auto -- "$work" "$pairs")")

# a neighbour: untraced, while ipcrace traces another process. `check --`
# probes libc for every process (the traced tree must be seen from its
# first instruction); attach mode (-p) probes the attached process only.
"$ipcrace" record -o "$tmp/idle" -- sleep 30 2>/dev/null &
tracer=$!
sleep 2
results+=("$(measure neighbour-of-run "$work" "$pairs")")
kill -INT "$tracer" 2>/dev/null || true
wait "$tracer" 2>/dev/null || true
sleep 30 &
sleeper=$!
"$ipcrace" record -o "$tmp/idle" -p "$sleeper" 2>/dev/null &
tracer=$!
sleep 2
results+=("$(measure neighbour-of-attach "$work" "$pairs")")
kill -INT "$tracer" 2>/dev/null || true
wait "$tracer" 2>/dev/null || true
kill "$sleeper" 2>/dev/null || true

native=$(echo "${results[0]}" | awk '{print $2}')
printf '%-22s %12s %8s\n' "mode" "ns/pair" "ratio"
for r in "${results[@]}"; do
	set -- $r
	printf '%-22s %12s %8.2f\n' "$1" "$2" "$(awk -v a="$2" -v b="$native" 'BEGIN{print a/b}')"
done
