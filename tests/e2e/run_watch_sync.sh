#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Synchronization words leave the watch rotation (issue 8 item 3): under
# `check -v`, fixtures/clean_atomic_words' counter and flag (only ever
# touched by atomics, between threads and between processes) are each
# named once as a "lock-like word", and no watch slot is given one of them
# after that line. With the access probes (their atomics are seen first)
# and without them (--access-probes off: a watchpoint hit decoded as
# atomic), as in attach mode.
# Usage: run_watch_sync.sh IPCRACE_BIN FIXTURE_BUILD_DIR
set -uo pipefail
ipcrace=$1
fixtures=$2
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL watch_sync: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP watch_sync: needs root"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# Checks the -v log: the named words, and no slot given a lock-like word later.
check_log() {
	python3 - "$1" "$2" <<'PY'
import re, sys
log, want_symbols = sys.argv[1], sys.argv[2] == "symbols"
like = re.compile(r"^ipcrace: watch: lock-like word (?:(.*?) )?\((?:pid (\d+) address 0x([0-9a-f]+)|object ([0-9a-f]+):(\d+) offset 0x([0-9a-f]+))\)")
slot = re.compile(r"^ipcrace: watch: slot \d+ -> (?:pid (\d+) address 0x([0-9a-f]+)|object ([0-9a-f]+):(\d+) offset 0x([0-9a-f]+))")
def word(m, at):
    if m.group(at):
        return ("pid", m.group(at), int(m.group(at + 1), 16) & ~7)
    return ("obj", m.group(at + 2), m.group(at + 3), int(m.group(at + 4), 16) & ~7)
excluded, names, bad = set(), [], []
for line in open(log, errors="replace"):
    m = like.match(line)
    if m:
        excluded.add(word(m, 2))
        names.append(m.group(1) or "")
        continue
    m = slot.match(line)
    if m and word(m, 1) in excluded:
        bad.append(line.strip())
problems = []
if want_symbols and not all(any(n.startswith(s) for n in names)
                            for s in ("atomic_events", "atomic_busy")):
    problems.append("threads' words not named: %s" % names)
if want_symbols and not any(w[0] == "obj" for w in excluded):
    problems.append("no shared word named lock-like")
if not excluded:
    problems.append("no word named lock-like")
if bad:
    problems.append("slots given lock-like words: %s" % bad[:3])
if problems:
    print("; ".join(problems))
    sys.exit(1)
PY
}

for mode in on off; do
	timeout 120 "$ipcrace" check -v --access-probes "$mode" -- "$fixtures/clean_atomic_words" \
		>/dev/null 2>"$tmp/$mode.log"
	status=$?
	if [ "$status" -ne 0 ]; then
		fail "lock_like_words_leave_rotation_probes_$mode" \
			"exit $status: $(grep -v '^ipcrace: \(watch\|access\)' "$tmp/$mode.log" | tail -n 2)"
		continue
	fi
	# without probes a word is seen atomic only once a slot held it (the
	# snapshot differ picked it): some word, not each, is named then
	want=symbols
	[ "$mode" = off ] && want=any
	if why=$(check_log "$tmp/$mode.log" "$want"); then
		pass "lock_like_words_leave_rotation_probes_$mode"
	else
		fail "lock_like_words_leave_rotation_probes_$mode" "$why"
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
