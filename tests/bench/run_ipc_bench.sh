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
# Both processes run pinned to one CPU (PIN_CPU, by default the last one;
# PIN_CPU=none lets the scheduler place them): a round trip is then two
# context switches on that CPU, the steady case (2.7 us native here) and
# the one where a tracer's cost per event shows most; unpinned, a native
# round trip took 14-18 us of CPU on a quiet machine, 2.7 under load. The
# "ipcrace-cpu" column is ipcrace's own CPU (consumer, trace writer, its
# helper processes) over the run, start-up included, per round trip: the
# ratios count only the two processes'.
# Needs root. NO_STRACE=1 leaves strace out (its runs are the longest).
# BASELINE_IPCRACE=PATH adds "base" rows: that ipcrace binary (another build,
# say) as it runs by default, in the same rounds, for a before/after.
# PROFILE=1 adds, after the rounds, one run of each (ipcrace, and the
# baseline when given) with --access-probes off over 1,000,000 round trips
# with kernel.bpf_stats_enabled on (put back to 0): the syscall programs'
# ns a run, min and median of 8 windows of 0.2 s (tests/services/
# bpf_prog_stats.py windows; bpf_stats' own timing is about 25 ns a run).
# Usage: tests/bench/run_ipc_bench.sh [BUILD_DIR] [ROUNDTRIPS] [ROUNDS]
set -euo pipefail
build=${1:-build}
roundtrips=${2:-20000}
rounds=${3:-3}
pin=${PIN_CPU:-$(($(nproc) - 1))}
[ "$pin" = none ] && pin=
ipcrace=$build/ipcrace
work=$build/tests/bench/ipc_pingpong
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ipc, mode, command... : appends "ipc mode wall cpu tree" to $tmp/rows, tree
# being the CPU of the whole command tree a round trip (the tracer's too)
measure() {
	local ipc=$1 mode=$2 wall cpu tree
	shift 2
	/usr/bin/time -o "$tmp/time" -f '%U %S' "$@" >"$tmp/out" 2>/dev/null ||
		{ echo "failed: $*" >&2; return; }
	wall=$(sed -n 's/^us_per_roundtrip=//p' "$tmp/out")
	cpu=$(sed -n 's/^cpu_us_per_roundtrip=//p' "$tmp/out")
	tree=$(tail -1 "$tmp/time" | awk -v n="$roundtrips" '{ printf "%.2f", ($1 + $2) * 1e6 / n }')
	[ -n "$wall" ] && [ -n "$cpu" ] || { echo "no figures: $*" >&2; return; }
	echo "$ipc $mode $wall $cpu $tree" >>"$tmp/rows"
}

loads=""
for _ in $(seq "$rounds"); do
	for ipc in pipe unix; do
		args=("$ipc" "$roundtrips" $pin)
		measure "$ipc" native "$work" "${args[@]}"
		measure "$ipc" ipcrace "$ipcrace" record -o "$tmp/t" -- "$work" "${args[@]}"
		if [ -n "${BASELINE_IPCRACE:-}" ]; then
			measure "$ipc" base "$BASELINE_IPCRACE" record -o "$tmp/t" -- "$work" "${args[@]}"
		fi
		measure "$ipc" no-access "$ipcrace" record --access-probes off -o "$tmp/t" -- \
			"$work" "${args[@]}"
		measure "$ipc" ipc-stacks "$ipcrace" record --ipc-stacks -o "$tmp/t" -- "$work" "${args[@]}"
		if [ -z "${NO_STRACE:-}" ] && command -v strace >/dev/null; then
			measure "$ipc" strace-f strace -f -qq -o /dev/null "$work" "${args[@]}"
		fi
	done
	loads="$loads $(cut -d' ' -f1 /proc/loadavg)"
done

# profile BIN IPC: the syscall programs' ns a run over a long run of BIN (PROFILE=1)
profile() {
	local bin=$1 ipc=$2 pid
	"$bin" record --access-probes off -o "$tmp/p" -- "$work" "$ipc" 1000000 $pin >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		grep -qs prog_id /proc/"$pid"/fdinfo/* && break
		sleep 0.05
	done
	sleep 0.5
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	python3 "$(dirname "$0")/../services/bpf_prog_stats.py" windows "$pid" 8 0.2 | grep -E ' sys_(enter|exit)'
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	wait "$pid"
}
if [ -n "${PROFILE:-}" ]; then
	trap 'echo 0 >/proc/sys/kernel/bpf_stats_enabled; rm -rf "$tmp"' EXIT
	for ipc in pipe unix; do
		echo "profile $ipc ipcrace:"
		profile "$ipcrace" "$ipc"
		if [ -n "${BASELINE_IPCRACE:-}" ]; then
			echo "profile $ipc base:"
			profile "$BASELINE_IPCRACE" "$ipc"
		fi
	done
fi

echo "round trips: $roundtrips per run, $rounds rounds; $(nproc) CPUs, pinned to CPU ${pin:-none};" \
	"load average after each round:$loads"
python3 - "$tmp/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    ipc, mode, wall, cpu, tree = line.split()
    rows.setdefault((ipc, mode, "wall"), []).append(float(wall))
    rows.setdefault((ipc, mode, "cpu"), []).append(float(cpu))
    rows.setdefault((ipc, mode, "tree"), []).append(float(tree))
print("wall: a round trip; cpu: the two processes' CPU a round trip; tree: the CPU of the")
print("whole command (ipcrace's or strace's own included, start-up too) a round trip")
print(f"{'ipc':6} {'mode':10} {'time':5} {'min us':>9} {'median us':>10} {'min/min':>8} {'med/med':>8}")
for ipc in ("pipe", "unix"):
    for kind in ("wall", "cpu", "tree"):
        base = rows.get((ipc, "native", kind))
        if not base:
            continue
        for mode in ("native", "ipcrace", "base", "no-access", "ipc-stacks", "strace-f"):
            v = rows.get((ipc, mode, kind))
            if not v:
                continue
            print(f"{ipc:6} {mode:10} {kind:5} {min(v):9.2f} {statistics.median(v):10.2f} "
                  f"{min(v) / min(base):8.2f} "
                  f"{statistics.median(v) / statistics.median(base):8.2f}")
PY
