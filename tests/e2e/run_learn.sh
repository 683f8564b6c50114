#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# --learn end to end: a run of fixtures/race_oneshot (two writes of one
# shared word, 50 ms apart, each done once: no run without --watch catches
# it) learns the word into FILE, and the next run with the same FILE
# watches it from the start and finds the race. And a FILE that is not a
# list of watch specs is one clear line, exit 2.
# Usage: run_learn.sh IPCRACE_BIN FIXTURE_BUILD_DIR
set -uo pipefail
ipcrace=$1
fixtures=$2
readonly SHM_NAME=ipcrace-oneshot-e2e
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL learn: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP learn: needs root"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

learnt=$tmp/learnt
"$ipcrace" check --learn "$learnt" -- "$fixtures/race_oneshot" "$SHM_NAME" >/dev/null 2>"$tmp/err1"
status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 66 ]; then
	fail first_run_records "exit $status: $(tail -n 1 "$tmp/err1")"
elif grep -qx "/dev/shm/$SHM_NAME+0x0:8" "$learnt" 2>/dev/null; then
	pass first_run_learns_the_shared_word
else
	fail first_run_learns_the_shared_word "$(cat "$learnt" 2>&1)"
fi
mode=$(stat -c %a "$learnt" 2>/dev/null)
[ "$mode" = 600 ] && pass learn_file_is_mode_0600 || fail learn_file_is_mode_0600 "mode $mode"
ls "$tmp" | grep -q '\.tmp\.' && fail learn_file_leaves_no_temporary "$(ls "$tmp")" ||
	pass learn_file_leaves_no_temporary

"$ipcrace" check --learn "$learnt" -- "$fixtures/race_oneshot" "$SHM_NAME" >/dev/null 2>"$tmp/err2"
status=$?
if [ "$status" -eq 66 ] && grep -q "data race" "$tmp/err2"; then
	pass second_run_finds_the_oneshot_race
else
	fail second_run_finds_the_oneshot_race "exit $status: $(grep -m 1 -E 'WARNING|ipcrace:' "$tmp/err2")"
fi
grep -qx "/dev/shm/$SHM_NAME+0x0:8" "$learnt" && pass second_run_keeps_the_word ||
	fail second_run_keeps_the_word "$(cat "$learnt")"

printf '# learnt\n/dev/shm/x+0x0:8\nnot a spec\n' >"$tmp/garbled"
"$ipcrace" check --learn "$tmp/garbled" -- /bin/true 2>"$tmp/err"
status=$?
if [ "$status" -eq 2 ] && grep -q "line 3" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
	pass garbled_learn_file_is_one_line_exit_2
else
	fail garbled_learn_file_is_one_line_exit_2 "exit $status: $(cat "$tmp/err")"
fi
"$ipcrace" check --learn "$tmp" -- /bin/true 2>"$tmp/err"
status=$?
if [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
	pass unreadable_learn_file_is_one_line_exit_1
else
	fail unreadable_learn_file_is_one_line_exit_1 "exit $status: $(cat "$tmp/err")"
fi
"$ipcrace" check --no-watch --learn "$learnt" -- /bin/true 2>"$tmp/err"
[ $? -eq 2 ] && pass learn_without_watching_is_usage ||
	fail learn_without_watching_is_usage "$(cat "$tmp/err")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
