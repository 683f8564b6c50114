#!/usr/bin/env bash
# Pipe ping-pong and Unix-socket request/response between two processes:
# native, under ipcrace (as it runs by default; with --access-probes off,
# the syscall path alone: the access probes trap in the loop's own
# instructions until their budget is spent, tens of milliseconds; and with
# --ipc-stacks), under `strace -f`, all in one run, ROUNDS times
# interleaved (load that comes and goes hits every mode alike). Prints the
# min and median microseconds per round trip and their ratios to native's,
# in wall time and in CPU time of the two processes (the programs run in
# their context; CPU time is less sensitive to other load and to whether
# the scheduler keeps the pair on one CPU or wakes one on the other, which
# alone moves a native round trip between 2 and 50 us on this VM).
# Needs root. NO_STRACE=1 leaves strace out (its runs are the longest).
# Usage: tests/bench/run_ipc_bench.sh [BUILD_DIR] [ROUNDTRIPS] [ROUNDS]
set -euo pipefail
build=${1:-build}
roundtrips=${2:-20000}
rounds=${3:-3}
ipcrace=$build/ipcrace
work=$build/tests/bench/ipc_pingpong
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() {	# ipc, mode, command... : appends "ipc mode wall cpu" to $tmp/rows
	local ipc=$1 mode=$2 out wall cpu
	shift 2
	out=$("$@" 2>/dev/null) || { echo "failed: $*" >&2; return; }
	wall=$(echo "$out" | sed -n 's/^us_per_roundtrip=//p')
	cpu=$(echo "$out" | sed -n 's/^cpu_us_per_roundtrip=//p')
	[ -n "$wall" ] && [ -n "$cpu" ] || { echo "no figures: $*" >&2; return; }
	echo "$ipc $mode $wall $cpu" >>"$tmp/rows"
}

for _ in $(seq "$rounds"); do
	for ipc in pipe unix; do
		measure "$ipc" native "$work" "$ipc" "$roundtrips"
		measure "$ipc" ipcrace "$ipcrace" record -o "$tmp/t" -- "$work" "$ipc" "$roundtrips"
		measure "$ipc" no-access "$ipcrace" record --access-probes off -o "$tmp/t" -- \
			"$work" "$ipc" "$roundtrips"
		measure "$ipc" ipc-stacks "$ipcrace" record --ipc-stacks -o "$tmp/t" -- "$work" "$ipc" "$roundtrips"
		if [ -z "${NO_STRACE:-}" ] && command -v strace >/dev/null; then
			measure "$ipc" strace-f strace -f -qq -o /dev/null "$work" "$ipc" "$roundtrips"
		fi
	done
done

echo "round trips: $roundtrips per run, $rounds rounds; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    ipc, mode, wall, cpu = line.split()
    rows.setdefault((ipc, mode, "wall"), []).append(float(wall))
    rows.setdefault((ipc, mode, "cpu"), []).append(float(cpu))
print(f"{'ipc':6} {'mode':10} {'time':5} {'min us':>9} {'median us':>10} {'min/min':>8} {'med/med':>8}")
for ipc in ("pipe", "unix"):
    for kind in ("wall", "cpu"):
        base = rows.get((ipc, "native", kind))
        if not base:
            continue
        for mode in ("native", "ipcrace", "no-access", "ipc-stacks", "strace-f"):
            v = rows.get((ipc, mode, kind))
            if not v:
                continue
            print(f"{ipc:6} {mode:10} {kind:5} {min(v):9.2f} {statistics.median(v):10.2f} "
                  f"{min(v) / min(base):8.2f} "
                  f"{statistics.median(v) / statistics.median(base):8.2f}")
PY
