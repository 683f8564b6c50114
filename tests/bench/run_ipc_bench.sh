#!/usr/bin/env bash
# Pipe ping-pong and Unix-socket request/response between two processes:
# native, under ipcrace, under `strace -f`, all in one run. Prints
# microseconds per round trip and the ratio to native. Needs root.
# Usage: tests/bench/run_ipc_bench.sh [BUILD_DIR] [ROUNDTRIPS]
set -euo pipefail
build=${1:-build}
rounds=${2:-20000}
ipcrace=$build/ipcrace
work=$build/tests/bench/ipc_pingpong
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() {	# command... ; prints the figure
	local out
	out=$("$@" 2>/dev/null | grep us_per_roundtrip) || { echo "failed: $*" >&2; echo nan; return; }
	echo "${out#us_per_roundtrip=}"
}

printf '%-6s %-10s %14s %8s\n' "ipc" "mode" "us/roundtrip" "ratio"
for mode in pipe unix; do
	native=$(measure "$work" "$mode" "$rounds")
	traced=$(measure "$ipcrace" record -o "$tmp/t" -- "$work" "$mode" "$rounds")
	if command -v strace >/dev/null; then
		straced=$(measure strace -f -qq -o /dev/null "$work" "$mode" "$rounds")
	else
		straced=nan
	fi
	for row in "native $native" "ipcrace $traced" "strace-f $straced"; do
		set -- $row
		printf '%-6s %-10s %14s %8.2f\n' "$mode" "$1" "$2" "$(awk -v a="$2" -v b="$native" 'BEGIN{print a/b}')"
	done
done
