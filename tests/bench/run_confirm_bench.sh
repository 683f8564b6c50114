#!/usr/bin/env bash
# Confirmation holds (README "Confirmation holds"): what a hold costs and
# how often one confirms, on fixtures/race_unseen_lock_skip (a counter under
# a lock in a library ipcrace does not instrument; the second side skips
# the lock in a hot loop) and fixtures/clean_unseen_lock (both sides take it).
# For each --confirm-hold USEC and --confirm-rate N given, RUNS runs of
# each fixture under `ipcrace check -v`; prints per setting: the holds made
# (mean per run), the share that saw the word change, the mean length of a
# hold (the set length, or shorter when the change ended it), the runs whose
# race was confirmed (racy fixture) or reported at all (clean fixture: must
# be 0), and the target's wall time against --confirm-hold 0, with the
# cost per hold ((T - T0) / holds; noisy on a loaded machine: say so).
# Needs root.
# Usage: tests/bench/run_confirm_bench.sh [BUILD_DIR] [RUNS] [USEC:N ...]
set -uo pipefail
build=${1:-build}
runs=${2:-5}
shift 2 2>/dev/null || shift $#
settings=("$@")
[ ${#settings[@]} -gt 0 ] || settings=(200:20 1000:100 5000:100)
ipcrace=$build/ipcrace
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one run: prints "holds changed avg_us found wall_s"
run_one() {	# fixture, options...
	local fx=$1 start end line holds changed avg found
	shift
	start=$(date +%s.%N)
	"$ipcrace" check -v --format json --output "$tmp/r.json" "$@" -- "$build/fixtures/$fx" \
		>/dev/null 2>"$tmp/err"
	end=$(date +%s.%N)
	line=$(grep 'ipcrace: confirm:' "$tmp/err" || true)
	holds=$(sed -n 's/.* \([0-9]*\) holds of up to.*/\1/p' <<<"$line")
	changed=$(sed -n 's/.*(\([0-9]*\) saw the word change).*/\1/p' <<<"$line")
	avg=$(sed -n 's/.*, \([0-9.]*\) us on average.*/\1/p' <<<"$line")
	found=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(1 for f in r["findings"] if f.get("status") == "confirmed") if sys.argv[2] == "race" else len(r["findings"]))' "$tmp/r.json" "${fx%%_*}" 2>/dev/null || echo "?")
	echo "${holds:-0} ${changed:-0} ${avg:-0} $found $(echo "$end - $start" | bc)"
}

for fx in race_unseen_lock_skip clean_unseen_lock; do
	t0=0
	for i in $(seq "$runs"); do
		t0=$(echo "$t0 + $(run_one "$fx" --confirm-hold 0 | awk '{print $5}')" | bc)
	done
	t0=$(echo "scale=3; $t0 / $runs" | bc)
	echo "$fx: --confirm-hold 0: ${t0} s a run (mean of $runs)"
	for s in "${settings[@]}"; do
		hold=${s%%:*} rate=${s##*:}
		: >"$tmp/rows"
		for i in $(seq "$runs"); do
			run_one "$fx" --confirm-hold "$hold" --confirm-rate "$rate" >>"$tmp/rows"
		done
		awk -v fx="$fx" -v hold="$hold" -v rate="$rate" -v runs="$runs" -v t0="$t0" '
			{ h += $1; c += $2; a += $3 * $1; if ($4 != "?" && $4 > 0) f++; t += $5 }
			END {
				t /= runs
				printf "%s: --confirm-hold %s --confirm-rate %s: %.1f holds a run, %.0f%% saw a change, %.0f us a hold on average, %s %d of %d runs, %.3f s a run (%+.1f us a hold)\n",
					fx, hold, rate, h / runs, h ? 100 * c / h : 0, h ? a / h : 0,
					fx ~ /^race/ ? "confirmed in" : "findings in", f, runs, t,
					h ? (t - t0) * 1e6 / (h / runs) : 0
			}' "$tmp/rows"
	done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
