#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Stacks of a trace analyzed where the binaries are no longer where they
# were recorded (the post-mortem use): records a fixture built without frame
# pointers, then analyzes the trace
#   1. in place,
#   2. with the binary moved away: shown as module+offset with its build-id,
#   3. moved, found again with --debug-dir DIR (by name),
#   4. moved, found again with --sysroot DIR,
#   4b. moved, found again in the file `ipcrace archive` packed in place
#      (analyze --archive FILE),
#   5. recorded from a stripped binary whose debug file sits in a build-id
#      directory (--debug-dir DIR/.build-id/xx/rest.debug),
# and checks that 3, 4, 4b and 5 give the same stacks (functions, files, lines)
# as 1, every stack reaching main.
#
#   run_symbols.sh IPCRACE_BIN FIXTURE_O2_DIR
#
# Exit 0 passed, 1 failed, 77 skipped (not root, outside CI).

set -u

[ $# -eq 2 ] || { echo "usage: $0 IPCRACE_BIN FIXTURE_O2_DIR" >&2; exit 2; }
ipcrace=$1
fixtures=$2
fixture=lock_abba_flock

if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then
		echo "FAIL symbols: needs root: CI must run as root"
		exit 1
	fi
	echo "SKIP symbols: recording needs root"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipcrace-symbols.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0

fail() {
	echo "FAIL symbols: $*"
	failed=1
}

# "function file:line" per frame, one stack per line, in report order.
stacks() {	# json file
	python3 - "$1" <<'EOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
for f in r["findings"]:
    for e in f.get("cycle", []) + f.get("accesses", []):
        for key in ("stack", "held_stack"):
            if key in e:
                print(" ".join(f"{fr.get('function')}:{os.path.basename(fr.get('file') or '-')}:{fr.get('line')}"
                               for fr in e[key]))
EOF
}

analyze() {	# out.json, options...
	local out=$1
	shift
	"$ipcrace" analyze --format json --output "$out" "$@" "$tmp/trace" 2>"$out.err"
	local rc=$?
	[ $rc -eq 66 ] || { fail "analyze $* exited $rc: $(tail -n 1 "$out.err")"; return 1; }
}

mkdir -p "$tmp/rec/bin" "$tmp/moved" "$tmp/root"
cp "$fixtures/$fixture" "$tmp/rec/bin/$fixture"

# 1. in place
"$ipcrace" record -o "$tmp/trace" -- "$tmp/rec/bin/$fixture" >/dev/null 2>"$tmp/rec.err" ||
	{ fail "record: $(tail -n 1 "$tmp/rec.err")"; exit 1; }
analyze "$tmp/in_place.json" || exit 1
stacks "$tmp/in_place.json" >"$tmp/in_place.txt"
if [ ! -s "$tmp/in_place.txt" ] || grep -qv " main:" "$tmp/in_place.txt"; then
	fail "in place: a stack does not reach main:"
	sed 's/^/    /' "$tmp/in_place.txt"
fi

# the modules this trace needs, packed while they are in place
"$ipcrace" archive -o "$tmp/modules.archive" "$tmp/trace" 2>"$tmp/archive.err" ||
	fail "archive: $(tail -n 1 "$tmp/archive.err")"

# 2. moved away: no symbols for the fixture, but its build-id is shown
mv "$tmp/rec/bin/$fixture" "$tmp/moved/$fixture"
"$ipcrace" analyze "$tmp/trace" >"$tmp/gone.txt" 2>&1
if grep -q "lock_a_then_b" "$tmp/gone.txt" || ! grep -q "$fixture+0x[0-9a-f]*, build-id [0-9a-f]\{40\}" "$tmp/gone.txt"; then
	fail "binary moved away: expected module+offset with its build-id, got:"
	sed -n '1,12p' "$tmp/gone.txt" | sed 's/^/    /'
fi

# 3. --debug-dir, by name
analyze "$tmp/debug_dir.json" --debug-dir "$tmp/nonexistent" --debug-dir "$tmp/moved" &&
	stacks "$tmp/debug_dir.json" >"$tmp/debug_dir.txt" &&
	{ cmp -s "$tmp/in_place.txt" "$tmp/debug_dir.txt" ||
		fail "--debug-dir: stacks differ: $(diff "$tmp/in_place.txt" "$tmp/debug_dir.txt" | head -n 4)"; }

# 4b. --archive
analyze "$tmp/archive.json" --archive "$tmp/modules.archive" &&
	stacks "$tmp/archive.json" >"$tmp/archive.txt" &&
	{ cmp -s "$tmp/in_place.txt" "$tmp/archive.txt" ||
		fail "--archive: stacks differ: $(diff "$tmp/in_place.txt" "$tmp/archive.txt" | head -n 4)"; }
if ls /tmp/ipcrace-archive-* >/dev/null 2>&1 && [ -n "$(find /tmp -maxdepth 1 -name 'ipcrace-archive-*' -newer "$tmp/modules.archive")" ]; then
	fail "--archive left its temporary directory behind"
fi
printf 'garbage' >"$tmp/bad.archive"
"$ipcrace" analyze --archive "$tmp/bad.archive" "$tmp/trace" >/dev/null 2>"$tmp/bad.err"
rc=$?
[ $rc -eq 1 ] && grep -q "^ipcrace: archive:" "$tmp/bad.err" ||
	fail "a bad archive: exit $rc, $(head -n 1 "$tmp/bad.err")"

# 4. --sysroot
mkdir -p "$tmp/root$tmp/rec/bin"
mv "$tmp/moved/$fixture" "$tmp/root$tmp/rec/bin/$fixture"
analyze "$tmp/sysroot.json" --sysroot "$tmp/root" &&
	stacks "$tmp/sysroot.json" >"$tmp/sysroot.txt" &&
	{ cmp -s "$tmp/in_place.txt" "$tmp/sysroot.txt" ||
		fail "--sysroot: stacks differ: $(diff "$tmp/in_place.txt" "$tmp/sysroot.txt" | head -n 4)"; }

# 5. stripped binary, its debug file by build-id
bin="$tmp/rec/bin/$fixture"
mv "$tmp/root$bin" "$bin"
objcopy --only-keep-debug "$bin" "$tmp/$fixture.debug"
strip --strip-all "$bin"
id=$(readelf -n "$bin" | awk '/Build ID/ { print $3 }')
[ ${#id} -eq 40 ] || { fail "no build-id in $bin"; exit 1; }
mkdir -p "$tmp/dbg/.build-id/${id:0:2}"
mv "$tmp/$fixture.debug" "$tmp/dbg/.build-id/${id:0:2}/${id:2}.debug"
"$ipcrace" record -o "$tmp/trace" -- "$bin" >/dev/null 2>"$tmp/rec.err" ||
	{ fail "record stripped: $(tail -n 1 "$tmp/rec.err")"; exit 1; }
analyze "$tmp/stripped.json" --debug-dir "$tmp/dbg" &&
	stacks "$tmp/stripped.json" >"$tmp/stripped.txt" &&
	{ cmp -s "$tmp/in_place.txt" "$tmp/stripped.txt" ||
		fail "stripped + build-id debug dir: stacks differ: $(diff "$tmp/in_place.txt" "$tmp/stripped.txt" | head -n 4)"; }

if [ $failed -eq 0 ]; then
	echo "PASS symbols: same stacks in place, with --debug-dir, --sysroot, --archive, and stripped + build-id debug file"
	exit 0
fi
exit 1
