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
# Usage: run_hang.sh IPCRACE_BIN HANG_FIXTURE_BIN_DIR HANG_FIXTURE_SRC_DIR [HANG_FIXTURE_O2_DIR]
set -uo pipefail
ipcrace=$1
bindir=$2
srcdir=$3
o2dir=${4:-}	# the fixtures built -O2 without frame pointers (optional)
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
load_pids=""	# what loads the machine during the -O2 pass
trap 'cleanup; for p in $load_pids; do kill -9 "$p" 2>/dev/null; done; remove_cgroups; rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

header() { sed -n "s|^// ipcrace-hang-$2: ||p" "$srcdir/$1.c"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Starts fixture $1 from directory $2 (default: bindir; its files in this
# run's own TMPDIR); sets pids (and semid) from its "hang-fixture:" lines,
# "" when it did not start.
start_fixture() {
	: >"$tmp/$1.out"
	( TMPDIR="$tmp" exec "${2:-$bindir}/$1" >"$tmp/$1.out" 2>&1 & )
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
# forms within microseconds of the pids line; 10 s at most) and, when
# $need is set, its text has that line too (two hangs at once: the exit
# says one formed, not both); sets status and ms (time to that report),
# one_ms (that run alone).
need=""
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
		[ "$status" -eq "$want" ] && { [ "$want" -ne 0 ] || grep -q "wait chain" "$tmp/$out.txt"; } &&
			{ [ -z "$need" ] || grep -q -- "$need" "$tmp/$out.txt"; } && break
		[ $(( $(now_ms) - start )) -gt 10000 ] && break
		sleep 0.05
	done
	ms=$(( $(now_ms) - start ))
}

# Marks of what examining must not change: per thread its state and its
# context switches (a stop, a ptrace attach, a signal or a wake-up all
# switch it), taken once the hang formed; per process its tracer and the
# anonymous pages in its executable mappings (a breakpoint or uprobe, left
# behind or not, writes its text), taken before any ipcrace looked at it.
thread_marks() {
	local st
	for p in $pids; do
		for t in /proc/"$p"/task/*; do
			st=$(awk '{print $3}' "$t/stat" 2>/dev/null)
			# a running thread (a spinning lock holder) switches by itself
			[ "$st" = R ] && { echo "$t R"; continue; }
			printf '%s %s %s\n' "$t" "$st" \
				"$(grep -h ctxt_switches "$t/status" 2>/dev/null | awk '{s += $2} END {print s}')"
		done
	done
}
process_marks() {
	for p in $pids; do
		printf '%s %s written text:%s\n' "$p" "$(grep TracerPid /proc/"$p"/status 2>/dev/null)" \
			"$(awk '/^[0-9a-f]+-[0-9a-f]+ ..x. /{x=1; m=$6; next} /^[0-9a-f]+-[0-9a-f]+ /{x=0}
				x && /^Anonymous:/ && $2 > 0 {printf " %s %s kB", m, $2}' /proc/"$p"/smaps 2>/dev/null)"
	done
}

# A report without the frames of threads sampled while they ran: two looks
# at a spinning thread catch it at different instructions (a frame inlined
# or not), the rest of the report must be the same.
steady_report() {
	awk '/stack sampled while it ran/ {print; skip=1; next}
	     skip && /^ +#[0-9]+ / {next}
	     {skip=0; print}' "$1"
}

# Looks at a fixture that is no hang (ipcrace-hang-expect: none) this often:
# a look that catches its threads in motion must never become a deadlock.
NONE_LOOKS=20

# Runs fixture $1 from directory $2 (its report says $3 in PASS lines) and
# checks the report against the fixture's header.
check_fixture() {
	local name=$1 dir=$2 label=$3 expect first want problems s n66 jstatus before after pristine
	expect=$(header "$name" expect)
	[ -x "$dir/$name" ] || { fail "$label" "not built"; return; }
	start_fixture "$name" "$dir"
	if [ -z "$pids" ]; then
		fail "$label" "the fixture did not start: $(head -3 "$tmp/$name.out")"
		return
	fi
	first=${pids%% *}
	problems=""
	if [ "$expect" = none ]; then
		n66=0
		for _ in $(seq "$NONE_LOOKS"); do
			timeout 10 "$ipcrace" hang -p "$first" >"$tmp/$name.txt" 2>"$tmp/$name.err"; s=$?
			[ "$s" -eq 0 ] || { n66=$((n66 + 1)); cp "$tmp/$name.txt" "$tmp/$name.bad.txt"; }
		done
		[ "$n66" -eq 0 ] || problems+=" $n66 of $NONE_LOOKS looks did not exit 0;"
		grep -q ", 0 deadlocks$" "$tmp/$name.txt" || problems+=" not '0 deadlocks';"
		timeout 10 "$ipcrace" hang -p "$first" --format json >"$tmp/$name.json" 2>>"$tmp/$name.err"
		python3 -c 'import json, sys; sys.exit(1 if json.load(open(sys.argv[1]))["deadlocks"] else 0)' \
			"$tmp/$name.json" || problems+=" JSON has deadlocks;"
		if [ -z "$problems" ]; then
			pass "$label ($NONE_LOOKS looks, no deadlock)"
		else
			fail "$label" "$problems $(head -2 "$tmp/$name.err")"
			sed 's/^/    | /' "$tmp/$name.bad.txt" 2>/dev/null | head -30
		fi
		cleanup
		pids=""
		semid=""
		return
	fi
	want=0
	[ "$expect" = deadlock ] && want=66
	pristine=$(process_marks)
	hang_until "$name" "$want" -p "$first"
	before=$(thread_marks)
	timeout 10 "$ipcrace" hang -p "$first" --format json >"$tmp/$name.json" 2>>"$tmp/$name.err"
	jstatus=$?
	# -o: the same report in the file, nothing on stdout
	timeout 10 "$ipcrace" hang -p "$first" -o "$tmp/$name.o.txt" >"$tmp/$name.o.stdout" 2>>"$tmp/$name.err"
	s=$?
	sleep 0.2
	after=$(thread_marks)
	[ "$status" -eq "$want" ] || problems+=" exit $status, expected $want;"
	[ "$s" -eq "$want" ] || problems+=" -o: exit $s;"
	[ -s "$tmp/$name.o.stdout" ] && problems+=" -o: the report also went to stdout;"
	cmp -s <(steady_report "$tmp/$name.txt") <(steady_report "$tmp/$name.o.txt") ||
		problems+=" -o: the file is not the report;"
	if [ "$expect" = deadlock ]; then
		grep -q "WARNING: ipcrace: deadlock" "$tmp/$name.txt" || problems+=" no deadlock reported;"
	else
		grep -q "wait chain" "$tmp/$name.txt" || problems+=" no wait chain reported;"
	fi
	for p in $pids; do
		grep -q "pid $p[,)]" "$tmp/$name.txt" || problems+=" process $p not named;"
		for t in /proc/"$p"/task/*; do
			grep -q "Thread T${t##*/} " "$tmp/$name.txt" || problems+=" thread ${t##*/} not named;"
		done
	done
	# objects are named on the wait lines, not in the stacks (a frame
	# "pthread_mutex_lock" says nothing about the mutex)
	grep -v -e '^ *#[0-9]' -e '^SUMMARY' "$tmp/$name.txt" >"$tmp/$name.waits"
	for o in $(header "$name" objects); do
		grep -Fq -- "${o//./ }" "$tmp/$name.waits" || problems+=" object '${o//./ }' not named;"
	done
	for f in $(header "$name" functions); do
		grep -Eq "#[0-9]+ $f [^ ]*$name\.c:[0-9]+ " "$tmp/$name.txt" ||
			problems+=" no frame '$f $name.c:LINE';"
	done
	python3 - "$tmp/$name.json" "$expect" "$jstatus" "$name" "$(header "$name" functions)" $pids <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
expect, status, name = sys.argv[2], int(sys.argv[3]), sys.argv[4]
functions, pids = set(sys.argv[5].split()), {int(p) for p in sys.argv[6:]}
threads = {t["tid"]: t for t in d["threads"]}
def why(msg):
    print("    JSON: " + msg)
    sys.exit(1)
if expect == "deadlock":
    if status != 66 or not d["deadlocks"]:
        why("exit %d, %d deadlocks" % (status, len(d["deadlocks"])))
    shown = [threads[t["tid"]] for dl in d["deadlocks"] for t in dl["cycle"] + dl["blocked"]]
    if not pids <= {t["pid"] for dl in d["deadlocks"] for t in dl["cycle"]}:
        why("not every process in a cycle")
    for dl in d["deadlocks"]:
        for t in dl["cycle"]:
            w = threads[t["tid"]].get("wait") or {}
            if not w.get("description") or not w.get("wakers_known") or not w.get("wakers"):
                why("thread %d of a cycle has no wait with its wakers" % t["tid"])
else:
    if status != 0 or d["deadlocks"] or not d["chains"]:
        why("exit %d, %d deadlocks, %d chains" % (status, len(d["deadlocks"]), len(d["chains"])))
    shown = [threads[t["tid"]] for c in d["chains"] for t in c["threads"]]
def own(t):
    return {f["function"] for f in t["stack"]
            if (f.get("file") or "").endswith("/" + name + ".c") and f.get("line")}
seen = set()
for t in shown:
    if not own(t):
        why("thread %d is shown without a frame of %s.c with its line" % (t["tid"], name))
    seen |= own(t)
# every thread of the fixture's processes takes part: in the cycle, blocked by it, or in a chain
for p in pids:
    import os
    for tid in os.listdir("/proc/%d/task" % p):
        if int(tid) not in {t["tid"] for t in shown}:
            why("thread %s of pid %d is not in the report's cycle, blocked list or chain" % (tid, p))
if not functions <= seen:
    why("frames missing: %s" % sorted(functions - seen))
PY
		problems+=" JSON report disagrees;"
	[ "$before" = "$after" ] || problems+=" threads changed state or were woken while examined;"
	[ "$pristine" = "$(process_marks)" ] || problems+=" processes traced or their code written;"
	for p in $pids; do
		[ -d "/proc/$p" ] || problems+=" process $p is gone;"
	done
	if [ -z "$problems" ]; then
		pass "$label (report after ${ms} ms, one run ${one_ms} ms)"
	else
		fail "$label" "$problems $(head -2 "$tmp/$name.err")"
		diff <(printf "%s\n%s\n" "$pristine" "$before") <(printf "%s\n%s\n" "$(process_marks)" "$after") | sed 's/^/    marks: /' | head -10
		sed 's/^/    | /' "$tmp/$name.txt" | head -40
	fi
	cleanup
	pids=""
	semid=""
}

# Every fixture, as built with frame pointers; never traced before (started
# here, attached to only by `ipcrace hang`)
for src in "$srcdir"/*.c; do
	check_fixture "$(basename "$src" .c)" "$bindir" "$(basename "$src" .c)"
done

# The same programs built -O2 without frame pointers, under load: a program
# whose threads pass a token and take a mutex as fast as they can, and a
# busy loop, take both CPUs while they are examined
if [ -n "$o2dir" ]; then
	start_fixture busy_token_ring "$bindir"
	load_pids=$pids
	( while :; do :; done ) & load_pids+=" $!"
	pids=""
	for src in "$srcdir"/*.c; do
		check_fixture "$(basename "$src" .c)" "$o2dir" "$(basename "$src" .c) -O2, under load"
	done
	for p in $load_pids; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	load_pids=""
fi

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
need="wait chain" hang_until multi 66 -p "$a,$b"
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
