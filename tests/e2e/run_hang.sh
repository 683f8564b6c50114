#!/usr/bin/env bash
# `ipcrace hang` end to end: every program in fixtures/hang really hangs;
# `ipcrace hang -p PID` must, within 2 s, report what its header declares
# (a deadlock, exit 66, or a wait chain, exit 0), naming every process of
# the hang, every object kind and every function with its file:line; the
# JSON report must be valid and agree; the hung threads must be untouched
# (same state, no extra context switch: nothing stopped or woke them).
# Usage: run_hang.sh IPCRACE_BIN HANG_FIXTURE_BIN_DIR HANG_FIXTURE_SRC_DIR
set -uo pipefail
ipcrace=$1
bindir=$2
srcdir=$3
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL hang: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP hang: needs root"; exit 77
fi
tmp=$(mktemp -d)
pids=""
semid=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	[ -n "$semid" ] && ipcrm -s "$semid" 2>/dev/null
	rm -f /tmp/ipcrace-hang-flock-*
}
trap 'cleanup; rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

header() { sed -n "s|^// ipcrace-hang-$2: ||p" "$srcdir/$1.c"; }

# voluntary+involuntary context switches and state of every thread of the pids
thread_marks() {
	for p in $pids; do
		for t in /proc/"$p"/task/*; do
			printf '%s %s %s\n' "$t" "$(awk '{print $3}' "$t/stat" 2>/dev/null)" \
				"$(grep -h ctxt_switches "$t/status" 2>/dev/null | awk '{s += $2} END {print s}')"
		done
	done
}

for src in "$srcdir"/*.c; do
	name=$(basename "$src" .c)
	expect=$(header "$name" expect)
	[ -x "$bindir/$name" ] || { fail "$name" "not built"; continue; }
	( "$bindir/$name" >"$tmp/$name.out" 2>&1 & )
	pids=""
	for _ in $(seq 50); do
		pids=$(sed -n 's/^hang-fixture: pids //p' "$tmp/$name.out")
		[ -n "$pids" ] && break
		sleep 0.1
	done
	semid=$(sed -n 's/^hang-fixture: semid //p' "$tmp/$name.out")
	if [ -z "$pids" ]; then
		fail "$name" "the fixture did not start: $(head -3 "$tmp/$name.out")"
		continue
	fi
	first=${pids%% *}
	want=0
	[ "$expect" = deadlock ] && want=66
	# the hang forms within microseconds of the pids line; 2 s is the budget
	start=$(date +%s%N)
	status=-1
	while :; do
		timeout 10 "$ipcrace" hang -p "$first" >"$tmp/$name.txt" 2>"$tmp/$name.err"
		status=$?
		[ "$status" -eq "$want" ] && { [ "$want" -ne 0 ] || grep -q "wait chain" "$tmp/$name.txt"; } && break
		[ $(( ($(date +%s%N) - start) / 1000000 )) -gt 2000 ] && break
		sleep 0.05
	done
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	before=$(thread_marks)
	timeout 10 "$ipcrace" hang -p "$first" --format json >"$tmp/$name.json" 2>>"$tmp/$name.err"
	jstatus=$?
	sleep 0.2
	after=$(thread_marks)
	problems=""
	[ "$status" -eq "$want" ] || problems+=" exit $status, expected $want;"
	[ "$ms" -le 2000 ] || problems+=" took ${ms} ms;"
	if [ "$expect" = deadlock ]; then
		grep -q "WARNING: ipcrace: deadlock" "$tmp/$name.txt" || problems+=" no deadlock reported;"
	else
		grep -q "wait chain" "$tmp/$name.txt" || problems+=" no wait chain reported;"
	fi
	for p in $pids; do
		grep -q "pid $p[,)]" "$tmp/$name.txt" || problems+=" process $p not named;"
	done
	for o in $(header "$name" objects); do
		grep -q -- "${o//./ }" "$tmp/$name.txt" || problems+=" object '$o' not named;"
	done
	for f in $(header "$name" functions); do
		grep -Eq "#[0-9]+ $f [^ ]*$name\.c:[0-9]+ " "$tmp/$name.txt" ||
			problems+=" no frame '$f $name.c:LINE';"
	done
	python3 - "$tmp/$name.json" "$expect" "$jstatus" $pids <<'PY' || problems+=" JSON report disagrees;"
import json, sys
d = json.load(open(sys.argv[1]))
expect, status, pids = sys.argv[2], int(sys.argv[3]), {int(p) for p in sys.argv[4:]}
if expect == "deadlock":
    ok = status == 66 and d["deadlocks"] and pids <= {t["pid"] for dl in d["deadlocks"] for t in dl["cycle"]}
else:
    ok = status == 0 and not d["deadlocks"] and d["chains"]
sys.exit(0 if ok else 1)
PY
	[ "$before" = "$after" ] || problems+=" threads changed state or were woken while examined;"
	for p in $pids; do
		[ -d "/proc/$p" ] || problems+=" process $p is gone;"
	done
	if [ -z "$problems" ]; then
		pass "$name (${ms} ms)"
	else
		fail "$name" "$problems $(head -2 "$tmp/$name.err")"
		sed 's/^/    | /' "$tmp/$name.txt" | head -40
	fi
	cleanup
	pids=""
	semid=""
done

# bad input: one line, the right exit status
"$ipcrace" hang >/dev/null 2>"$tmp/err"; s=$?
[ "$s" -eq 2 ] && [ "$(grep -c '^ipcrace: ' "$tmp/err")" -eq 1 ] && pass hang_without_target_is_usage ||
	fail hang_without_target_is_usage "exit $s: $(cat "$tmp/err")"
"$ipcrace" hang -p 1073741000 >/dev/null 2>"$tmp/err"; s=$?
[ "$s" -eq 1 ] && grep -q "no such process" "$tmp/err" && pass hang_missing_pid_fails ||
	fail hang_missing_pid_fails "exit $s: $(cat "$tmp/err")"
"$ipcrace" hang -p $$ --all >/dev/null 2>"$tmp/err"; s=$?
[ "$s" -eq 2 ] && pass hang_two_sources_is_usage || fail hang_two_sources_is_usage "exit $s"
# a process that is not hung: no deadlock, exit 0
sleep 30 & sleeper=$!
"$ipcrace" hang -p "$sleeper" >"$tmp/ok.txt" 2>"$tmp/err"; s=$?
kill "$sleeper"
[ "$s" -eq 0 ] && grep -q "0 deadlocks" "$tmp/ok.txt" && pass hang_idle_process_is_no_deadlock ||
	fail hang_idle_process_is_no_deadlock "exit $s: $(cat "$tmp/ok.txt" "$tmp/err")"

# A hung process traced by `ipcrace check` (return probes on
# pthread_mutex_lock: the blocked thread's return address is the [uprobes]
# trampoline): its stack still reaches the function that took the lock.
name=hang_wait_child
( timeout 30 "$ipcrace" check -- "$bindir/$name" >"$tmp/traced.out" 2>"$tmp/traced.err" & )
pids=""
for _ in $(seq 100); do
	pids=$(sed -n 's/^hang-fixture: pids //p' "$tmp/traced.out" 2>/dev/null)
	[ -n "$pids" ] && break
	sleep 0.1
done
if [ -z "$pids" ]; then
	fail hang_stacks_through_return_probes "the traced fixture did not start: $(head -3 "$tmp/traced.err")"
else
	s=-1
	for _ in $(seq 40); do
		"$ipcrace" hang -p "${pids%% *}" >"$tmp/traced.txt" 2>"$tmp/err"; s=$?
		[ "$s" -eq 66 ] && break
		sleep 0.05
	done
	problems=""
	[ "$s" -eq 66 ] || problems+=" exit $s;"
	grep -q '\[uprobes\]' /proc/"${pids##* }"/maps || problems+=" no return probe in the child;"
	for f in $(header "$name" functions); do
		grep -Eq "#[0-9]+ $f [^ ]*$name\.c:[0-9]+ " "$tmp/traced.txt" || problems+=" no frame '$f';"
	done
	[ -z "$problems" ] && pass hang_stacks_through_return_probes ||
		{ fail hang_stacks_through_return_probes "$problems $(head -2 "$tmp/err")"; sed 's/^/    | /' "$tmp/traced.txt" | head -30; }
	cleanup
	pids=""
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
