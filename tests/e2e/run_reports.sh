#!/usr/bin/env bash
# Reports end to end, on real traces:
# - suppressions: a file that silences one of two findings (the summary
#   counts it, names the rule that matched nothing, the exit status follows
#   the finding left); the lines --print-suppressions prints silence every
#   report (exit: the target's own 0); a malformed line is exit 2 naming the
#   file and line, before the target runs;
# - one report per bug: a race over the 16 words of one struct, same pair of
#   code locations, is one data-race report saying 16 words;
# - SUMMARY names the program's own function for a program built without
#   debug information, in text, JSON and SARIF (not libc's frames, which have
#   line information where libc6-dbg is installed), and still does with no
#   debug file for libc either (IPCRACE_DEBUG_DIR pointing at an empty one);
# - attaching (-p) to a service whose threads hold locks at that moment gives
#   no unlock-not-held (their first unlock is of a lock taken before).
# Usage: run_reports.sh IPCRACE_BIN FIXTURE_BUILD_DIR TWO_BUGS RACE_MEMCPY_NODEBUG SERVICE_HOLDERS
set -uo pipefail
ipcrace=$1
fixtures=$2
two_bugs=$3
race_nodebug=$4
holders=$5
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL reports: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP reports: needs root"; exit 77
fi
tmp=$(mktemp -d)
svc=
trap 'rm -rf "$tmp"; [ -n "$svc" ] && kill "$svc" 2>/dev/null' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# --- suppressions ------------------------------------------------------------
if ! timeout 60 "$ipcrace" record -o "$tmp/two.trace" -- "$two_bugs" 2>"$tmp/err"; then
	fail record_two_bugs "$(tail -2 "$tmp/err")"
fi
cat >"$tmp/one.supp" <<'EOF'
# accepted: the queue is drained at shutdown
unlock_not_held:release_unowned

race:no_such_function
EOF
"$ipcrace" analyze --suppressions "$tmp/one.supp" "$tmp/two.trace" >"$tmp/one.txt" 2>"$tmp/err"
status=$?
"$ipcrace" analyze --format json --suppressions "$tmp/one.supp" "$tmp/two.trace" >"$tmp/one.json" 2>>"$tmp/err"
if [ "$status" -ne 66 ]; then
	fail suppression_silences_one_of_two "exit $status, expected 66: $(tail -2 "$tmp/err")"
elif ! grep -q "^ipcrace: suppressed 1 finding: unlock_not_held:release_unowned (1, $tmp/one.supp:2)" "$tmp/one.txt" ||
     ! grep -q "^ipcrace: suppressions that matched nothing: race:no_such_function ($tmp/one.supp:4)" "$tmp/one.txt" ||
     grep -q "unlock of a lock not held" "$tmp/one.txt" || ! grep -q "WARNING: ipcrace: double lock" "$tmp/one.txt"; then
	fail suppression_silences_one_of_two "text summary: $(grep '^ipcrace:' "$tmp/one.txt")"
elif ! python3 - "$tmp/one.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
kinds = [f["kind"] for f in d["findings"]]
s = d["suppressions"]
rules = {r["rule"]: r["suppressed"] for r in s["rules"]}
ok = (kinds == ["double-lock"] and s["suppressed"] == 1 and d["stats"]["suppressed"] == 1
      and rules == {"unlock_not_held:release_unowned": 1, "race:no_such_function": 0}
      and s["unmatched"] == ["race:no_such_function"])
sys.exit(0 if ok else 1)
PY
then
	fail suppression_silences_one_of_two "json: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([f["kind"] for f in d["findings"]], d.get("suppressions"))' "$tmp/one.json")"
else
	pass suppression_silences_one_of_two
fi

# every report prints its rule; those rules, as a file, silence everything
"$ipcrace" analyze --print-suppressions "$tmp/two.trace" >"$tmp/all.txt" 2>"$tmp/err"
sed -n 's/^  Suppression: //p' "$tmp/all.txt" >"$tmp/all.supp"
if [ "$(wc -l <"$tmp/all.supp")" -ne 2 ] || ! grep -qx "double_lock:relock_config" "$tmp/all.supp" ||
   ! grep -qx "unlock_not_held:release_unowned" "$tmp/all.supp"; then
	fail print_suppressions_names_each_report "got: $(tr '\n' ' ' <"$tmp/all.supp")"
else
	pass print_suppressions_names_each_report
fi
timeout 60 "$ipcrace" check --suppressions "$tmp/all.supp" -- "$two_bugs" >"$tmp/out" 2>"$tmp/check.txt"
status=$?
if [ "$status" -eq 0 ] && grep -q "^ipcrace: suppressed 2 findings" "$tmp/check.txt" &&
   ! grep -q WARNING "$tmp/check.txt"; then
	pass check_with_everything_suppressed_exits_with_target_status
else
	fail check_with_everything_suppressed_exits_with_target_status "exit $status: $(grep '^ipcrace:' "$tmp/check.txt")"
fi

printf 'race:ok\n\nrace:\n' >"$tmp/bad.supp"
timeout 60 "$ipcrace" check --suppressions "$tmp/bad.supp" -- touch "$tmp/ran" >"$tmp/out" 2>"$tmp/err"
status=$?
if [ "$status" -eq 2 ] && [ ! -e "$tmp/ran" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
   grep -q "^ipcrace: suppressions: $tmp/bad.supp:3: empty pattern" "$tmp/err"; then
	pass malformed_suppression_is_exit_2_naming_file_and_line
else
	fail malformed_suppression_is_exit_2_naming_file_and_line "exit $status: $(cat "$tmp/err")"
fi

# --- one report per bug --------------------------------------------------------
timeout 120 "$ipcrace" check -t "$tmp/words.trace" --format json -o "$tmp/words.json" -- \
	"$fixtures/race_struct_words" >/dev/null 2>"$tmp/err"
status=$?
"$ipcrace" analyze "$tmp/words.trace" >"$tmp/words.txt" 2>>"$tmp/err"
if [ "$status" -ne 66 ]; then
	fail race_over_16_words_is_one_report "exit $status: $(tail -2 "$tmp/err")"
elif ! python3 - "$tmp/words.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
races = [f for f in d["findings"] if f["kind"] == "data-race"]
ok = (len(d["findings"]) == 1 and len(races) == 1 and races[0]["nr_objects"] == 16
      and races[0]["occurrences"] == 16 and len(races[0]["objects"]) == 4)
if not ok:
    print([(f["kind"], f.get("occurrences"), f.get("nr_objects")) for f in d["findings"]])
sys.exit(0 if ok else 1)
PY
then
	fail race_over_16_words_is_one_report "json is not one report over 16 words"
elif [ "$(grep -c '^WARNING: ipcrace: data race' "$tmp/words.txt")" -ne 1 ] ||
     ! grep -q "Same code locations: 16 occurrences on 16 words: " "$tmp/words.txt"; then
	fail race_over_16_words_is_one_report "text: $(grep -c WARNING "$tmp/words.txt") reports, $(grep 'Same code' "$tmp/words.txt")"
else
	pass race_over_16_words_is_one_report
fi

# --- SUMMARY in the program's own code -----------------------------------------
if readelf -S "$race_nodebug" | grep -q '\.debug_info'; then
	fail summary_in_own_code_without_debug_info "$race_nodebug has debug information"
fi
base=$(basename "$race_nodebug")
own='(poke_header|publish_block|main)'
timeout 120 "$ipcrace" check -t "$tmp/nodebug.trace" -- "$race_nodebug" >/dev/null 2>"$tmp/nodebug.txt"
status=$?
"$ipcrace" analyze --format json "$tmp/nodebug.trace" >"$tmp/nodebug.json" 2>"$tmp/err"
"$ipcrace" analyze --format sarif "$tmp/nodebug.trace" >"$tmp/nodebug.sarif" 2>>"$tmp/err"
summary=$(grep '^SUMMARY:' "$tmp/nodebug.txt" | head -1)
if [ "$status" -ne 66 ]; then
	fail summary_in_own_code_without_debug_info "exit $status: $(tail -2 "$tmp/nodebug.txt")"
elif ! [[ "$summary" =~ ^SUMMARY:\ ipcrace:\ data\ race\ \($base\+0x[0-9a-f]+\)\ in\ $own$ ]]; then
	fail summary_in_own_code_without_debug_info "text: $summary"
elif ! python3 - "$tmp/nodebug.json" "$tmp/nodebug.sarif" "$base" <<'PY'
import json, re, sys
own = re.compile(r"^(poke_header|publish_block|main)$")
base = sys.argv[3]
d = json.load(open(sys.argv[1]))
fr = d["findings"][0]["summary_frame"]
if not (fr["module"].endswith("/" + base) and own.match(fr["function"] or "") and fr["file"] is None):
    print("json", fr); sys.exit(1)
r = json.load(open(sys.argv[2]))["runs"][0]["results"][0]
loc = r["locations"][0]
uri = loc["physicalLocation"]["artifactLocation"]["uri"]
names = [l["name"] for l in loc.get("logicalLocations", []) if l["kind"] == "function"]
if not (uri.endswith("/" + base) and names and own.match(names[0])
        and "relativeAddress" in loc["physicalLocation"]["address"]):
    print("sarif", uri, names); sys.exit(1)
PY
then
	fail summary_in_own_code_without_debug_info "json or sarif location not in $base"
else
	pass summary_in_own_code_without_debug_info
fi

# the same without any debug file for libc either (Debian without libc6-dbg)
mkdir "$tmp/no-debug-files"
IPCRACE_DEBUG_DIR="$tmp/no-debug-files" "$ipcrace" analyze "$tmp/nodebug.trace" >"$tmp/bare.txt" 2>"$tmp/err"
summary=$(grep '^SUMMARY:' "$tmp/bare.txt" | head -1)
if grep -E '^    #[0-9]+ .* [^ ]+\.[chS]:[0-9]+ \(libc\.so' "$tmp/bare.txt" >"$tmp/libc-lines"; then
	fail summary_in_own_code_without_libc_debug_info "libc frames still have lines: $(head -1 "$tmp/libc-lines")"
elif ! [[ "$summary" =~ ^SUMMARY:\ ipcrace:\ data\ race\ \($base\+0x[0-9a-f]+\)\ in\ $own$ ]]; then
	fail summary_in_own_code_without_libc_debug_info "text: $summary"
else
	pass summary_in_own_code_without_libc_debug_info
fi

# --- attach: locks held at the moment of the attach ----------------------------
"$holders" 4 >"$tmp/holders.out" &
svc=$!
for _ in $(seq 50); do grep -q ready "$tmp/holders.out" && break; sleep 0.1; done
sleep 0.3
timeout 60 "$ipcrace" check -p "$svc" --duration 1.5 --format json -o "$tmp/attach.json" 2>"$tmp/err"
status=$?
if [ "$status" -ne 0 ]; then
	fail attach_no_unlock_not_held_for_locks_taken_before "exit $status: $(python3 -c 'import json,sys; print([f["summary"] for f in json.load(open(sys.argv[1]))["findings"]][:3])' "$tmp/attach.json" 2>/dev/null) $(tail -2 "$tmp/err")"
elif ! python3 - "$tmp/attach.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
# the attach saw the service's locks: their unlocks are in the trace
sys.exit(0 if d["stats"]["events"] > 20 and not d["findings"] else 1)
PY
then
	fail attach_no_unlock_not_held_for_locks_taken_before "findings or no events"
else
	pass attach_no_unlock_not_held_for_locks_taken_before
fi
wait "$svc"
svc=

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
