#!/usr/bin/env bash
# SIGKILL sweep: ipcrace is killed at a random instant of a run (record and
# check, starting the target or attached to it) while it traces a program
# that forks and maps shared memory, so that ipcrace stops it often (arming
# at fork, shared mmap and exec). Afterwards no process of the target may be
# left stopped (state T) and the target must finish on its own (its own
# "done" line, exit 0 when attached). The guardian (tracer/guardian.c) is
# what continues them.
# Usage: run_kill_sweep.sh IPCRACE_BIN FORK_SHM_LOOP_BIN [KILLS]
#   SEED=N picks the instants (default: the clock; printed).
set -uo pipefail
ipcrace=$1
loop=$2
kills=${3:-${KILLS:-50}}
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL kill_sweep: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP kill_sweep: needs root"; exit 77
fi
seed=${SEED:-$(date +%s)}
RANDOM=$seed
echo "kill_sweep: $kills kills, SEED=$seed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
modes=(record-run check-run record-attach check-attach)
failed=0 stopped_left=0 unfinished=0 before_start=0
RUN_SECONDS=1.5

# processes of session $1 as "pid stat" lines, but the killed ipcrace $2
# (its exit can take the kernel a minute: not the target's business)
session_procs() {
	ps -e -o pid=,sid=,stat= | awk -v s="$1" -v t="${2:-0}" '$2 == s && $1 != t { print $1, $3 }'
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# waits (20 s at most) until session $1 is empty (but ipcrace); fails on a process
# stopped for more than 3 s in a row (measured by the clock: ps is slow
# on a loaded machine)
settle_session() {
	local sid=$1 procs start stopped_since=0 t
	start=$(now_ms)
	while :; do
		procs=$(session_procs "$sid" "$tracer")
		[ -z "$procs" ] && return 0
		t=$(now_ms)
		if echo "$procs" | awk '$2 ~ /^T/ { found = 1 } END { exit !found }'; then
			[ "$stopped_since" -eq 0 ] && stopped_since=$t
			if [ $((t - stopped_since)) -ge 3000 ]; then
				echo "  left stopped: $(echo "$procs" | tr '\n' ' ')"
				if [ -n "${SWEEP_DEBUG:-}" ]; then
					ps -e -o pid,ppid,stat,etimes,wchan:25,comm | grep -E "ipcrace|fork_shm"
					for p in $(echo "$procs" | awk '$2 ~ /^T/ { print $1 }'); do
						grep -E "State|SigPnd|ShdPnd|SigBlk|SigIgn" /proc/$p/status
					done
				fi
				stopped_left=$((stopped_left + 1))
				kill -CONT $(echo "$procs" | awk '{ print $1 }') 2>/dev/null
				return 1
			fi
		else
			stopped_since=0
		fi
		if [ $((t - start)) -ge 20000 ]; then
			echo "  never finished: $(echo "$procs" | tr '\n' ' ')"
			unfinished=$((unfinished + 1))
			return 1
		fi
		sleep 0.1
	done
}

for k in $(seq "$kills"); do
	mode=${modes[$(((k - 1) % 4))]}
	sub=${mode%-*}
	dir=$tmp/$k
	mkdir -p "$dir"
	delay=$(printf "%d.%02d" $((RANDOM % 2)) $((20 + RANDOM % 80)))
	opts=(-o "$dir/out")
	[ "$sub" = check ] && opts=(-o "$dir/report" -t "$dir/trace")
	ok=1
	if [ "${mode#*-}" = run ]; then
		setsid "$ipcrace" "$sub" "${opts[@]}" -- "$loop" "$RUN_SECONDS" "$dir/pid" "$dir/done" \
			>/dev/null 2>"$dir/err" &
		tracer=$!
		sid=$tracer
	else
		setsid "$loop" "$RUN_SECONDS" "$dir/pid" "$dir/done" &
		target=$!
		sid=$target
		for _ in $(seq 50); do [ -s "$dir/pid" ] && break; sleep 0.02; done
		"$ipcrace" "$sub" "${opts[@]}" -p "$target" >/dev/null 2>"$dir/err" &
		tracer=$!
	fi
	sleep "$delay"
	kill -KILL "$tracer" 2>/dev/null
	# not waited for: a killed ipcrace may take the kernel a minute to
	# finish (its uprobe links' release); the target must not
	settle_session "$sid" || ok=0
	if [ "${mode#*-}" = attach ]; then
		wait "$target"
		status=$?
		if [ "$status" -ne 0 ] || ! grep -q '^done' "$dir/done" 2>/dev/null; then
			echo "  attached target did not finish normally: exit $status"
			ok=0
		fi
	elif [ -s "$dir/pid" ]; then
		if ! grep -q '^done' "$dir/done" 2>/dev/null; then
			echo "  target did not finish normally (no done line)"
			ok=0
		fi
	else
		# killed before the target was released: it exits without running
		before_start=$((before_start + 1))
	fi
	if [ "$ok" -eq 1 ]; then
		echo "ok   $k $mode killed after ${delay}s"
	else
		echo "FAIL $k $mode killed after ${delay}s: $(tail -2 "$dir/err" | tr '\n' ' ')"
		failed=$((failed + 1))
	fi
	rm -rf "$dir"
done
echo "kill_sweep: $kills kills, $stopped_left left a process stopped, $unfinished left" \
     "processes unfinished, $before_start before the target started, $failed failed"
[ "$failed" -eq 0 ]
