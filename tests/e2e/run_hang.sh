#!/usr/bin/env bash
# `ipcrace hang` end to end: every program in fixtures/hang really hangs;
# `ipcrace hang -p PID` must report what its header declares (a deadlock,
# exit 66, or a wait chain, exit 0), naming every process of the hang,
# every object kind and every function with its file:line; the JSON report
# must be valid and agree; the hung threads must be untouched (same state,
# no extra context switch: nothing stopped or woke them). The time to the
# first right report and of one run are printed (the goal is 2 s; a
# shared machine's wall time is no assertion). Then the other ways to name
# processes (-p A,B, --cgroup, --unit, --all), a zombie (not blocked), and
# the fixtures' files: each run keeps them in its own TMPDIR, removed at
# the end, and touches no other run's.
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
all_pids=""	# every fixture process this run started
cgroups=""	# cgroups this run made
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	[ -n "$semid" ] && ipcrm -s "$semid" 2>/dev/null
}
remove_cgroups() {
	for cg in $cgroups; do
		for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		for _ in $(seq 50); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
	done
}
trap 'cleanup; remove_cgroups; rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

header() { sed -n "s|^// ipcrace-hang-$2: ||p" "$srcdir/$1.c"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Starts fixture $1 (its files in this run's own TMPDIR); sets pids (and
# semid) from its "hang-fixture:" lines, "" when it did not start.
start_fixture() {
	( TMPDIR="$tmp" exec "$bindir/$1" >"$tmp/$1.out" 2>&1 & )
	pids=""
	for _ in $(seq 50); do
		pids=$(sed -n 's/^hang-fixture: pids //p' "$tmp/$1.out")
		[ -n "$pids" ] && break
		sleep 0.1
	done
	semid=$(sed -n 's/^hang-fixture: semid //p' "$tmp/$1.out")
	all_pids+=" $pids"
}

# Runs `ipcrace hang ARGS` into $tmp/$1.txt until it exits $2 (the hang
# forms within microseconds of the pids line; 10 s at most); sets status
# and ms (time to that report), one_ms (that run alone).
hang_until() {
	local out=$1 want=$2 start t0
	shift 2
	start=$(now_ms)
	status=-1
	while :; do
		t0=$(now_ms)
		timeout 10 "$ipcrace" hang "$@" >"$tmp/$out.txt" 2>"$tmp/$out.err"
		status=$?
		one_ms=$(( $(now_ms) - t0 ))
		[ "$status" -eq "$want" ] && { [ "$want" -ne 0 ] || grep -q "wait chain" "$tmp/$out.txt"; } && break
		[ $(( $(now_ms) - start )) -gt 10000 ] && break
		sleep 0.05
	done
	ms=$(( $(now_ms) - start ))
}

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
	start_fixture "$name"
	if [ -z "$pids" ]; then
		fail "$name" "the fixture did not start: $(head -3 "$tmp/$name.out")"
		continue
	fi
	first=${pids%% *}
	want=0
	[ "$expect" = deadlock ] && want=66
	hang_until "$name" "$want" -p "$first"
	before=$(thread_marks)
	timeout 10 "$ipcrace" hang -p "$first" --format json >"$tmp/$name.json" 2>>"$tmp/$name.err"
	jstatus=$?
	sleep 0.2
	after=$(thread_marks)
	problems=""
	[ "$status" -eq "$want" ] || problems+=" exit $status, expected $want;"
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
		pass "$name (report after ${ms} ms, one run ${one_ms} ms)"
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

# -p A,B: two unrelated hangs at once, a deadlock and a wait chain
start_fixture hang_abba_threads
a=${pids%% *}
pids_a=$pids
start_fixture hang_sleeping_holder
b=${pids%% *}
pids="$pids_a $pids"
hang_until multi 66 -p "$a,$b"
timeout 10 "$ipcrace" hang -p "$a,$b" --format json >"$tmp/multi.json" 2>>"$tmp/multi.err"
problems=""
[ "$status" -eq 66 ] || problems+=" exit $status;"
grep -q "pid $a[,)]" "$tmp/multi.txt" || problems+=" pid $a not named;"
grep -q "pid $b[,)]" "$tmp/multi.txt" || problems+=" pid $b not named;"
grep -q "wait chain" "$tmp/multi.txt" || problems+=" no wait chain for $b;"
python3 - "$tmp/multi.json" "$a" "$b" <<'PY' || problems+=" JSON: not one deadlock in $a and one chain in $b;"
import json, sys
d = json.load(open(sys.argv[1]))
a, b = int(sys.argv[2]), int(sys.argv[3])
dl = {t["pid"] for x in d["deadlocks"] for t in x["cycle"]}
ch = {t["pid"] for x in d["chains"] for t in x["threads"]}
sys.exit(0 if dl == {a} and b in ch else 1)
PY
[ -z "$problems" ] && pass "hang_multi_pid (report after ${ms} ms, one run ${one_ms} ms)" ||
	{ fail hang_multi_pid "$problems $(head -2 "$tmp/multi.err")"; sed 's/^/    | /' "$tmp/multi.txt" | head -30; }
cleanup

# --all: every process on the host; the deadlock is found among them
start_fixture hang_abba_threads
hang_until all 66 --all
problems=""
[ "$status" -eq 66 ] || problems+=" exit $status;"
grep -q "pid ${pids%% *}[,)]" "$tmp/all.txt" || problems+=" pid ${pids%% *} not named;"
[ -z "$problems" ] && pass "hang_all ($(tail -1 "$tmp/all.txt" | sed 's/^ipcrace: //'); report after ${ms} ms, one run ${one_ms} ms)" ||
	{ fail hang_all "$problems $(head -2 "$tmp/all.err")"; tail -5 "$tmp/all.txt"; }
cleanup

# --cgroup and --unit: a cgroup made here (the unit's: a directory NAME.service,
# which is where a unit's cgroup is found when no systemd knows it); a hang
# moved into it is found, another hang outside it is not looked at
cg2=$(awk '{ for (i = 1; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2" && $4 == "/") print $5; break } }' /proc/self/mountinfo | head -1)
for form in cgroup unit; do
	name=ipcrace-hang-e2e-$$-$form
	dir=$cg2/$name
	[ "$form" = unit ] && dir=$cg2/$name.service
	if [ -z "$cg2" ] || ! mkdir "$dir" 2>/dev/null; then
		fail "hang_$form" "cannot create a cgroup under '${cg2:-no cgroup2 mount}'"
		continue
	fi
	cgroups+=" $dir"
	start_fixture hang_abba_threads
	outside=${pids%% *}
	pids_outside=$pids
	start_fixture hang_lock_pipe
	for p in $pids; do echo "$p" >"$dir/cgroup.procs"; done
	inside=$pids
	pids="$pids_outside $pids"
	hang_until "$form" 66 "--$form" "$name"
	problems=""
	[ "$status" -eq 66 ] || problems+=" exit $status;"
	for p in $inside; do grep -q "pid $p[,)]" "$tmp/$form.txt" || problems+=" pid $p not named;"; done
	grep -q "pid $outside[,)]" "$tmp/$form.txt" && problems+=" pid $outside (outside the cgroup) named;"
	[ -z "$problems" ] && pass "hang_$form (report after ${ms} ms, one run ${one_ms} ms)" ||
		{ fail "hang_$form" "$problems $(head -2 "$tmp/$form.err")"; sed 's/^/    | /' "$tmp/$form.txt" | head -20; }
	cleanup
done
"$ipcrace" hang --cgroup "ipcrace-hang-e2e-$$-none" >/dev/null 2>"$tmp/err"; s=$?
[ "$s" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && pass hang_missing_cgroup_is_one_line ||
	fail hang_missing_cgroup_is_one_line "exit $s: $(cat "$tmp/err")"

# A zombie waits on nobody: a parent that never reaps its exited child has
# no blocked thread, and the child is shown as a zombie
sh -c 'sleep 0 & exec sleep 30' & parent=$!
zombie=""
for _ in $(seq 50); do
	zombie=$(awk -v p="$parent" '$4 == p && $3 == "Z" { print $1 }' /proc/[0-9]*/stat 2>/dev/null | head -1)
	[ -n "$zombie" ] && break
	sleep 0.1
done
"$ipcrace" hang -p "$parent" >"$tmp/zombie.txt" 2>"$tmp/err"; s=$?
"$ipcrace" hang -p "$parent" --format json >"$tmp/zombie.json" 2>>"$tmp/err"
kill "$parent"
problems=""
[ -n "$zombie" ] || problems+=" no zombie child appeared;"
[ "$s" -eq 0 ] || problems+=" exit $s;"
grep -q ": 0 blocked, 0 deadlocks" "$tmp/zombie.txt" || problems+=" $(tail -1 "$tmp/zombie.txt");"
python3 - "$tmp/zombie.json" "${zombie:-0}" <<'PY' || problems+=" JSON: the child is not a zombie;"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if any(t["tid"] == int(sys.argv[2]) and t["state"] == "zombie" for t in d["threads"]) else 1)
PY
[ -z "$problems" ] && pass hang_zombie_is_not_blocked ||
	fail hang_zombie_is_not_blocked "$problems $(cat "$tmp/err")"

# the fixtures' files went to this run's own directory, nowhere else
left=""
for p in $all_pids; do left+=$(ls -d /tmp/ipcrace-hang-*-"$p" 2>/dev/null); done
ls "$tmp"/ipcrace-hang-flock-a-* >/dev/null 2>&1 || left+=" (none in $tmp)"
[ -z "$left" ] && pass hang_fixture_files_in_own_tmpdir || fail hang_fixture_files_in_own_tmpdir "$left"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
