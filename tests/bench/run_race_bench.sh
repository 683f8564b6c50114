#!/usr/bin/env bash
# Cost of race detection on a shared counter (tests/bench/shared_counter.c:
# two processes, N increments each under a process-shared mutex), all in one
# run: native; under ipcrace with no breakpoints (--no-watch: lock probes
# only); under ipcrace as it runs by default (rotating watch); under ipcrace
# with --watch on the counter; and under Helgrind when valgrind is
# installed. Prints ns per increment, the ratio to native, the watchpoint
# hits recorded (EV_MEM_ACCESS lines in `ipcrace dump`: all of them, and
# those on the counter), and the cost per hit: (watched - unwatched) * 2N /
# hits, unwatched being --no-watch and hits all recorded hits of the
# watched run (its rotating slots trap too). Hits past the per-window
# budget still trap until the slot is parked but emit no event, so that
# figure is an upper bound. Helgrind checks each process on its own: it cannot see the
# other process's accesses, so it cannot find a cross-process race at all.
# Needs root.
# Usage: tests/bench/run_race_bench.sh [BUILD_DIR] [INCREMENTS]
set -euo pipefail
build=${1:-build}
n=${2:-100000}
ipcrace=$build/ipcrace
work=$build/tests/bench/shared_counter
readonly COUNTER_OFFSET=0x40	# struct shared in shared_counter.c
shm=ipcrace-bench-counter-$$
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rm -f "/dev/shm/$shm"' EXIT

measure() {	# label, command... ; prints "label ns hits counter_hits"
	local label=$1 out ns hits=- counter_hits=-
	shift
	rm -f "$tmp/t"
	out=$("$@" 2>"$tmp/$label.err" | grep "^ns_per_increment") ||
		{ echo "$label: failed: $(tail -n 1 "$tmp/$label.err")" >&2; echo "$label nan - -"; return; }
	ns=${out#ns_per_increment=}
	if [ -s "$tmp/t" ]; then
		"$ipcrace" dump "$tmp/t" | grep ' mem-access ' >"$tmp/hits" || true
		hits=$(wc -l <"$tmp/hits")
		counter_hits=$(grep -c " +$COUNTER_OFFSET " "$tmp/hits" || true)
	fi
	echo "$label $ns $hits $counter_hits"
}

results=()
results+=("$(measure native "$work" "$n" "$shm")")
results+=("$(measure ipcrace-no-watch "$ipcrace" record -o "$tmp/t" --no-watch -- "$work" "$n" "$shm")")
results+=("$(measure ipcrace-default "$ipcrace" record -o "$tmp/t" -- "$work" "$n" "$shm")")
results+=("$(measure ipcrace-watch "$ipcrace" record -o "$tmp/t" \
	--watch "/dev/shm/$shm+$COUNTER_OFFSET:8" -- "$work" "$n" "$shm")")
if command -v valgrind >/dev/null; then
	results+=("$(measure helgrind valgrind --tool=helgrind -q "$work" "$n" "$shm")")
else
	echo "valgrind not installed: no Helgrind row" >&2
fi

native=$(echo "${results[0]}" | awk '{print $2}')
printf '%-18s %12s %8s %8s %13s\n' "mode" "ns/incr" "ratio" "hits" "counter-hits"
for r in "${results[@]}"; do
	set -- $r
	printf '%-18s %12s %8.2f %8s %13s\n' "$1" "$2" "$(awk -v a="$2" -v b="$native" 'BEGIN{print a/b}')" "$3" "$4"
done

# Cost per hit, measured directly: one thread writes a watched global 500
# times with no lock calls (every write traps: a named watch is parked only
# after 1024 traps; a word only one thread touches has its first hits
# recorded), against the same loop with no breakpoint.
loop=$build/tests/bench/watched_loop
per_write() {	# ipcrace options... ; prints ns per write
	"$ipcrace" record -o "$tmp/w" "$@" -- "$loop" 500 bare 2>/dev/null |
		sed -n 's/^ns_per_write=//p'
}
plain=$(per_write --no-watch)
trapped=$(per_write --watch watched_word)
recorded=$("$ipcrace" dump "$tmp/w" | grep -c ' mem-access ' || true)
awk -v t="$trapped" -v p="$plain" -v r="$recorded" 'BEGIN {
	printf "cost per watchpoint hit: %.0f ns (500 writes: %.0f ns each watched, %.0f unwatched; %d hits recorded)\n",
		t - p, t, p, r }'
echo "helgrind: each process is checked alone; the other process's accesses are invisible to it"
