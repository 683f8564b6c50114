#!/usr/bin/env bash
# Stack capture, frame pointers vs DWARF snapshots, side by side:
#   - cost per stack event: ns per lock/unlock pair (one stack per pair, at
#     the lock) DEPTH calls deep, native and under `ipcrace record` with
#     --call-graph fp and dwarf; "same" = one call site (a stack already
#     seen: what most events cost), "new" = a new stack depth every pair
#     (dwarf: a snapshot sent each time; fp walks the same frames, so for fp
#     it is a seen stack too);
#   - trace bytes per stack and the stack bytes DWARF walks needed to reach
#     frames 10, 20 and 30 (stack_stats), on the workload and on a real
#     program given as CMD (default: gcc -pipe compiling a file, deep C
#     stacks writing to a pipe).
# Needs root. Figures only; nothing is asserted.
# Usage: tests/bench/run_stack_bench.sh [BUILD_DIR] [PAIRS] [DEPTH] [-- CMD...]
set -euo pipefail
build=${1:-build}
pairs=${2:-4000}
depth=${3:-24}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = -- ] && shift
ipcrace=$build/ipcrace
work=$build/tests/bench/stack_events
stats=$build/tests/bench/stack_stats
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ns() {	# command... -> ns_per_pair
	"$@" 2>/dev/null | sed -n 's/^ns_per_pair=//p'
}

printf '%-8s %-6s %12s %12s %12s\n' site depth native fp dwarf
for site in same new; do
	native=$(ns "$work" "$site" "$pairs" "$depth")
	fp=$(ns "$ipcrace" record --call-graph fp -o "$tmp/$site.fp" -- "$work" "$site" "$pairs" "$depth")
	dwarf=$(ns "$ipcrace" record --call-graph dwarf -o "$tmp/$site.dwarf" -- "$work" "$site" "$pairs" "$depth")
	printf '%-8s %-6s %12s %12s %12s   ns per pair\n' "$site" "$depth" "$native" "$fp" "$dwarf"
done

echo
echo "trace bytes per stack (workload, new sites):"
printf '  fp:    '; "$stats" "$tmp/new.fp" | head -n 1
printf '  dwarf: '; "$stats" "$tmp/new.dwarf" | sed -n 2p
ls -l "$tmp/new.fp" "$tmp/new.dwarf" | awk '{ print "  trace file " $NF ": " $5 " bytes" }'

if [ $# -eq 0 ]; then
	src="$tmp/prog.c"
	cat >"$src" <<'C'
#include <stdio.h>
#define F(n) int f##n(int x) { return x * n + (x >> 3); }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11) F(12)
int main(void) { printf("%d\n", f1(f2(f3(f4(f5(f6(7))))))); return 0; }
C
	set -- gcc -pipe -O2 -g -c "$src" -o "$tmp/prog.o"
fi
echo
echo "a real program: $*"
"$ipcrace" record --call-graph dwarf,16384 -o "$tmp/real.dwarf" -- "$@" >/dev/null 2>&1 || true
"$ipcrace" record --call-graph fp -o "$tmp/real.fp" -- "$@" >/dev/null 2>&1 || true
printf '  fp:    '; "$stats" "$tmp/real.fp" | head -n 1
"$stats" "$tmp/real.dwarf" | sed -n '2,$p' | sed 's/^/  dwarf (16 KiB snapshots): /'
