#!/usr/bin/env bash
# Bad input and hard conditions, end to end: each gets a clear one-line
# error and the contract's exit status, never a crash or silent loss.
# Usage: run_errors.sh IPCRACE_BIN FIXTURE_BUILD_DIR BENCH_BUILD_DIR
set -uo pipefail
ipcrace=$1
fixtures=$2
bench=$3
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL errors: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP errors: needs root"; exit 77
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
# expect NAME STATUS PATTERN: last command's status and a one-line stderr
expect() {
	local name=$1 want=$2 pattern=$3 got=$4
	if [ "$got" -ne "$want" ]; then
		fail "$name" "exit $got, expected $want: $(head -3 "$tmp/err")"
	elif [ -n "$pattern" ] && ! grep -qE "$pattern" "$tmp/err"; then
		fail "$name" "stderr does not match '$pattern': $(head -3 "$tmp/err")"
	else
		pass "$name"
	fi
}

# no privileges: an unprivileged user, no capabilities. It may not enter the
# build tree (a clone under /root is mode 0700): it runs a copy in $tmp.
cp "$ipcrace" "$tmp/ipcrace" && chmod 755 "$tmp/ipcrace"
(cd "$tmp" && setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$tmp/ipcrace" check -- /bin/true 2>"$tmp/err")
expect unprivileged_is_one_line_exit_1 1 "needs root" $?
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail unprivileged_message_is_one_line "$(cat "$tmp/err")"

# usage errors
"$ipcrace" check 2>"$tmp/err"; expect check_without_command_is_usage 2 "needs a command" $?
"$ipcrace" frobnicate 2>"$tmp/err"; expect unknown_command_is_usage 2 "unknown command" $?
"$ipcrace" check --format xml -- /bin/true 2>"$tmp/err"; expect bad_format_is_usage 2 "unknown format" $?
"$ipcrace" check -- /nonexistent/program 2>"$tmp/err"; expect missing_program_exit_1 1 "cannot run" $?

# a trace: recorded, mode 0600, readable
"$ipcrace" record -o "$tmp/t.trace" -- "$fixtures/lock_abba_threads" >/dev/null 2>"$tmp/err"
expect record_writes_trace 0 "" $?
mode=$(stat -c %a "$tmp/t.trace")
[ "$mode" = 600 ] && pass trace_is_mode_0600 || fail trace_is_mode_0600 "mode $mode"
"$ipcrace" analyze "$tmp/t.trace" >/dev/null 2>"$tmp/err"; expect analyze_finds_recorded_bug 66 "" $?
"$ipcrace" dump "$tmp/t.trace" >"$tmp/dump" 2>"$tmp/err"; expect dump_reads_trace 0 "" $?
grep -q "lock-attempt" "$tmp/dump" && pass dump_lists_lock_events || fail dump_lists_lock_events "no lock-attempt line"

# corrupt and truncated traces
head -c 4096 /dev/urandom >"$tmp/garbage"
"$ipcrace" analyze "$tmp/garbage" 2>"$tmp/err"; expect garbage_trace_exit_1 1 "not an ipcrace trace" $?
size=$(stat -c %s "$tmp/t.trace")
head -c $((size - 100)) "$tmp/t.trace" >"$tmp/cut.trace"
"$ipcrace" analyze "$tmp/cut.trace" >"$tmp/out" 2>"$tmp/err"
status=$?
# never clean: 66 with what was found before the cut, 1 without
if [ "$status" -eq 66 ] || [ "$status" -eq 1 ]; then
	grep -q "INCOMPLETE" "$tmp/out" && pass truncated_trace_is_reported_incomplete ||
		fail truncated_trace_is_reported_incomplete "no INCOMPLETE line: $(cat "$tmp/out" "$tmp/err")"
else
	fail truncated_trace_is_reported_incomplete "exit $status: $(cat "$tmp/err")"
fi
cp "$tmp/t.trace" "$tmp/flip.trace"
printf '\xff\xff\xff\xff' | dd of="$tmp/flip.trace" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
"$ipcrace" analyze "$tmp/flip.trace" >"$tmp/out" 2>"$tmp/err"
status=$?
if { [ "$status" -eq 66 ] || [ "$status" -eq 1 ]; } && grep -q "damaged region" "$tmp/out"; then
	pass corrupt_trace_loses_only_damaged_records
else
	fail corrupt_trace_loses_only_damaged_records "exit $status: $(cat "$tmp/out" "$tmp/err" | tail -3)"
fi

# a target that crashes: reported, not mistaken for a tool failure (its
# status is check's, as TSan's: 128 + SIGSEGV)
"$ipcrace" check -- sh -c 'kill -SEGV $$' 2>"$tmp/err"
expect crashing_target_is_reported 139 "signal 11" $?

# a full ring buffer: counted and reported, and no finding made up from the gap
# (200000 pairs: 20000 were once drained in time by an idle consumer, with
# a lock pair down to two events)
"$ipcrace" check --buffer-size 4 --format json -o "$tmp/lost.json" -- "$bench/lock_ops" 200000 >/dev/null 2>"$tmp/err"
status=$?
lost=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["lost_events"])' "$tmp/lost.json" 2>/dev/null || echo 0)
if [ "$lost" -gt 0 ] && grep -q "lost" "$tmp/err"; then
	pass lost_events_are_reported
else
	fail lost_events_are_reported "exit $status, lost_events=$lost: $(cat "$tmp/err") stats: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"])' "$tmp/lost.json" 2>&1 | head -c 600)"
fi
# no finding made up from the gap, and no clean bill either: exit 1, why on stderr
[ "$status" -eq 1 ] && grep -q "INCOMPLETE" "$tmp/err" && pass lost_events_make_no_false_finding ||
	fail lost_events_make_no_false_finding "exit $status (expected 1: incomplete, nothing found): $(tail -2 "$tmp/err")"

# Ctrl-C stops the recording cleanly, with a valid trace
"$ipcrace" record -o "$tmp/int.trace" -- sleep 3 2>"$tmp/err" &
rec=$!
sleep 1
kill -INT "$rec"
wait "$rec"
expect sigint_stops_recording_cleanly 0 "" $?
"$ipcrace" dump "$tmp/int.trace" >/dev/null 2>"$tmp/err"; expect interrupted_trace_is_valid 0 "" $?

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
