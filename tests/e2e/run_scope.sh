#!/usr/bin/env bash
# Nobody else pays for a check: while `ipcrace check -- CMD` runs, a process
# outside the traced tree must not trap on the lock probes, and valgrind
# started outside the tree must work (it dies with SIGTRAP on breakpoints in
# a libc it runs). Counted, not timed: BPF run counts (BPF_ENABLE_STATS) of
# the lock programs this ipcrace holds, before and after a neighbour's lock
# loop, then after the same loop inside the tree (which must count). The
# same with IPCRACE_NO_SCOPE=1 (host-wide probes) shows the count sees a
# neighbour that traps, so the first assertion can fail.
# Also: the report of a scoped run names the real libc and executable.
# Usage: run_scope.sh IPCRACE_BIN LOCK_OPS_BIN FIXTURES_BIN_DIR
set -uo pipefail
ipcrace=$1
lock_ops=$2
fixtures=$3
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL scope: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP scope: needs root"; exit 77
fi
tmp=$(mktemp -d)
stats_pid=
tracer=
# a failed step must not leave the target blocked on its FIFOs
release() {
	local f
	for f in "$tmp/go" "$tmp/done"; do
		[ -p "$f" ] && timeout 1 sh -c "echo >'$f'" 2>/dev/null
	done
}
trap 'release; [ -n "$tracer" ] && wait "$tracer" 2>/dev/null
      [ -n "$stats_pid" ] && kill "$stats_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
pairs=20000

# BPF run counts are kept only while some process holds a BPF_ENABLE_STATS fd
python3 -c '
import ctypes, sys, time
attr = (ctypes.c_uint32 * 4)()   # BPF_STATS_RUN_TIME
fd = ctypes.CDLL(None, use_errno=True).syscall(321, 32, ctypes.byref(attr), 4)
if fd < 0:
    sys.exit("cannot enable BPF stats: errno %d" % ctypes.get_errno())
print("on", flush=True)
time.sleep(600)
' >"$tmp/stats" &
stats_pid=$!
for _ in $(seq 50); do grep -q on "$tmp/stats" && break; sleep 0.1; done

# Runs of the lock entry program (lock_call) the process PID holds.
lock_runs() {
	python3 - "$1" <<'PY'
import glob, json, subprocess, sys
ids = set()
for f in glob.glob("/proc/%s/fdinfo/*" % sys.argv[1]):
    try:
        for line in open(f):
            if line.startswith("prog_id:"):
                ids.add(int(line.split()[1]))
    except OSError:
        pass
progs = json.loads(subprocess.check_output(["bpftool", "prog", "show", "-j"]))
print(sum(p.get("run_cnt", 0) for p in progs
          if p["id"] in ids and p.get("name") == "lock_call"))
PY
}

# One check whose target waits for go, runs the lock loop, waits for done
# (blocked on FIFOs: the waiting tree runs nothing meanwhile).
# $1: label, then the environment to run ipcrace with.
scoped_run() {
	local label=$1; shift
	rm -f "$tmp/started" "$tmp/go" "$tmp/ran" "$tmp/done"
	mkfifo "$tmp/go" "$tmp/done"
	env "$@" "$ipcrace" check -v -- sh -c "touch '$tmp/started'; read _ <'$tmp/go'
		'$lock_ops' $pairs >/dev/null; touch '$tmp/ran'; read _ <'$tmp/done'" \
		2>"$tmp/$label.err" &
	tracer=$!
	for _ in $(seq 300); do [ -e "$tmp/started" ] && break; sleep 0.05; done
	if [ ! -e "$tmp/started" ]; then
		fail "$label" "the target did not start: $(tail -2 "$tmp/$label.err")"
		release; wait "$tracer"; tracer=; return 1
	fi
	foreign_before=$(foreign_uprobes "$tracer")
	before=$(lock_runs "$tracer")
	"$lock_ops" $pairs >/dev/null
	after_neighbour=$(lock_runs "$tracer")
	valgrind_status=$({ valgrind --tool=none /bin/true >/dev/null 2>"$tmp/$label.valgrind"
			    echo $?; } 2>/dev/null)
	foreign_after=$(foreign_uprobes "$tracer")
	echo >"$tmp/go"
	for _ in $(seq 600); do [ -e "$tmp/ran" ] && break; sleep 0.05; done
	after_tree=$(lock_runs "$tracer")
	echo >"$tmp/done"
	wait "$tracer"
	tracer_status=$?
	tracer=
	neighbour=$((after_neighbour - before))
	tree=$((after_tree - after_neighbour))
	echo "  $label: lock probe runs: neighbour's $pairs pairs -> $neighbour," \
		"the tree's $pairs pairs -> $tree; valgrind outside exit $valgrind_status"
}

if ! command -v valgrind >/dev/null; then
	if [ -n "${CI:-}" ]; then
		echo "FAIL scope: valgrind missing (scripts/install-deps.sh installs it)"; exit 1
	fi
	echo "SKIP scope: valgrind missing (scripts/install-deps.sh installs it)"; exit 77
fi

# valgrind dies on anybody's breakpoints in the host's libc. Ours are on a
# private copy; another tracer's (other ipcrace runs, bpftrace) may not be:
# valgrind is judged only when no other uprobe program is loaded on the
# host before and after it runs.
foreign_uprobes() {	# the tracer's pid: uprobe programs it does not hold
	python3 - "$1" <<'PY'
import glob, json, subprocess, sys
ids = set()
for f in glob.glob("/proc/%s/fdinfo/*" % sys.argv[1]):
    try:
        ids |= {int(l.split()[1]) for l in open(f) if l.startswith("prog_id:")}
    except OSError:
        pass
progs = json.loads(subprocess.check_output(["bpftool", "prog", "show", "-j"]))
print(sum(1 for p in progs if p.get("type") == "kprobe" and p["id"] not in ids))
PY
}

if scoped_run scoped; then
	if ! grep -q "scope: the traced tree runs in its own mount namespace" "$tmp/scoped.err"; then
		fail scope_active "no private namespace: $(grep scope: "$tmp/scoped.err")"
	else
		pass scope_active
	fi
	# 2 probed calls per pair: a neighbour that trapped would add 2 * pairs
	if [ "$neighbour" -lt $((pairs / 100)) ]; then
		pass neighbour_does_not_trap
	else
		fail neighbour_does_not_trap "$neighbour probe runs for a neighbour's $pairs pairs"
	fi
	if [ "$tree" -ge $((2 * pairs)) ]; then
		pass tree_traps
	else
		fail tree_traps "$tree probe runs for the tree's $pairs pairs, expected >= $((2 * pairs))"
	fi
	if [ "$foreign_before$foreign_after" != 00 ]; then
		echo "SKIP valgrind_outside_works (exit $valgrind_status): other uprobe programs" \
			"are loaded on the host ($foreign_before before, $foreign_after after)"
	elif [ "$valgrind_status" -eq 0 ]; then
		pass valgrind_outside_works
	else
		fail valgrind_outside_works "exit $valgrind_status: $(grep -m1 -i 'signal\|trap' "$tmp/scoped.valgrind")"
	fi
	[ "$tracer_status" -eq 0 ] && pass scoped_check_clean ||
		fail scoped_check_clean "check exited $tracer_status: $(tail -2 "$tmp/scoped.err")"
fi

# the counting sees a trapping neighbour: host-wide probes (the fallback)
if scoped_run hostwide IPCRACE_NO_SCOPE=1; then
	if grep -q "scope: probes trap host-wide: IPCRACE_NO_SCOPE" "$tmp/hostwide.err" &&
	   [ "$neighbour" -ge $((2 * pairs)) ]; then
		pass hostwide_fallback_counted
	else
		fail hostwide_fallback_counted "neighbour $neighbour runs; $(grep scope: "$tmp/hostwide.err")"
	fi
fi

# symbolization and paths stay the real ones: the report names the host's
# libc and the fixture's own path, with functions
libc=$(python3 -c 'import re; print(next(l.split()[-1] for l in open("/proc/self/maps") if "/libc.so" in l))')
exe=$(realpath "$fixtures/lock_abba_processes")
timeout 60 "$ipcrace" check --format json -o "$tmp/abba.json" -- "$exe" 2>"$tmp/abba.err"
status=$?
if [ "$status" -ne 66 ]; then
	fail scoped_report_paths "exit $status, expected 66: $(tail -2 "$tmp/abba.err")"
elif python3 - "$tmp/abba.json" "$libc" "$exe" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
frames = [fr for f in d["findings"] for e in f.get("cycle", []) for fr in e["stack"]]
modules = {fr.get("module") for fr in frames}
funcs = {fr.get("function") for fr in frames}
ok = {sys.argv[2], sys.argv[3]} <= modules and "lock_a_then_b" in funcs
if not ok:
    print(sorted(m for m in modules if m), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
then
	pass scoped_report_paths
else
	fail scoped_report_paths "modules are not the real libc and executable"
fi

# without CAP_SYS_ADMIN: host-wide probes, one -v line says why, the
# check still works
if command -v setpriv >/dev/null; then
	timeout 60 setpriv --bounding-set -sys_admin "$ipcrace" check -v -- "$exe" \
		>/dev/null 2>"$tmp/nocap.err"
	status=$?
	lines=$(grep -c "ipcrace: scope:" "$tmp/nocap.err")
	if [ "$status" -eq 66 ] && [ "$lines" -eq 1 ] &&
	   grep -q "scope: probes trap host-wide: unshare(CLONE_NEWNS): Operation not permitted" \
		"$tmp/nocap.err"; then
		pass fallback_without_sys_admin
	else
		fail fallback_without_sys_admin "exit $status, $lines scope lines: $(grep scope: "$tmp/nocap.err")"
	fi
fi

echo "scope: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
