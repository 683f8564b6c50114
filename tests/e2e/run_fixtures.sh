#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Runs every fixture that declares expectations (// ipcrace-expect: ...) under
# `ipcrace check` (with the fixture's ipcrace-options; ipcrace-args go to the
# fixture; `// ipcrace-env: NAME=VALUE` lines to ipcrace's environment) and
# checks the JSON report against them (check_report.py).
#
#   run_fixtures.sh IPCRACE_BIN FIXTURE_BUILD_DIR FIXTURE_SRC_DIR
#
# Environment:
#   IPCRACE_FIXTURES="a b"  run only these fixtures (names without .c)
#   REPEAT=N                run each fixture N times; all runs must pass
#   IPCRACE_TIMEOUT=S       seconds per run before it counts as a hang (60)
#   CPU_HOG=N               keep N busy loops running for the whole run (one per
#                           core: the verdicts must not depend on timing luck)
#   CI                      when set, missing root is a failure, not a skip
#
# Prints "PASS name" or "FAIL name: reason" per fixture and ends with
# "N passed, M failed". Exit 0 all passed, 1 something failed, 2 usage,
# 77 skipped (not root, outside CI; ctest's SKIP_RETURN_CODE).

set -u

readonly EXIT_SKIP=77
readonly LOG_TAIL_LINES=20
readonly FIXTURE_ERROR_TAG="ipcrace-fixture-error"

usage() {
	echo "usage: $0 IPCRACE_BIN FIXTURE_BUILD_DIR FIXTURE_SRC_DIR" >&2
	exit 2
}

[ $# -eq 3 ] || usage
ipcrace=$1
build_dir=$2
src_dir=$3
checker="$(cd "$(dirname "$0")" && pwd)/check_report.py"
timeout_s=${IPCRACE_TIMEOUT:-60}
repeat=${REPEAT:-1}

case $repeat in
'' | *[!0-9]* | 0) echo "REPEAT must be a positive integer, got '$repeat'" >&2; exit 2 ;;
esac
case $timeout_s in
'' | *[!0-9]* | 0) echo "IPCRACE_TIMEOUT must be a positive integer, got '$timeout_s'" >&2; exit 2 ;;
esac
hogs=${CPU_HOG:-0}
case $hogs in
'' | *[!0-9]*) echo "CPU_HOG must be a number of busy loops, got '$hogs'" >&2; exit 2 ;;
esac

# Tracing needs root (BPF, uprobes, perf breakpoints). A developer without it
# gets a skip; CI has it, so there a missing privilege is a failure.
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then
		echo "FAIL e2e: e2e needs root: CI must run as root"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "SKIP e2e: fixtures under ipcrace need root (CI runs them)"
	exit $EXIT_SKIP
fi

if [ ! -x "$ipcrace" ]; then
	echo "FAIL e2e: ipcrace binary not found or not executable: $ipcrace"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! command -v python3 >/dev/null; then
	echo "FAIL e2e: python3 is needed to check reports"
	echo "0 passed, 1 failed"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipcrace-e2e.XXXXXX") || exit 1
keep_tmp=0
declare -a hog_pids=()
cleanup() {
	if [ "${#hog_pids[@]}" -gt 0 ]; then
		kill "${hog_pids[@]}" 2>/dev/null
		wait "${hog_pids[@]}" 2>/dev/null
	fi
	if [ "$keep_tmp" -eq 0 ]; then
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for ((h = 0; h < hogs; h++)); do
	bash -c 'while :; do :; done' &
	hog_pids+=($!)
done
[ "$hogs" -eq 0 ] || echo "with $hogs busy loops on the CPUs (pids ${hog_pids[*]})"

# --- which fixtures -------------------------------------------------------
declare -a names=()
declare -A source_of=()
for src in "$src_dir"/*.c "$src_dir"/*.cpp; do
	[ -e "$src" ] || continue
	grep -Eq '^[[:space:]]*(//|/?\*)[[:space:]]*ipcrace-expect:' "$src" || continue
	name=$(basename "$src")
	name=${name%.*}
	source_of[$name]=$src
	names+=("$name")
done

declare -a selected=()
declare -a unknown=()
if [ -n "${IPCRACE_FIXTURES:-}" ]; then
	for want in $IPCRACE_FIXTURES; do
		want=${want%.c}
		want=${want%.cpp}
		if [ -n "${source_of[$want]:-}" ]; then
			selected+=("$want")
		else
			unknown+=("$want")
		fi
	done
else
	selected=("${names[@]}")
fi

passed=0
failed=0
for name in "${unknown[@]}"; do
	echo "FAIL $name: no fixture with ipcrace-expect lines in $src_dir"
	failed=$((failed + 1))
done

# --- one run --------------------------------------------------------------
# Sets `reason` (empty when the run passed) and `details` (extra lines).
run_once() {
	local name=$1 src=$2
	local bin="$build_dir/$name"
	local json="$tmp/$name.json" log="$tmp/$name.log" out="$tmp/$name.check"
	local rc crc
	local -a args=() options=() envs=()

	reason=""
	details=""
	if [ ! -x "$bin" ]; then
		reason="not built: $bin"
		return
	fi
	if ! python3 "$checker" --source "$src" --print-args >"$out" 2>&1; then
		reason=$(head -n 1 "$out")
		return
	fi
	mapfile -t args <"$out"
	python3 "$checker" --source "$src" --print-options >"$out" 2>&1
	mapfile -t options <"$out"
	mapfile -t envs < <(sed -n 's|^// ipcrace-env: *\([A-Za-z_][A-Za-z0-9_]*=[^ ]*\) *$|\1|p' "$src")

	rm -f "$json"
	env "${envs[@]}" timeout -k 5 "$timeout_s" "$ipcrace" check --format json --output "$json" \
		"${options[@]}" -- "$bin" "${args[@]}" </dev/null >"$log" 2>&1
	rc=$?

	# Without findings check exits with the fixture's own status: a fixture
	# that failed to do its job says so with a tagged line (and exits 1).
	if grep -q "^$FIXTURE_ERROR_TAG" "$log"; then
		reason="fixture did not run as intended: $(grep -m 1 "^$FIXTURE_ERROR_TAG" "$log")"
		return
	fi

	case $rc in
	0 | 66) ;;
	124 | 137)
		reason="timed out after ${timeout_s} s (a hang, in the fixture or the tracer)"
		return ;;
	1)
		reason="ipcrace could not trace (exit 1): $(grep -v "^$FIXTURE_ERROR_TAG" "$log" | tail -n 1)"
		return ;;
	2)
		reason="ipcrace usage error (exit 2): $(tail -n 1 "$log")"
		return ;;
	*)
		reason="ipcrace exited $rc (the fixture's own status, or a crash)"
		return ;;
	esac

	python3 "$checker" --source "$src" --report "$json" --exit-code "$rc" >"$out" 2>&1
	crc=$?
	if [ "$crc" -ne 0 ]; then
		reason=$(head -n 1 "$out")
		details=$(tail -n +2 "$out")
		[ -n "$reason" ] || reason="check_report.py exited $crc"
	fi
}

print_failure() {
	local name=$1
	local json="$tmp/$name.json" log="$tmp/$name.log"

	if [ -n "$details" ]; then
		printf '%s\n' "$details" | sed 's/^/    /'
	elif [ -s "$json" ]; then
		python3 "$checker" --source "${source_of[$name]}" --report "$json" --summary 2>&1 |
			sed 's/^/    /'
	fi
	if [ -s "$log" ]; then
		echo "    log tail ($log):"
		tail -n "$LOG_TAIL_LINES" "$log" | sed 's/^/    | /'
	fi
}

for name in "${selected[@]}"; do
	src=${source_of[$name]}
	reason=""
	details=""
	for ((run = 1; run <= repeat; run++)); do
		run_once "$name" "$src"
		[ -z "$reason" ] || break
	done
	if [ -z "$reason" ]; then
		echo "PASS $name"
		passed=$((passed + 1))
		continue
	fi
	if [ "$repeat" -gt 1 ]; then
		reason="run $run/$repeat: $reason"
	fi
	echo "FAIL $name: $reason"
	print_failure "$name"
	failed=$((failed + 1))
done

if [ $((passed + failed)) -eq 0 ]; then
	echo "FAIL e2e: no fixture with ipcrace-expect lines in $src_dir"
	failed=1
fi
if [ "$failed" -gt 0 ]; then
	keep_tmp=1
	echo "reports and logs kept in $tmp"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
