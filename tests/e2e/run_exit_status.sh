#!/usr/bin/env bash
# The exit-status contract of `ipcrace check`, end to end (TSan's): 66 (or
# --exitcode N) when there are findings; otherwise the target's own status
# (its exit code, 128 + the signal that killed it); 0 when attached (-p)
# without findings; 1 when ipcrace could not trace; 2 on a usage error.
# Usage: run_exit_status.sh IPCRACE_BIN FIXTURE_BUILD_DIR
set -uo pipefail
ipcrace=$1
fixtures=$2
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL exit_status: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP exit_status: needs root"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
# expect NAME STATUS -- ipcrace ARGS...: runs it, compares its exit status
expect() {
	local name=$1 want=$2 got
	shift 3
	timeout 120 "$ipcrace" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass "$name"
	else
		fail "$name" "exit $got, expected $want: $(tail -3 "$tmp/err")"
	fi
}

expect target_success_is_0 0 -- check -- /bin/true
expect target_failure_is_its_status 1 -- check -- false
expect target_exit_code_passes_through 7 -- check -- sh -c 'exit 7'
expect target_killed_by_sigsegv_is_139 139 -- check -- sh -c 'kill -SEGV $$'
expect target_killed_by_sigterm_is_143 143 -- check -- sh -c 'kill -TERM $$'
expect finding_is_66 66 -- check -- "$fixtures/lock_abba_threads"
expect exitcode_replaces_66 3 -- check --exitcode 3 -- "$fixtures/lock_abba_threads"
# a finding wins over the target's own failure: CI must see the race
expect finding_wins_over_target_status 66 -- check -- sh -c "$fixtures/lock_abba_threads; exit 5"
expect exitcode_without_finding_keeps_target_status 7 -- check --exitcode 3 -- sh -c 'exit 7'
expect missing_program_is_1 1 -- check -- /nonexistent/program
expect bad_exitcode_is_usage 2 -- check --exitcode 256 -- /bin/true

# attached: ipcrace is not the target's parent, its status is not ours
sh -c 'sleep 3; exit 5' &
target=$!
sleep 0.2
expect attached_without_findings_is_0 0 -- check -p "$target"
wait "$target"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
