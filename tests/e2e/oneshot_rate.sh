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
#   oneshot_rate.sh IPCRACE_BIN FIXTURE_BUILD_DIR FIXTURE_SRC_DIR [N]
#
# Prints one line per run with -v, then "found K of N". Exit 0 when it
# measured (whatever K is), 1 when a run could not trace or the fixture
# failed, 2 usage. Needs root.

set -u

usage() {
	echo "usage: $0 [-v] IPCRACE_BIN FIXTURE_BUILD_DIR FIXTURE_SRC_DIR [N]" >&2
	exit 2
}

verbose=0
if [ "${1:-}" = "-v" ]; then
	verbose=1
	shift
fi
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

found=0
for ((run = 1; run <= runs; run++)); do
	"$ipcrace" check --format json --output "$tmp/report.json" \
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
echo "found $found of $runs"
