#!/usr/bin/env bash
# The trace reader under libFuzzer, briefly: the seed corpus (fuzz_seed),
# then a fixed number of mutated inputs (a count, not a time: the same work
# on a slow machine), with ASan and UBSan. A crash, a leak or a broken
# promise of the reader (tests/fuzz/fuzz_trace.c aborts) fails the test;
# the input that did it is kept and its path printed.
# Usage: tests/fuzz/run_fuzz.sh FUZZ_TRACE FUZZ_SEED [RUNS]
set -euo pipefail
fuzz=$1
seed=$2
runs=${3:-20000}
if [ ! -x "$fuzz" ]; then
	echo "fuzz: $fuzz not built (clang's libFuzzer runtime, libclang-rt-14-dev, missing)" >&2
	[ -n "${CI:-}" ] && exit 1
	exit 77
fi
work=$(mktemp -d /tmp/ipcrace-fuzz.XXXXXX)
keep=
cleanup() { [ -z "$keep" ] && rm -rf "$work"; }
trap cleanup EXIT
mkdir "$work/corpus" "$work/seeds"
"$seed" "$work/seeds"
# every seed must be a trace the reader accepts: else the fuzzer starts from nothing
for f in "$work"/seeds/*.trace; do
	"$fuzz" -runs=1 "$f" >"$work/seed.log" 2>&1 || { cat "$work/seed.log" >&2; keep=1; exit 1; }
done
if ! "$fuzz" -seed=1 -runs="$runs" -max_len=65536 -artifact_prefix="$work/" \
	"$work/corpus" "$work/seeds" >"$work/fuzz.log" 2>&1; then
	tail -40 "$work/fuzz.log" >&2
	keep=1
	echo "fuzz: failure; inputs and log kept in $work" >&2
	exit 1
fi
grep -E "^#[0-9]+ *DONE|cov:" "$work/fuzz.log" | tail -1
