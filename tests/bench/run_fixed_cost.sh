#!/usr/bin/env bash
# The fixed cost of a check: wall time of `ipcrace check -- /bin/true` and
# of native /bin/true, in the same run, ROUNDS times each (interleaved);
# also `record` alone, `analyze` of that trace alone, and the check with
# IPCRACE_NO_SCOPE=1 (no private copies). Prints min and median, then the
# median of each phase `check -v` reports ("ipcrace: time: ..."). Needs root.
#
# Then what every process on the host pays per system call while ipcrace
# runs (its raw syscall tracepoint programs run for every syscall on the
# host): the CPU time of a tight loop of getppid (a syscall ipcrace ignores)
# and of 1-byte reads of /dev/zero (one it looks at) in an UNTRACED
# process, without ipcrace and while `ipcrace record -p` is attached to a
# sleeping process, back to back, SYSCALL_ROUNDS times (default 3); and the
# same loops traced (`record --access-probes off -- LOOP`: the loop's own
# instructions would otherwise trap). Prints min and median ns per call,
# the ratios to native and the difference. Other ipcrace instances attached
# on the host (other users) make "native" dearer: their number is printed,
# and the figures of the rounds with none are printed apart.
# Usage: tests/bench/run_fixed_cost.sh [BUILD_DIR] [ROUNDS] [CALLS]   (ROUNDS 0: the syscalls only)
set -euo pipefail
build=${1:-build}
rounds=${2:-10}
calls=${3:-1000000}
syscall_rounds=${SYSCALL_ROUNDS:-3}
ipcrace=$build/ipcrace
loop=$build/tests/bench/syscall_loop
tmp=$(mktemp -d)
sleeper=
attached=
cleanup() {
	[ -n "$attached" ] && kill -INT "$attached" 2>/dev/null && wait "$attached" 2>/dev/null
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

wall() {	# label, command...: appends "label seconds"
	local label=$1 start end; shift
	start=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	end=$(date +%s%N)
	echo "$label $(( (end - start) / 1000 ))e-6" >>"$tmp/rows"
}

if [ "$rounds" -gt 0 ]; then
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
fi

# --- per-syscall cost, host-wide and traced ------------------------------
percall() {	# label, command...: appends "round label ns"
	local label=$1 out
	shift
	out=$("$@" 2>/dev/null | grep ns_per_call) || { echo "failed: $*" >&2; return; }
	echo "$round $label ${out#ns_per_call=}" >>"$tmp/calls"
}

others() {	# sys_enter programs attached by anyone
	bpftool link list 2>/dev/null | grep -c "tp 'sys_enter'" || true
}

[ -x "$loop" ] || { echo "no $loop: build first" >&2; exit 1; }
for round in $(seq "$syscall_rounds"); do
	before=$(others)
	for m in getppid read; do
		percall "$m native" "$loop" "$m" "$calls"
	done
	sleep 1000 &
	sleeper=$!
	"$ipcrace" record -v -p "$sleeper" -o "$tmp/a" >"$tmp/attach.log" 2>&1 &
	attached=$!
	for _ in $(seq 100); do
		grep -q "time: set up the watcher" "$tmp/attach.log" && break
		sleep 0.1
	done
	for m in getppid read; do
		percall "$m attached" "$loop" "$m" "$calls"
	done
	kill -INT "$attached"
	wait "$attached" || true
	attached=
	kill "$sleeper"
	wait "$sleeper" 2>/dev/null || true
	sleeper=
	for m in getppid read; do
		percall "$m traced" "$ipcrace" record --access-probes off -o "$tmp/t" -- \
			"$loop" "$m" "$calls"
	done
	echo "$round $before $(others)" >>"$tmp/others"
done

echo
echo "ns per syscall (CPU of the loop), $calls calls, $syscall_rounds rounds;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); sys_enter programs of other" \
     "ipcrace instances at each round's start/end: $(awk '{printf "%s/%s ", $2, $3}' "$tmp/others")"
python3 - "$tmp/calls" "$tmp/others" <<'PY'
import statistics, sys
clean = {int(r) for r, a, b in (l.split() for l in open(sys.argv[2])) if a == "0" and b == "0"}
def table(title, keep):
    rows = {}
    for line in open(sys.argv[1]):
        rnd, call, mode, value = line.split()
        if keep(int(rnd)):
            rows.setdefault((call, mode), []).append(float(value))
    if not rows:
        return
    print(title)
    print(f"{'call':8} {'mode':9} {'min ns':>8} {'median ns':>10} {'min/min':>8} {'med/med':>8} {'+ns med':>8}")
    for call in ("getppid", "read"):
        base = rows.get((call, "native"))
        if not base:
            continue
        for mode in ("native", "attached", "traced"):
            v = rows.get((call, mode))
            if not v:
                continue
            print(f"{call:8} {mode:9} {min(v):8.1f} {statistics.median(v):10.1f} "
                  f"{min(v) / min(base):8.2f} {statistics.median(v) / statistics.median(base):8.2f} "
                  f"{statistics.median(v) - statistics.median(base):8.1f}")
table("all rounds:", lambda r: True)
table(f"the {len(clean)} rounds with no other ipcrace attached:", lambda r: r in clean)
PY
