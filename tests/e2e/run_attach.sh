#!/usr/bin/env bash
# Attach mode end to end: start a running service, `ipcrace check -p PID
# --duration`, expect its lock-order inversion (exit 66) with both functions
# in the stacks, and the service still running afterwards, finishing with
# exit 0 (detaching left it untouched). Then -p with a pid that does not
# exist: one line, exit 1. --cgroup on a cgroup made by the test (the service
# moved into it): the inversion found; a missing cgroup: one line. --unit
# NAME on a unit's cgroup made by the test (SLICE/NAME.service, found without
# systemd): the inversion found; a unit that does not exist: one line, exit 1.
# A pre-fork server (fixtures/race_prefork_workers: the master maps shared
# memory and forks 3 workers) attached by the master's pid after the workers
# exist: all 4 processes traced, the workers' race found between two
# workers; its locked twin (clean_prefork_workers): no finding. -p of a
# tree with a zombie child ends by itself when the tree ends.
# Usage: run_attach.sh IPCRACE_BIN SERVICE_ABBA_BIN RACE_PREFORK_BIN CLEAN_PREFORK_BIN
set -uo pipefail
ipcrace=$1
service=$2
race_prefork=$3
clean_prefork=$4
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL attach: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP attach: needs root"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; kill "$svc" 2>/dev/null' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

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

# --unit: a unit's cgroup made here the way systemd lays it out
# (SLICE/NAME.service); without systemd to ask, ipcrace finds it by name
unit=ipcrace-e2e-$$
slice=$cg2/ipcrace-e2e-$$.slice
if [ -n "$cg2" ] && mkdir -p "$slice/$unit.service" 2>/dev/null; then
	"$service" 6 >"$tmp/svc4.out" &
	svc=$!
	echo "$svc" >"$slice/$unit.service/cgroup.procs"
	for _ in $(seq 50); do grep -q ready "$tmp/svc4.out" && break; sleep 0.1; done
	timeout 60 "$ipcrace" check --unit "$unit" --duration 1.5 --format json \
		-o "$tmp/r4.json" 2>"$tmp/err"
	status=$?
	if [ "$status" -eq 66 ] && grep -q "attached to" "$tmp/err" &&
	   grep -q lock-order-inversion "$tmp/r4.json"; then
		pass attach_unit_finds_inversion
	else
		fail attach_unit_finds_inversion "exit $status: $(tail -2 "$tmp/err")"
	fi
	wait "$svc"
	rmdir "$slice/$unit.service" "$slice"
else
	fail attach_unit_finds_inversion "cannot create $slice/$unit.service"
fi
timeout 30 "$ipcrace" record -o "$tmp/x" --unit "ipcrace-e2e-none-$$" 2>"$tmp/err2"
status=$?
if [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/err2")" -eq 1 ] && grep -q "no cgroup for it" "$tmp/err2" &&
   [ ! -e "$tmp/x" ]; then
	pass attach_missing_unit_is_one_line_exit_1
else
	fail attach_missing_unit_is_one_line_exit_1 "exit $status: $(cat "$tmp/err2")"
fi

# A pre-fork server attached after its workers exist: -p MASTER traces them
# all, and the race is between two workers (the master never writes the
# counter). Workers run 8 s, past the 2 s of tracing.
prefork() { # NAME BIN: starts BIN, attaches; sets status, leaves $tmp/NAME.{out,json,err}
	"$2" 8000 >"$tmp/$1.out" &
	svc=$!
	for _ in $(seq 50); do grep -q ready "$tmp/$1.out" && break; sleep 0.1; done
	timeout 60 "$ipcrace" check -p "$svc" --duration 2 --format json \
		-o "$tmp/$1.json" 2>"$tmp/$1.err"
	status=$?
	wait "$svc"
	svc_status=$?
}
prefork race "$race_prefork"
if [ "$status" -eq 66 ] && [ "$svc_status" -eq 0 ] && grep -q "attached to 4 processes" "$tmp/race.err" &&
   python3 - "$tmp/race.json" "$(head -1 "$tmp/race.out")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
workers = {int(p) for p in sys.argv[2].split()[1:]}
if len(workers) != 3 or d["stats"]["processes"] != 4:
    sys.exit("%d workers, %d processes traced" % (len(workers), d["stats"]["processes"]))
races = [f for f in d["findings"] if f["kind"] == "data-race"]
pairs = [{a["pid"] for a in f["accesses"]} for f in races]
ok = [p for p in pairs if len(p) == 2 and p <= workers]
funcs = {fr.get("function") for f in races for a in f["accesses"] for fr in a["stack"]}
sys.exit(0 if ok and "worker_count_request" in funcs else "races between %s" % pairs)
PY
then
	pass attach_prefork_master_finds_race_between_workers
else
	fail attach_prefork_master_finds_race_between_workers \
		"exit $status, master $svc_status: $(tail -2 "$tmp/race.err")"
fi
prefork clean "$clean_prefork"
if [ "$status" -eq 0 ] && [ "$svc_status" -eq 0 ] && grep -q "attached to 4 processes" "$tmp/clean.err" &&
   python3 - "$tmp/clean.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["stats"]["processes"] == 4 and not d["findings"] and d["stats"]["events"] else 1)
PY
then
	pass attach_prefork_locked_has_no_finding
else
	fail attach_prefork_locked_has_no_finding "exit $status, master $svc_status: $(tail -2 "$tmp/clean.err")"
fi

timeout 30 "$ipcrace" record -o "$tmp/x" -p 2147483 2>"$tmp/err2"
status=$?
if [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/err2")" -eq 1 ] && grep -q "no process" "$tmp/err2"; then
	pass attach_missing_pid_is_one_line_exit_1
else
	fail attach_missing_pid_is_one_line_exit_1 "exit $status: $(cat "$tmp/err2")"
fi

# -p without --duration ends when the attached tree has: also when the scan
# found a child that had already exited (a zombie, here: its parent reaps
# nothing until it exits), which BPF never sees exit once marked.
python3 -c 'import os, time
if os.fork() == 0:
    os._exit(0)
time.sleep(3)' &
zparent=$!
sleep 0.3
timeout -k 5 30 "$ipcrace" record --no-watch -o "$tmp/zombie.trace" -p "$zparent" 2>"$tmp/zombie.err"
status=$?
wait "$zparent" 2>/dev/null
if [ "$status" -eq 0 ]; then
	pass attach_ends_with_the_tree_after_a_zombie
else
	fail attach_ends_with_the_tree_after_a_zombie "exit $status (124: still recording 27 s after the tree ended): $(tail -2 "$tmp/zombie.err")"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
