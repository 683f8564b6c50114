#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Recall on ThreadSanitizer's own test programs (issue 7), not part of ctest:
#   tests/suites/run_tsan_suite.sh IPCRACE_BIN SRCDIR [OUTDIR]
# SRCDIR holds the test sources (compiler-rt/test/tsan/*.c, *.cc, *.cpp and
# their helper headers, any test.h there is ignored: tests/suites/tsan/test.h
# stands in for it). They are not in this repository; e.g.
#   git clone --depth 1 --filter=blob:none --sparse https://github.com/llvm/llvm-project
#   git -C llvm-project sparse-checkout set compiler-rt/test/tsan
# Each test is classified by what its FileCheck lines expect:
#   race       "CHECK: ... WARNING: ThreadSanitizer: data race"
#   lockorder  "CHECK: ... WARNING: ThreadSanitizer: lock-order-inversion"
#   clean      "CHECK-NOT: ... ThreadSanitizer" and no positive ThreadSanitizer CHECK
#   other      another expectation (thread leak, use after free...): skipped
# and skipped when it uses TSan's own interfaces (__tsan_*, Annotate*,
# sanitizer/ headers, java.h, custom_mutex.h), needs TSan options that
# change its outcome (suppressions, a blacklist, detect_deadlocks=0...) or a second
# module, or does not compile with gcc -g -O1 -pthread. A test built in
# variants (-DX on other RUN lines) is built once, without them. Each kept
# test runs once under `ipcrace check --format json` (TIMEOUT s, default 60)
# and, when clang -fsanitize=thread works, once under TSan (no deflaking:
# the first run counts). Output: OUTDIR/results.tsv, one line per test, and
# the summary table on stdout. TSAN=0 skips the TSan baseline;
# IPCRACE_SUITE_ONLY="a.cpp b.c" narrows the run; extra ipcrace options go
# in IPCRACE_SUITE_OPTS.
set -u
IPCRACE=$(readlink -f "${1:?usage: run_tsan_suite.sh IPCRACE_BIN SRCDIR [OUTDIR]}")
SRC=$(readlink -f "${2:?usage: run_tsan_suite.sh IPCRACE_BIN SRCDIR [OUTDIR]}")
OUT=${3:-$(mktemp -d /tmp/ipcrace-tsan-suite.XXXXXX)}
TIMEOUT=${TIMEOUT:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
INC=$HERE/tsan
mkdir -p "$OUT/src" "$OUT/bin" "$OUT/run"
OUT=$(readlink -f "$OUT")

# The sources and headers, without TSan's test.h (ours is found first then).
for f in "$SRC"/*.h; do
	[ -e "$f" ] || continue
	[ "$(basename "$f")" = test.h ] || cp "$f" "$OUT/src/"
done

tsan_ok=0
if [ "${TSAN:-1}" != 0 ] && echo 'int main(void){return 0;}' > "$OUT/t.c" &&
   clang -fsanitize=thread "$OUT/t.c" -o "$OUT/t" 2>/dev/null && "$OUT/t"; then
	tsan_ok=1
fi

classify() {	# file -> class or "skip:reason"
	local f=$1
	if grep -qE '__tsan_|Annotate[A-Z]|ANNOTATE_|__sanitizer_|sanitizer/|"java\.h"|"custom_mutex\.h"' "$f"; then
		echo "skip:tsan-interface"; return
	fi
	if grep -qE 'RUN:.*(suppressions=|detect_deadlocks=0|report_destroy_locked|allocator_may_return_null|blacklist|-shared|BUILD_SO|%t-so)' "$f"; then
		echo "skip:tsan-options-or-modules"; return
	fi
	if grep -qE 'CHECK:.*WARNING: ThreadSanitizer: lock-order-inversion' "$f"; then
		echo lockorder; return
	fi
	if grep -qE 'CHECK:.*WARNING: ThreadSanitizer: data race' "$f"; then
		echo race; return
	fi
	if grep -qE 'CHECK:.*ThreadSanitizer' "$f"; then
		echo "skip:other-expectation"; return
	fi
	if grep -qE 'CHECK-NOT:.*ThreadSanitizer' "$f"; then
		echo clean; return
	fi
	echo "skip:no-tsan-expectation"
}

count_kind() {	# json kind -> number of findings of that kind
	python3 - "$1" "$2" <<'PY' 2>/dev/null || echo -1
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print(-1); sys.exit(0)
k = sys.argv[2]
print(sum(1 for f in d.get("findings", []) if (k == "*" or f.get("kind") == k)))
PY
}

printf 'test\tclass\tipcrace_races\tipcrace_lockorder\tipcrace_all\tipcrace_status\ttsan_races\ttsan_lockorder\ttsan_status\tnote\n' > "$OUT/results.tsv"
for f in "$SRC"/*.c "$SRC"/*.cc "$SRC"/*.cpp; do
	[ -e "$f" ] || continue
	name=$(basename "$f")
	if [ -n "${IPCRACE_SUITE_ONLY:-}" ] && ! [[ " $IPCRACE_SUITE_ONLY " == *" $name "* ]]; then
		continue
	fi
	class=$(classify "$f")
	if [[ $class == skip:* ]]; then
		printf '%s\t%s\t\t\t\t\t\t\t\t\n' "$name" "$class" >> "$OUT/results.tsv"
		continue
	fi
	cp "$f" "$OUT/src/$name"
	bin=$OUT/bin/${name//./_}
	case $name in
	*.c) cc=gcc; ccs=clang ;;
	*) cc=g++; ccs=clang++ ;;
	esac
	if ! $cc -g -O1 -pthread -w -I"$INC" "$OUT/src/$name" -o "$bin" -ldl -lm > "$OUT/run/$name.cc.log" 2>&1; then
		printf '%s\tskip:does-not-compile\t\t\t\t\t\t\t\t\n' "$name" >> "$OUT/results.tsv"
		continue
	fi
	rdir=$OUT/run/${name//./_}
	mkdir -p "$rdir"
	# shellcheck disable=SC2086
	(cd "$rdir" && timeout -k 5 "$TIMEOUT" "$IPCRACE" check ${IPCRACE_SUITE_OPTS:-} --format json \
		-o "$rdir/ipcrace.json" -- "$bin" < /dev/null > "$rdir/ipcrace.stdout" 2> "$rdir/ipcrace.stderr")
	st=$?
	ir=$(count_kind "$rdir/ipcrace.json" data-race)
	il=$(count_kind "$rdir/ipcrace.json" lock-order-inversion)
	ia=$(count_kind "$rdir/ipcrace.json" '*')
	tr=""; tl=""; ts=""
	if [ $tsan_ok = 1 ] && $ccs -fsanitize=thread -g -O1 -pthread -w -I"$INC" "$OUT/src/$name" -o "$bin.tsan" -ldl -lm \
		> "$OUT/run/$name.tsan.cc.log" 2>&1; then
		(cd "$rdir" && timeout -k 5 "$TIMEOUT" "$bin.tsan" < /dev/null > "$rdir/tsan.stdout" 2> "$rdir/tsan.stderr")
		ts=$?
		tr=$(grep -c 'WARNING: ThreadSanitizer: data race' "$rdir/tsan.stderr")
		tl=$(grep -c 'WARNING: ThreadSanitizer: lock-order-inversion' "$rdir/tsan.stderr")
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n' "$name" "$class" "$ir" "$il" "$ia" "$st" "$tr" "$tl" "$ts" >> "$OUT/results.tsv"
	echo "$name $class ipcrace: races=$ir lock-order=$il all=$ia status=$st tsan: races=$tr lock-order=$tl status=$ts" >&2
done

python3 "$HERE/tsan_summary.py" "$OUT/results.tsv"
echo "results: $OUT/results.tsv" >&2
