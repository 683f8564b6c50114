#!/usr/bin/env bash
# SIGKILL of ipcrace at the one instant the random sweep (run_kill_sweep.sh)
# almost never hits: while ipcrace continues a process it stopped, between
# taking the stop off the guardian's list and its SIGCONT. strace holds
# every kill(2) of ipcrace's main thread for 2 s at its entry (a process it
# stopped stays stopped meanwhile); once a process of the target has been
# stopped for 0.5 s, ipcrace is in that kill, and it is SIGKILLed there.
# The guardian must continue the process (it is still listed, as being
# continued): no process of the target may be stopped 3 s later, and the
# target must finish on its own. Attached (record -p) and started
# (check -- CMD).
# Usage: run_kill_window.sh IPCRACE_BIN FORK_SHM_LOOP_BIN
set -uo pipefail
ipcrace=$1
loop=$2
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL kill_window: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP kill_window: needs root"; exit 77
fi
if ! command -v strace >/dev/null; then
	if [ -n "${CI:-}" ]; then echo "FAIL kill_window: needs strace (scripts/install-deps.sh)"; exit 1; fi
	echo "SKIP kill_window: needs strace"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# the stopped processes of session $1, but $2 (ipcrace) and $3 (strace)
stopped_in() {
	ps -e -o pid=,sid=,stat= | awk -v s="$1" -v a="$2" -v b="$3" \
		'$2 == s && $1 != a && $1 != b && $3 ~ /^T/ { print $1 }'
}

# run_case NAME attach|run
run_case() {
	local name=$1 mode=$2 dir=$tmp/$1 strace_pid tracer sid target="" stopped="" left
	mkdir -p "$dir"
	if [ "$mode" = attach ]; then
		setsid "$loop" 8 "$dir/pid" "$dir/done" &
		target=$!
		sid=$target
		for _ in $(seq 50); do [ -s "$dir/pid" ] && break; sleep 0.02; done
		strace -qq -o "$dir/strace" -e trace=kill -e inject=kill:delay_enter=2000000 \
			"$ipcrace" record -o "$dir/trace" -p "$target" 2>"$dir/err" &
		strace_pid=$!
	else
		setsid strace -qq -o "$dir/strace" -e trace=kill -e inject=kill:delay_enter=2000000 \
			"$ipcrace" check -o "$dir/report" -- "$loop" 8 "$dir/pid" "$dir/done" \
			>/dev/null 2>"$dir/err" &
		strace_pid=$!
		sid=$strace_pid
	fi
	for _ in $(seq 50); do
		tracer=$(pgrep -P "$strace_pid" -x ipcrace)
		[ -n "$tracer" ] && break
		sleep 0.05
	done
	# a stop of 0.5 s: ipcrace is held in its kill(pid, SIGCONT)
	for _ in $(seq 200); do
		stopped=$(stopped_in "$sid" "$tracer" "$strace_pid" | head -1)
		if [ -n "$stopped" ]; then
			sleep 0.5
			stopped_in "$sid" "$tracer" "$strace_pid" | grep -qx "$stopped" && break
		fi
		stopped=""
		sleep 0.05
	done
	if [ -z "$stopped" ] || [ -z "$tracer" ]; then
		fail "$name" "no process held stopped by ipcrace (tracer ${tracer:-none}): $(tail -2 "$dir/err")"
		kill -KILL "$tracer" 2>/dev/null
		return
	fi
	kill -KILL "$tracer"
	sleep 3
	left=$(stopped_in "$sid" "$tracer" "$strace_pid" | tr '\n' ' ')
	if [ -n "$left" ]; then
		fail "${name}_nothing_left_stopped" "pid $stopped was stopped when ipcrace was killed in $(grep -m1 'kill(.*) *= ?' "$dir/strace" | cut -c1-30); still stopped: $left"
		ps -e -o pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }' | xargs -r kill -CONT
	else
		pass "${name}_nothing_left_stopped"
	fi
	if [ -n "$target" ]; then
		wait "$target"
		[ $? -eq 0 ] && grep -q '^done' "$dir/done" && pass "${name}_target_finishes" ||
			fail "${name}_target_finishes" "no done line"
	else
		for _ in $(seq 200); do grep -q '^done' "$dir/done" 2>/dev/null && break; sleep 0.1; done
		grep -q '^done' "$dir/done" 2>/dev/null && pass "${name}_target_finishes" ||
			fail "${name}_target_finishes" "no done line"
	fi
}

run_case record_attached attach
run_case check_started run
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
