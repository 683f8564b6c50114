#!/usr/bin/env bash
# The fixed cost of a check: wall time of `ipcrace check -- /bin/true` and
# of native /bin/true, in the same run, ROUNDS times each (interleaved);
# also `record` alone, `analyze` of that trace alone, and the check with
# IPCRACE_NO_SCOPE=1 (no private copies). Prints min and median, then the
# median of each phase `check -v` reports ("ipcrace: time: ..."). Needs root.
# Usage: tests/bench/run_fixed_cost.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
build=${1:-build}
rounds=${2:-10}
ipcrace=$build/ipcrace
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

wall() {	# label, command...: appends "label seconds"
	local label=$1 start end; shift
	start=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	end=$(date +%s%N)
	echo "$label $(( (end - start) / 1000 ))e-6" >>"$tmp/rows"
}

for _ in $(seq "$rounds"); do
	wall native-true /bin/true
	wall check-true "$ipcrace" check -- /bin/true
	wall check-true-host-wide env IPCRACE_NO_SCOPE=1 "$ipcrace" check -- /bin/true
	wall record-true "$ipcrace" record -o "$tmp/t" -- /bin/true
	wall analyze-true "$ipcrace" analyze "$tmp/t"
	"$ipcrace" check -v -- /bin/true 2>&1 | grep "ipcrace: time:" >>"$tmp/phases" || true
done

echo "$rounds rounds; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/rows" "$tmp/phases" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, value = line.split()
    rows.setdefault(label, []).append(float(value))
print("%-24s %10s %10s" % ("wall time", "min s", "median s"))
for label, vals in rows.items():
    print("%-24s %10.3f %10.3f" % (label, min(vals), statistics.median(vals)))
phases = {}
for line in open(sys.argv[2]):
    m = re.match(r"ipcrace: time: (.*?)\s+[0-9.]+ s\s+\(\+([0-9.]+) s\)", line)
    if m:
        phases.setdefault(m.group(1), []).append(float(m.group(2)))
print("%-32s %10s %10s" % ("check -v phase", "min s", "median s"))
for name, vals in phases.items():
    print("%-32s %10.3f %10.3f" % (name, min(vals), statistics.median(vals)))
PY
