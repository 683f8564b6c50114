#!/usr/bin/env bash
# The command line as people type it, end to end: options after the file
# for every subcommand, the target's own options after `--` (or after CMD)
# untouched, options of other subcommands refused, every usage error exit 2
# with an `ipcrace:` line and a hint, --help per subcommand, traces read
# from a pipe, and IPCRACE_OPTIONS.
# Usage: run_cli.sh IPCRACE_BIN FIXTURE_BUILD_DIR
set -uo pipefail
ipcrace=$(realpath "$1")
fixtures=$(realpath "$2")
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL cli: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP cli: needs root"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
# status NAME WANT GOT: compares an exit status
status() {
	if [ "$3" -eq "$2" ]; then pass "$1"; else fail "$1" "exit $3, expected $2: $(head -2 err)"; fi
}
# usage NAME PATTERN -- ARGS: exit 2, "ipcrace: ..." matching PATTERN, a hint line
usage() {
	local name=$1 pattern=$2 got
	shift 3
	"$ipcrace" "$@" >out 2>err
	got=$?
	if [ "$got" -ne 2 ]; then
		fail "$name" "exit $got, expected 2: $(head -2 err)"
	elif ! head -1 err | grep -qE "^ipcrace: .*$pattern"; then
		fail "$name" "first line does not match 'ipcrace: .*$pattern': $(head -1 err)"
	elif [ "$(wc -l <err)" -ne 2 ] || ! sed -n 2p err | grep -q '^hint: ipcrace .*--help\|^hint: ipcrace help'; then
		fail "$name" "no hint line: $(cat err)"
	else
		pass "$name"
	fi
}

"$ipcrace" record -o t.trace -- "$fixtures/lock_abba_threads" >/dev/null 2>err
status record_writes_a_trace 0 $?

# options after the file, in every form
"$ipcrace" analyze t.trace --format json -o r.json 2>err
status analyze_options_after_the_file 66 $?
python3 -c 'import json,sys; json.load(open("r.json"))' 2>/dev/null &&
	pass analyze_option_after_file_takes_effect || fail analyze_option_after_file_takes_effect "r.json is not JSON"
"$ipcrace" analyze --format=sarif t.trace >r.sarif 2>err
status analyze_long_option_with_equals 66 $?
grep -q '"version": "2.1.0"' r.sarif && pass sarif_format_taken || fail sarif_format_taken "not SARIF"
"$ipcrace" dump t.trace --help >out 2>err
status dump_option_after_the_file 0 $?
grep -q "^usage: ipcrace dump" out && pass dump_help_after_file || fail dump_help_after_file "$(head -1 out)"
"$ipcrace" record --seed 5 -o t2.trace --no-watch -- /bin/true 2>err
status record_options_before_double_dash 0 $?
[ -s t2.trace ] && pass record_output_option_taken || fail record_output_option_taken "no t2.trace"

# the target's options are its own
"$ipcrace" check -- sh -c 'printf "%s\n" "$@"' x --format json -v -- >out 2>err
status check_passes_target_options 0 $?
[ "$(tr '\n' ' ' <out)" = "--format json -v -- " ] && pass target_options_untouched_after_double_dash ||
	fail target_options_untouched_after_double_dash "target saw: $(tr '\n' ' ' <out)"
"$ipcrace" check --no-watch sh -c 'printf "%s\n" "$@"' x --exitcode 9 >out 2>err
status first_operand_starts_cmd 0 $?
[ "$(tr '\n' ' ' <out)" = "--exitcode 9 " ] && pass options_after_cmd_are_the_targets ||
	fail options_after_cmd_are_the_targets "target saw: $(tr '\n' ' ' <out)"

# traces from a pipe
cat t.trace | "$ipcrace" analyze - --format json >r2.json 2>err
status analyze_dash_reads_a_pipe 66 $?
cmp -s r.json r2.json && pass pipe_report_equals_file_report || fail pipe_report_equals_file_report "reports differ"
cat t.trace | "$ipcrace" analyze /dev/stdin >/dev/null 2>err
status analyze_dev_stdin_reads_a_pipe 66 $?
cat t.trace | "$ipcrace" dump - >out 2>err
status dump_dash_reads_a_pipe 0 $?
grep -q lock-attempt out && pass dump_from_pipe_lists_events || fail dump_from_pipe_lists_events "no lock-attempt"
head -c 5000 /dev/urandom | "$ipcrace" analyze - 2>err
status garbage_on_stdin_exit_1 1 $?
grep -q "^ipcrace: trace: stdin: " err && pass garbage_on_stdin_names_stdin || fail garbage_on_stdin_names_stdin "$(cat err)"

# usage errors: exit 2, one ipcrace: line and a hint
usage unknown_long_option "unknown option '--frobnicate'" -- check --frobnicate -- /bin/true
usage unknown_short_option "unknown option '-x'" -- analyze t.trace -x
usage option_of_another_command "--exitcode does not apply to record" -- record --exitcode 3 -- /bin/true
usage check_option_refused_by_analyze "--watch does not apply to analyze" -- analyze t.trace --watch x
usage missing_argument "--format needs an argument" -- analyze t.trace --format
usage flag_with_value "--no-watch takes no argument" -- check --no-watch=1 -- /bin/true
usage bad_watch_spec "bad spec" -- check --watch /dev/shm/q+0x3:8 -- /bin/true
usage two_trace_files "one trace file" -- analyze t.trace t2.trace
usage no_trace_file "needs a trace file" -- dump
usage command_and_pid "not both" -- check -p 1 -- /bin/true
usage unknown_command "unknown command" -- frobnicate
usage option_before_command "before the command" -- --format json analyze t.trace
usage bad_exitcode "bad exit code" -- check --exitcode 300 -- /bin/true
usage unknown_help_topic "no command 'frob'" -- help frob

# --help per subcommand, from the same table
for c in check record analyze dump help; do
	"$ipcrace" "$c" --help >"h1.$c" 2>err
	s1=$?
	"$ipcrace" help "$c" >"h2.$c" 2>err
	s2=$?
	if [ "$s1" -eq 0 ] && [ "$s2" -eq 0 ] && cmp -s "h1.$c" "h2.$c" && grep -q "^usage: ipcrace $c" "h1.$c"; then
		pass "help_$c"
	else
		fail "help_$c" "exit $s1/$s2, or '$c --help' differs from 'help $c'"
	fi
done
grep -q -- "--exitcode N" h1.check && ! grep -q -- "^      --exitcode" h1.record &&
	pass help_lists_only_the_commands_options || fail help_lists_only_the_commands_options "exitcode in record's help"
# the whole table first: grep -q stops reading early, and pipefail would see the SIGPIPE
md=$("$ipcrace" help --markdown)
grep -q '^| `--exitcode N` | check |' <<<"$md" && pass help_markdown_table ||
	fail help_markdown_table "no --exitcode row"

# IPCRACE_OPTIONS: before the command line, which wins
IPCRACE_OPTIONS="exitcode=3" "$ipcrace" check -- "$fixtures/lock_abba_threads" >/dev/null 2>err
status env_exitcode 3 $?
IPCRACE_OPTIONS="exitcode=3 format=json" "$ipcrace" check --exitcode 4 -o r3.json -- "$fixtures/lock_abba_threads" >/dev/null 2>err
status command_line_wins_over_env 4 $?
python3 -c 'import json,sys; json.load(open("r3.json"))' 2>/dev/null && pass env_format_taken ||
	fail env_format_taken "r3.json is not JSON"
IPCRACE_OPTIONS="exitcode=3 seed=4" "$ipcrace" analyze t.trace >/dev/null 2>err
status env_skips_options_of_other_commands 66 $?
IPCRACE_OPTIONS="frobnicate=1" "$ipcrace" analyze t.trace >/dev/null 2>err
status env_unknown_key_is_usage 2 $?
grep -q "^ipcrace: IPCRACE_OPTIONS: unknown option 'frobnicate'" err && pass env_error_names_the_variable ||
	fail env_error_names_the_variable "$(head -1 err)"

# suppressions through the table: after the file, and from IPCRACE_OPTIONS
echo 'deadlock:*' >all.supp
"$ipcrace" analyze t.trace --suppressions all.supp >/dev/null 2>err
status suppressions_after_the_file 0 $?
IPCRACE_OPTIONS="suppressions=$tmp/all.supp" "$ipcrace" analyze t.trace >/dev/null 2>err
status env_suppressions 0 $?
usage suppressions_not_for_record "--suppressions does not apply to record" -- record --suppressions all.supp -- /bin/true

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
