#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Access probes, measured (figures, no assertions):
#  1. cost per access through one probed instruction (tests/bench/access_loop.c,
#     CPU time of the thread): native, under `ipcrace check` within the budget
#     (recorded), past it (trapping, not recorded), after the group's detach;
#  2. a racy loop of N iterations per thread (tests/bench/racy_loop.c, two
#     threads) natively and under `ipcrace check`: wall-time ratio, and whether
#     the race was found;
#  3. `ipcrace check` wall time on a short test (fixtures/race_heap_object),
#     with access probes on and off;
#  4. cost per observed atomic operation on a shared word (tests/bench/
#     atomic_loop.c, CPU time of the thread): lock xadd, a lock cmpxchg loop,
#     xchg, a test-and-set spinlock pair, natively and under `ipcrace check`.
# Needs root. Other load on the machine skews the wall-time figures.
#
# Usage: tests/bench/run_access_bench.sh [BUILD_DIR] [N]
set -euo pipefail
build=${1:-build}
n=${2:-10000000}
ipcrace=$build/ipcrace
loop=$build/tests/bench/access_loop
atomics=$build/tests/bench/atomic_loop
racy=$build/tests/bench/racy_loop
short=$build/fixtures/race_heap_object
readonly BUDGET=64 TRAP_CAP=1024 AFTER=1000000 RUNS=3 ATOMICS=${ATOMICS:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "run_access_bench: needs root" >&2; exit 1; }

now_ms() { date +%s%3N; }

echo "== cost per access (ns, thread CPU time), budget $BUDGET, trap cap $TRAP_CAP"
printf '%-22s %12s %14s %12s\n' run recorded over-budget detached
for i in $(seq $RUNS); do
	out=$("$loop" $BUDGET $TRAP_CAP $AFTER)
	printf '%-22s %12s %14s %12s\n' native $(echo "$out" | tr ' ' '\n' | cut -d= -f2)
done
for i in $(seq $RUNS); do
	out=$("$ipcrace" check --no-watch --access-budget $BUDGET -- "$loop" $BUDGET $TRAP_CAP $AFTER \
		2>/dev/null | grep ns_)
	printf '%-22s %12s %14s %12s\n' "ipcrace check" $(echo "$out" | tr ' ' '\n' | cut -d= -f2)
done

echo "== racy loop, 2 threads x $n iterations (wall ms)"
for i in $(seq $RUNS); do
	native=$("$racy" "$n" | sed 's/ms=\([0-9.]*\).*/\1/')
	t0=$(now_ms)
	"$ipcrace" check -v -f json -o "$tmp/r.json" -- "$racy" "$n" >"$tmp/out" 2>"$tmp/err" || true
	t1=$(now_ms)
	traced=$(sed 's/ms=\([0-9.]*\).*/\1/' "$tmp/out")
	found=$(python3 -c 'import json,sys; print(sum(f["kind"]=="data-race" for f in json.load(open(sys.argv[1]))["findings"]))' "$tmp/r.json")
	detached=$(grep -o '[0-9]* detached in [0-9]* groups' "$tmp/err" || echo "?")
	echo "native ${native} ms, in check ${traced} ms (ratio $(python3 -c "print(round($traced/$native,2))")), check total $((t1 - t0)) ms, races found: $found, $detached"
done

echo "== check wall time on a short test ($short)"
for mode in on off; do
	for i in $(seq $RUNS); do
		t0=$(now_ms)
		"$ipcrace" check --access-probes $mode -- "$short" >/dev/null 2>&1 || true
		t1=$(now_ms)
		echo "access probes $mode: $((t1 - t0)) ms"
	done
done

echo "== cost per atomic operation on a shared word (ns, thread CPU time), $ATOMICS each"
printf '%-22s %10s %10s %10s %10s\n' run xadd cas xchg spin-pair
for i in $(seq $RUNS); do
	out=$("$atomics" $ATOMICS)
	printf '%-22s %10s %10s %10s %10s\n' native $(echo "$out" | tr ' ' '\n' | cut -d= -f2)
done
for i in $(seq $RUNS); do
	out=$("$ipcrace" check --no-watch -- "$atomics" $ATOMICS 2>/dev/null | grep ns_)
	printf '%-22s %10s %10s %10s %10s\n' "ipcrace check" $(echo "$out" | tr ' ' '\n' | cut -d= -f2)
done
