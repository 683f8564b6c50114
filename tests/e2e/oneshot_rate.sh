#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# How often the rotating watcher alone finds the one-shot race: runs
# fixtures/race_oneshot (two writes of one word, 50 ms apart, each done once)
# under `ipcrace check` WITHOUT --watch, N times, and counts the runs whose
# report meets the fixture's expectations (check_report.py: the data race,
# both functions in its stacks, two processes). A measurement, not a test:
# the fixture's own e2e run names the word with --watch and must always
# find it.
#
# With --learn, every run gets `--learn FILE` (one FILE for the N runs, new
# at the first): run 1 can only learn the word, the runs after it watch it
# from their start. The last line is then "found K of N (learning)".
#
#   oneshot_rate.sh [-v] [--learn] IPCRACE_BIN FIXTURE_BUILD_DIR FIXTURE_SRC_DIR [N]
#
# Prints one line per run with -v, then "found K of N". Exit 0 when it
# measured (whatever K is), 1 when a run could not trace or the fixture
# failed, 2 usage. Needs root.

set -u

usage() {
	echo "usage: $0 [-v] [--learn] IPCRACE_BIN FIXTURE_BUILD_DIR FIXTURE_SRC_DIR [N]" >&2
	exit 2
}

verbose=0
learn=0
while [ $# -gt 0 ]; do
	case $1 in
	-v) verbose=1 ;;
	--learn) learn=1 ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 3 ] || [ $# -eq 4 ] || usage
ipcrace=$1
bin=$2/race_oneshot
src=$3/race_oneshot.c
runs=${4:-20}
checker="$(cd "$(dirname "$0")" && pwd)/check_report.py"
readonly SHM_NAME=ipcrace-oneshot-rate	# not the e2e run's name: both may run at once

case $runs in
'' | *[!0-9]* | 0) echo "N must be a positive integer, got '$runs'" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "oneshot_rate: needs root (BPF, perf breakpoints)" >&2; exit 1; }
[ -x "$ipcrace" ] || { echo "oneshot_rate: no ipcrace at $ipcrace" >&2; exit 1; }
[ -x "$bin" ] || { echo "oneshot_rate: fixture not built: $bin" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipcrace-oneshot.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

learn_opts=()
[ "$learn" -eq 0 ] || learn_opts=(--learn "$tmp/learnt")

found=0
for ((run = 1; run <= runs; run++)); do
	"$ipcrace" check --format json --output "$tmp/report.json" "${learn_opts[@]}" \
		-- "$bin" "$SHM_NAME" </dev/null >"$tmp/log" 2>&1
	rc=$?
	case $rc in
	0 | 66) ;;
	*)
		echo "oneshot_rate: run $run: ipcrace exited $rc: $(tail -n 1 "$tmp/log")" >&2
		exit 1 ;;
	esac
	if grep -q '^ipcrace-fixture-error' "$tmp/log"; then
		echo "oneshot_rate: run $run: $(grep -m 1 '^ipcrace-fixture-error' "$tmp/log")" >&2
		exit 1
	fi
	if python3 "$checker" --source "$src" --report "$tmp/report.json" \
		--exit-code "$rc" >"$tmp/check" 2>&1; then
		found=$((found + 1))
		verdict=found
	else
		verdict="missed ($(head -n 1 "$tmp/check"))"
	fi
	[ "$verbose" -eq 0 ] || echo "run $run: $verdict"
done
if [ "$learn" -eq 1 ]; then
	echo "found $found of $runs (learning)"
else
	echo "found $found of $runs"
fi
