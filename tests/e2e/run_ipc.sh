#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# IPC tracing end to end: runs every fixture that declares
#
#   // ipcrace-expect-dump: RELEASE ACQUIRE OBJECT-PREFIX
#
# under `ipcrace record`, dumps the trace, and checks that the dump has a
# RELEASE line (e.g. "send") and a later ACQUIRE line (e.g. "recv") from
# another process, naming the same object, which starts with OBJECT-PREFIX
# (e.g. "pipe", "socket unix"). An acquire line that shows a result
# (" = N") must show 0. That is the handoff the happens-before order is
# built from: one channel identity seen from both ends.
#
#   run_ipc.sh IPCRACE_BIN FIXTURE_BUILD_DIR FIXTURE_SRC_DIR
#
# Environment: IPCRACE_FIXTURES="a b" (only these), IPCRACE_TIMEOUT=S (60),
# CI (missing root is a failure, not a skip). Exit 0 all passed, 1 a
# failure, 2 usage, 77 skipped.

set -u

readonly EXIT_SKIP=77
readonly FIXTURE_ERROR_TAG="ipcrace-fixture-error"

usage() {
	echo "usage: $0 IPCRACE_BIN FIXTURE_BUILD_DIR FIXTURE_SRC_DIR" >&2
	exit 2
}

[ $# -eq 3 ] || usage
ipcrace=$1
build_dir=$2
src_dir=$3
timeout_s=${IPCRACE_TIMEOUT:-60}

if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then
		echo "FAIL e2e: IPC tracing needs root: CI must run as root"
		exit 1
	fi
	echo "SKIP e2e: IPC fixtures under ipcrace need root"
	exit $EXIT_SKIP
fi
if [ ! -x "$ipcrace" ]; then
	echo "FAIL e2e: ipcrace binary not found or not executable: $ipcrace"
	exit 1
fi
command -v python3 >/dev/null || { echo "FAIL e2e: python3 is needed"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipcrace-ipc.XXXXXX") || exit 1
keep_tmp=0
trap '[ "$keep_tmp" -eq 1 ] || rm -rf "$tmp"' EXIT

# The dump checker: reads a dump on stdin; exits 0 when the handoff is
# there, else prints why.
checker=$tmp/check_dump.py
cat >"$checker" <<'PY'
import re, sys

release, acquire, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
# "   0.005684 30937/30937 comm EVENT [flags] OBJECT DETAILS [stack N]"
line_re = re.compile(r"^\s*\d+\.\d+ (\d+)/\d+ \S+ (\S+)(?: \[[^\]]*\])? (.*)$")
# what follows the object: channel details, a result, a stack id
tail_re = re.compile(r"( fd -?\d+, .*| = -?\d+)?( stack \d+)?$")

releases = {}	# object -> pids that released it, so far
found = []
seen = {release: 0, acquire: 0}
for line in sys.stdin:
	m = line_re.match(line.rstrip("\n"))
	if not m or m.group(2) not in seen:
		continue
	pid, event, rest = int(m.group(1)), m.group(2), m.group(3)
	t = tail_re.search(rest)
	obj = rest[:t.start()] if t else rest
	if not obj.startswith(prefix):
		continue
	seen[event] += 1
	if event == release:
		releases.setdefault(obj, set()).add(pid)
		continue
	result = re.search(r" = (-?\d+)", rest[len(obj):])
	if result and int(result.group(1)) != 0:
		continue
	if releases.get(obj, set()) - {pid}:
		found.append(obj)
if found:
	print(f"handoff on {found[0]}")
	sys.exit(0)
print(f"no {release} -> {acquire} handoff between two processes on one '{prefix}' object "
      f"({seen[release]} {release} and {seen[acquire]} {acquire} lines on such objects)")
sys.exit(1)
PY

passed=0
failed=0
for src in "$src_dir"/*.c; do
	spec=$(sed -n 's,^[[:space:]]*//[[:space:]]*ipcrace-expect-dump:[[:space:]]*,,p' "$src" | head -n 1)
	[ -n "$spec" ] || continue
	name=$(basename "$src" .c)
	if [ -n "${IPCRACE_FIXTURES:-}" ] && [[ " $IPCRACE_FIXTURES " != *" $name "* ]]; then
		continue
	fi
	read -r release acquire prefix <<<"$spec"
	bin=$build_dir/$name
	trace=$tmp/$name.trace
	log=$tmp/$name.log
	dump=$tmp/$name.dump
	reason=""

	if [ ! -x "$bin" ]; then
		reason="not built: $bin"
	elif ! timeout -k 5 "$timeout_s" "$ipcrace" record -o "$trace" -- "$bin" \
			</dev/null >"$log" 2>&1; then
		reason="ipcrace record failed: $(tail -n 1 "$log")"
	elif grep -q "^$FIXTURE_ERROR_TAG" "$log"; then
		reason="fixture did not run as intended: $(grep -m 1 "^$FIXTURE_ERROR_TAG" "$log")"
	elif ! "$ipcrace" dump "$trace" >"$dump" 2>>"$log"; then
		reason="ipcrace dump failed: $(tail -n 1 "$log")"
	elif ! why=$(python3 "$checker" "$release" "$acquire" "$prefix" <"$dump"); then
		reason="$why (dump: $dump)"
	fi
	if [ -z "$reason" ]; then
		echo "PASS $name: $why"
		passed=$((passed + 1))
	else
		echo "FAIL $name: $reason"
		failed=$((failed + 1))
	fi
done

# --ipc-stacks: each send and receive slice of the perfetto report has the
# stack of the fixture's own function that called write/read (file:line) up
# to main; without the option, channel events carry no stack.
stacks_checker=$tmp/check_stacks.py
cat >"$stacks_checker" <<'PY'
import json, sys
path, src, want = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
doc = json.load(open(path))
# the fixture's messages ("hello", 6 bytes), not ipcrace's 1-byte release of
# the target before its exec
slices = [e for e in doc["traceEvents"]
          if e.get("cat") == "ipc" and e.get("ph") == "X" and e["args"].get("bytes") == 6]
if not slices:
    sys.exit("no send/receive slice in the report")
if not want:
    bad = [e["name"] for e in slices if "stack" in e["args"]]
    sys.exit(f"a stack without --ipc-stacks: {bad[0]}" if bad else 0)
for verb, func in (("send", "child_send"), ("recv", "parent_receive")):
    mine = [e for e in slices if e["name"].startswith(verb + " ")]
    if not mine:
        sys.exit(f"no {verb} slice")
    for e in mine:
        frames = e["args"].get("stack", [])
        if not any(f.startswith(func + " " + src + ":") for f in frames):
            sys.exit(f"{e['name']}: no frame '{func} {src}:N' in {frames}")
        if not any(f.startswith("main " + src + ":") for f in frames):
            sys.exit(f"{e['name']}: the stack stops before main: {frames}")
print(f"{len(slices)} slices, each with its caller and main")
PY
# The -O2 -fomit-frame-pointer builds (e2e/fixtures_o2's) too, when built.
for dir in "$build_dir" "$build_dir-o2"; do
[ -d "$dir" ] || continue
for name in ipc_pipe ipc_unix_dgram; do
	[ -z "${IPCRACE_FIXTURES:-}" ] || [[ " $IPCRACE_FIXTURES " == *" $name "* ]] || continue
	for want in 1 0; do
		what="$name stacks ($(basename "$dir"), ipc-stacks=$want)"
		report=$tmp/$name.$(basename "$dir").stacks$want.json
		log=${report%.json}.log
		opt=$([ "$want" = 1 ] && echo --ipc-stacks)
		if ! timeout -k 5 "$timeout_s" "$ipcrace" check $opt --format perfetto \
				-o "$report" -- "$dir/$name" </dev/null >"$log" 2>&1; then
			echo "FAIL $what: ipcrace check failed: $(tail -n 1 "$log")"
			failed=$((failed + 1))
		elif ! why=$(python3 "$stacks_checker" "$report" "$name.c" "$want" 2>&1); then
			echo "FAIL $what: $why"
			failed=$((failed + 1))
		else
			echo "PASS $what${why:+: $why}"
			passed=$((passed + 1))
		fi
	done
done
done

# The trace starts at the target's exec: ipcrace's child, before it, waits
# for its go byte on a pipe, and that read is no receive of the target's
# (nor its signal set-up). With IPCRACE_NO_SCOPE=1 the child reaches its read
# after ipcrace has marked it traced unless ipcrace waits for it there
# first; scoped, only when it is scheduled late (a loaded machine).
for scope in scoped host-wide; do
	[ -z "${IPCRACE_FIXTURES:-}" ] || [[ " $IPCRACE_FIXTURES " == *" ipc_pipe "* ]] || continue
	what="spawn: no event of the target before its exec ($scope)"
	trace=$tmp/spawn.$scope.trace
	log=$tmp/spawn.$scope.log
	envs=()
	[ "$scope" = scoped ] || envs=(IPCRACE_NO_SCOPE=1)
	if ! env "${envs[@]}" timeout -k 5 "$timeout_s" "$ipcrace" record --no-watch -o "$trace" \
			-- "$build_dir/ipc_pipe" </dev/null >"$log" 2>&1; then
		echo "FAIL $what: ipcrace record failed: $(tail -n 1 "$log")"
		failed=$((failed + 1))
		continue
	fi
	# the root's lines up to its exec: only the new image's mapping
	why=$("$ipcrace" dump "$trace" 2>>"$log" | awk '
		!/^ *[0-9]+\.[0-9]+ [0-9]+\/[0-9]+ / { next }
		{ split($2, id, "/") }
		root == "" { root = id[1] }
		id[1] != root { next }
		$4 == "exec" { execd = 1; exit }
		$4 != "mmap" { bad = bad ? bad : $0 }
		END {
			if (!execd) print "no exec of the root process"
			else if (bad) print "before the exec: " bad
		}')
	if [ -n "$why" ]; then
		echo "FAIL $what: $why"
		failed=$((failed + 1))
	else
		echo "PASS $what"
		passed=$((passed + 1))
	fi
done

if [ $((passed + failed)) -eq 0 ]; then
	echo "FAIL e2e: no fixture with ipcrace-expect-dump lines in $src_dir"
	failed=1
fi
if [ "$failed" -gt 0 ]; then
	keep_tmp=1
	echo "traces, dumps and logs kept in $tmp"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
