#!/usr/bin/env bash
# Attach mode end to end: start a running service, `ipcrace check -p PID
# --duration`, expect its lock-order inversion (exit 66) with both functions
# in the stacks, and the service still running afterwards, finishing with
# exit 0 (detaching left it untouched). Then -p with a pid that does not
# exist: one line, exit 1. --cgroup on a cgroup made by the test (the service
# moved into it): the inversion found; a missing cgroup: one line.
# Workers forked before the attach: -p MASTER of a pre-forking service finds
# the race between two of its workers (both pids, both stacks), and its
# locked twin gives no finding though both workers' writes were recorded.
# A cgroup watched while still empty: a service moved into it and workers
# forked inside it after the attach are traced, their findings reported.
# Usage: run_attach.sh IPCRACE_BIN SERVICE_ABBA_BIN SERVICE_WORKERS_BIN
set -uo pipefail
ipcrace=$1
service=$2
workers=$3
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL attach: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP attach: needs root"; exit 77
fi
tmp=$(mktemp -d)
svc=
cgroups=()
cleanup() {
	[ -n "$svc" ] && kill "$svc" 2>/dev/null
	wait
	for c in "${cgroups[@]}"; do rmdir "$c" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

: >"$tmp/svc.out"
"$service" 6 >"$tmp/svc.out" &
svc=$!
for _ in $(seq 50); do grep -q ready "$tmp/svc.out" && break; sleep 0.1; done

timeout 60 "$ipcrace" check -p "$svc" --duration 1.5 --format json -o "$tmp/r.json" 2>"$tmp/err"
status=$?
if [ "$status" -ne 66 ]; then
	fail attach_finds_inversion "exit $status, expected 66: $(tail -3 "$tmp/err")"
elif ! python3 - "$tmp/r.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
inv = [f for f in d["findings"] if f["kind"] == "lock-order-inversion"]
funcs = {fr.get("function") for f in inv for e in f["cycle"] for fr in e["stack"]}
sys.exit(0 if inv and {"post_transfer", "audit_journal"} <= funcs else 1)
PY
then
	fail attach_finds_inversion "no inversion naming post_transfer and audit_journal"
else
	pass attach_finds_inversion
fi

if kill -0 "$svc" 2>/dev/null; then
	pass attach_leaves_target_running
else
	fail attach_leaves_target_running "the service is gone after detach"
fi
wait "$svc"
svc_status=$?
if [ "$svc_status" -eq 0 ] && grep -q '^done' "$tmp/svc.out"; then
	pass detached_target_finishes_normally
else
	fail detached_target_finishes_normally "service exit $svc_status"
fi

# a child started after attaching is followed and probed for itself
: >"$tmp/svc2.out"
"$service" 4 fork >"$tmp/svc2.out" &
svc=$!
for _ in $(seq 50); do grep -q ready "$tmp/svc2.out" && break; sleep 0.1; done
timeout 60 "$ipcrace" check -p "$svc" --duration 2 --format json -o "$tmp/r2.json" 2>"$tmp/err"
status=$?
if [ "$status" -eq 66 ] && python3 - "$tmp/r2.json" "$svc" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pids = {e["pid"] for f in d["findings"] if f["kind"] == "lock-order-inversion" for e in f["cycle"]}
sys.exit(0 if pids and int(sys.argv[2]) not in pids else 1)
PY
then
	pass attach_follows_new_children
else
	fail attach_follows_new_children "exit $status: $(tail -2 "$tmp/err")"
fi
wait "$svc"

# --cgroup on a cgroup made here: the service is moved into it, then found
# (the cgroup2 mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host)
cg2=$(awk '{ for (i = 1; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2" && $4 == "/") print $5; break } }' /proc/self/mountinfo | head -1)
cg=$cg2/ipcrace-e2e-$$
if [ -n "$cg2" ] && mkdir "$cg" 2>/dev/null; then
	cgroups+=("$cg")
	: >"$tmp/svc3.out"
	"$service" 6 >"$tmp/svc3.out" &
	svc=$!
	echo "$svc" >"$cg/cgroup.procs"
	for _ in $(seq 50); do grep -q ready "$tmp/svc3.out" && break; sleep 0.1; done
	timeout 60 "$ipcrace" check --cgroup "ipcrace-e2e-$$" --duration 1.5 --format json \
		-o "$tmp/r3.json" 2>"$tmp/err"
	status=$?
	if [ "$status" -eq 66 ] && grep -q "attached to" "$tmp/err" &&
	   grep -q lock-order-inversion "$tmp/r3.json"; then
		pass attach_cgroup_finds_inversion
	else
		fail attach_cgroup_finds_inversion "exit $status: $(tail -2 "$tmp/err")"
	fi
	wait "$svc"
	rmdir "$cg"
	timeout 30 "$ipcrace" record -o "$tmp/x" --cgroup "ipcrace-e2e-$$" 2>"$tmp/err2"
	status=$?
	if [ "$status" -ne 0 ] && [ "$(wc -l <"$tmp/err2")" -eq 1 ] && grep -q "no such cgroup" "$tmp/err2"; then
		pass attach_missing_cgroup_is_one_line
	else
		fail attach_missing_cgroup_is_one_line "exit $status: $(cat "$tmp/err2")"
	fi
else
	fail attach_cgroup_finds_inversion "cannot create $cg"
fi

timeout 30 "$ipcrace" record -o "$tmp/x" -p 2147483 2>"$tmp/err2"
status=$?
if [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/err2")" -eq 1 ] && grep -q "no process" "$tmp/err2"; then
	pass attach_missing_pid_is_one_line_exit_1
else
	fail attach_missing_pid_is_one_line_exit_1 "exit $status: $(cat "$tmp/err2")"
fi

# Workers that exist before the attach: the master prints "ready W1 W2" only
# after forking both, so -p MASTER must find them in /proc, not by a fork.
# $1 race|locked; sets worker1, worker2, status; the trace in $tmp/$1.trace.
attach_prefork() {
	local mode=$1
	: >"$tmp/$mode.out"
	"$workers" 5 "$mode" >"$tmp/$mode.out" &
	svc=$!
	for _ in $(seq 50); do grep -q ready "$tmp/$mode.out" && break; sleep 0.1; done
	read -r _ worker1 worker2 <"$tmp/$mode.out"
	timeout 60 "$ipcrace" check -p "$svc" --duration 2.5 --format json -t "$tmp/$mode.trace" \
		-o "$tmp/$mode.json" 2>"$tmp/$mode.err"
	status=$?
	wait "$svc"
	svc_status=$?
	svc=
}

attach_prefork race
if [ "$status" -ne 66 ]; then
	fail attach_prefork_workers_race "exit $status, expected 66: $(tail -2 "$tmp/race.err")"
elif ! python3 - "$tmp/race.json" "$worker1" "$worker2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = {int(sys.argv[2]), int(sys.argv[3])}
for f in d["findings"]:
    if f["kind"] != "data-race" or {a["pid"] for a in f["accesses"]} != want:
        continue
    stacks = [[fr.get("function") for fr in a["stack"]] for a in f["accesses"]]
    if all("count_request" in s and "worker_serve" in s for s in stacks):
        sys.exit(0)
sys.exit(1)
PY
then
	fail attach_prefork_workers_race "no data race between workers $worker1 and $worker2 with count_request and worker_serve in both stacks"
else
	pass attach_prefork_workers_race
fi
if [ "$svc_status" -eq 0 ] && grep -q '^done' "$tmp/race.out"; then
	pass attach_prefork_service_finishes
else
	fail attach_prefork_service_finishes "service exit $svc_status"
fi

# the twin with the counter under a process-shared mutex: no finding, though
# both workers' writes of the counter are in the trace (the race check ran)
attach_prefork locked
hits1=$("$ipcrace" dump "$tmp/locked.trace" | grep -c " $worker1/$worker1 .* mem-access \[write\]")
hits2=$("$ipcrace" dump "$tmp/locked.trace" | grep -c " $worker2/$worker2 .* mem-access \[write\]")
if [ "$status" -ne 0 ]; then
	fail attach_prefork_locked_clean "exit $status, expected 0: $(tail -2 "$tmp/locked.err")"
elif [ "$hits1" -eq 0 ] || [ "$hits2" -eq 0 ]; then
	fail attach_prefork_locked_clean "recorded writes: worker $worker1 $hits1, worker $worker2 $hits2 (both must be seen)"
elif [ "$svc_status" -ne 0 ]; then
	fail attach_prefork_locked_clean "service exit $svc_status"
else
	pass attach_prefork_locked_clean
fi

# A cgroup watched from its creation, still empty at the attach: a running
# service moved into it afterwards (cgroup_attach_task), and a shell that
# moves itself in and execs the pre-forking service (workers forked inside
# the cgroup) are both traced, and both their findings reported.
cg=$cg2/ipcrace-e2e-join-$$
if [ -n "$cg2" ] && mkdir "$cg" 2>/dev/null; then
	cgroups+=("$cg")
	: >"$tmp/join.err"
	timeout 60 "$ipcrace" check --cgroup "$cg" --duration 5 --format json \
		-o "$tmp/join.json" 2>"$tmp/join.err" &
	checker=$!
	for _ in $(seq 100); do grep -q "attached to" "$tmp/join.err" && break; sleep 0.1; done
	"$service" 3 >"$tmp/join_abba.out" &
	abba=$!
	echo "$abba" >"$cg/cgroup.procs"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 3 race' sh "$cg" "$workers" \
		>"$tmp/join_workers.out" &
	inside=$!
	wait "$checker"
	status=$?
	wait "$abba" "$inside"
	read -r _ worker1 worker2 <"$tmp/join_workers.out"
	if ! grep -q "attached to 0 processes" "$tmp/join.err"; then
		fail attach_cgroup_join "the cgroup was not empty at the attach: $(head -1 "$tmp/join.err")"
	elif [ "$status" -ne 66 ]; then
		fail attach_cgroup_join "exit $status, expected 66: $(tail -2 "$tmp/join.err")"
	else
		python3 - "$tmp/join.json" "$abba" "$worker1" "$worker2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
abba, workers = int(sys.argv[2]), {int(sys.argv[3]), int(sys.argv[4])}
inv = [f for f in d["findings"] if f["kind"] == "lock-order-inversion"
       and {e["pid"] for e in f["cycle"]} == {abba}]
race = [f for f in d["findings"] if f["kind"] == "data-race"
        and {a["pid"] for a in f["accesses"]} == workers]
print("moved" if inv else "", "forked" if race else "")
PY
	fi >"$tmp/join.found"
	if [ "$status" -eq 66 ] && grep -q moved "$tmp/join.found"; then
		pass attach_cgroup_moved_in_after_attach
	else
		fail attach_cgroup_moved_in_after_attach "no inversion of pid $abba (exit $status): $(tail -2 "$tmp/join.err")"
	fi
	if [ "$status" -eq 66 ] && grep -q forked "$tmp/join.found"; then
		pass attach_cgroup_forked_inside_after_attach
	else
		fail attach_cgroup_forked_inside_after_attach "no race between workers $worker1 and $worker2 (exit $status)"
	fi
else
	fail attach_cgroup_join "cannot create $cg"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
