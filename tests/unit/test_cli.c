// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The command line: options anywhere, `--` and the first operand of check
 * and record start CMD whose own options are untouched, options of other
 * subcommands refused by name, every usage error exit 2, IPCRACE_OPTIONS
 * before the command line, and --help generated from the same table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracer/cli.h"

#define MAX_ARGS 16

struct line {
	char *args[MAX_ARGS + 1];
	struct cli cli;
};

/* Parses the NULL-terminated words after the subcommand; the status. */
static int parse(struct line *l, enum cli_command command, const char *env, ...)
{
	va_list ap;
	int nr = 0;
	char *a;

	va_start(ap, env);
	while ((a = va_arg(ap, char *)) && nr < MAX_ARGS)
		l->args[nr++] = a;
	va_end(ap);
	l->args[nr] = NULL;
	return cli__parse(&l->cli, command, env, nr, l->args);
}

static char *help_of(enum cli_command command)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cli__print_help(f, command);
	fclose(f);
	return buf;
}

static void test_analyze_takes_options_after_the_file(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_ANALYZE, NULL, "t.trace", "--format", "json", "-o", "r.json",
			       NULL), 0);
	assert_int_equal(l.cli.format, REPORT_JSON);
	assert_string_equal(l.cli.output, "r.json");
	assert_int_equal(l.cli.nr_operands, 1);
	assert_string_equal(l.cli.operands[0], "t.trace");
	assert_null(l.cli.operands[1]);
	cli__free(&l.cli);
}

static void test_long_option_with_equals_and_short_option_glued(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_ANALYZE, NULL, "--format=sarif", "t", NULL), 0);
	assert_int_equal(l.cli.format, REPORT_SARIF);
	assert_int_equal(parse(&l, CLI_ANALYZE, NULL, "-fperfetto", "t", NULL), 0);
	assert_int_equal(l.cli.format, REPORT_PERFETTO);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "-vf", "json", "--", "prog", NULL), 0);
	assert_true(l.cli.verbose);
	assert_int_equal(l.cli.format, REPORT_JSON);
}

static void test_double_dash_leaves_the_targets_options_untouched(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--exitcode", "3", "--", "make", "-j4", "--format",
			       "x", "--", NULL), 0);
	assert_int_equal(l.cli.exitcode, 3);
	assert_int_equal(l.cli.format, REPORT_TEXT);
	assert_int_equal(l.cli.nr_operands, 5);
	assert_string_equal(l.cli.operands[0], "make");
	assert_string_equal(l.cli.operands[2], "--format");
	assert_string_equal(l.cli.operands[4], "--");
	assert_null(l.cli.operands[5]);
}

static void test_first_operand_starts_the_command_without_double_dash(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_RECORD, NULL, "-o", "t", "./prog", "-o", "mine", "-v", NULL), 0);
	assert_string_equal(l.cli.output, "t");
	assert_false(l.cli.verbose);
	assert_int_equal(l.cli.nr_operands, 4);
	assert_string_equal(l.cli.operands[0], "./prog");
	assert_string_equal(l.cli.operands[2], "mine");
}

static void test_option_of_another_command_is_refused(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_RECORD, NULL, "--exitcode", "3", "--", "true", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_ANALYZE, NULL, "t", "--pid", "1", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_DUMP, NULL, "t", "-f", "json", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_ANALYZE, NULL, "t", "--trace", "x", NULL), CLI_EXIT_USAGE);
}

static void test_watch_rate(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "-p", "12", NULL), 0);
	assert_false(l.cli.watch.trap_rate_set);	/* the session picks the default */
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--watch-rate", "0", "-p", "12", NULL), 0);
	assert_true(l.cli.watch.trap_rate_set);
	assert_int_equal(l.cli.watch.trap_rate, 0);
	assert_int_equal(parse(&l, CLI_RECORD, "watch-rate=250", "--", "true", NULL), 0);
	assert_int_equal(l.cli.watch.trap_rate, 250);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--watch-rate", "-1", "-p", "12", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--watch-rate", "1000001", "-p", "12", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--watch-rate", "4x", "-p", "12", NULL),
			 CLI_EXIT_USAGE);
}

static void test_overhead(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "-p", "12", NULL), 0);
	assert_int_equal(l.cli.watch.overhead_pct, 0);	/* none by default */
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--overhead", "5", "-p", "12", NULL), 0);
	assert_int_equal(l.cli.watch.overhead_pct, 5);
	assert_int_equal(parse(&l, CLI_RECORD, "overhead=100", "--", "true", NULL), 0);
	assert_int_equal(l.cli.watch.overhead_pct, 100);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--overhead", "0", "-p", "12", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--overhead", "101", "-p", "12", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--overhead", "2.5", "-p", "12", NULL),
			 CLI_EXIT_USAGE);
}

static void test_usage_errors_are_exit_2(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--frobnicate", "--", "true", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "-x", "--", "true", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--format", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--no-watch=1", "--", "true", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--exitcode", "256", "--", "true", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--exitcode", "", "--", "true", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--duration", "0", "--", "true", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--buffer-size", "3", "--", "true", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "-p", "12,x", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "-p", "12", "--", "true", NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_ANALYZE, NULL, NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_ANALYZE, NULL, "a", "b", NULL), CLI_EXIT_USAGE);
}

static void test_bad_watch_spec_is_a_usage_error(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--watch", "/dev/shm/q+0x3:8", "--", "true", NULL),
			 CLI_EXIT_USAGE);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--watch", "/dev/shm/q+0x40:8", "--watch",
			       "counter", "--", "true", NULL), 0);
	assert_int_equal(l.cli.watch.nr_specs, 2);
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--watch", "a", "--watch", "b", "--watch", "c",
			       "--watch", "d", "--watch", "e", "--", "true", NULL), CLI_EXIT_USAGE);
}

static void test_stdin_dash_is_an_operand(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_ANALYZE, NULL, "-", "--format", "json", NULL), 0);
	assert_string_equal(l.cli.operands[0], "-");
	assert_int_equal(parse(&l, CLI_DUMP, NULL, "--", "-weird-name", NULL), 0);
	assert_string_equal(l.cli.operands[0], "-weird-name");
}

static void test_help_stops_parsing(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_CHECK, NULL, "--help", NULL), 0);
	assert_true(l.cli.help);
	assert_int_equal(parse(&l, CLI_ANALYZE, NULL, "-h", "--frobnicate", NULL), 0);
	assert_true(l.cli.help);
}

static void test_env_applies_before_the_command_line(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_CHECK, "exitcode=3 verbose=1  format=json", "--", "true", NULL),
			 0);
	assert_int_equal(l.cli.exitcode, 3);
	assert_true(l.cli.verbose);
	assert_int_equal(l.cli.format, REPORT_JSON);
	cli__free(&l.cli);
	assert_int_equal(parse(&l, CLI_CHECK, "exitcode=3 buffer_size=64", "--exitcode", "5", "--",
			       "true", NULL), 0);
	assert_int_equal(l.cli.exitcode, 5);
	assert_int_equal(l.cli.buffer_bytes, 64 * 1024);
	cli__free(&l.cli);
}

static void test_env_lists_add_up_with_the_command_line(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_RECORD, "watch=/dev/shm/a+0x0:8", "--watch", "/dev/shm/b+0x8:8",
			       "--", "true", NULL), 0);
	assert_int_equal(l.cli.watch.nr_specs, 2);
	assert_string_equal(l.cli.watch.specs[0], "/dev/shm/a+0x0:8");
	assert_string_equal(l.cli.watch.specs[1], "/dev/shm/b+0x8:8");
	cli__free(&l.cli);
}

static void test_env_skips_options_of_other_commands(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_ANALYZE, "exitcode=3 seed=7", "t", NULL), 0);
	assert_int_equal(l.cli.exitcode, CLI_EXITCODE_DEFAULT);
	assert_false(l.cli.watch.seed_set);
	cli__free(&l.cli);
	assert_int_equal(parse(&l, CLI_CHECK, "verbose=0", "--", "true", NULL), 0);
	assert_false(l.cli.verbose);
	cli__free(&l.cli);
}

static void test_env_errors_are_usage_errors(void **state)
{
	struct line l;

	(void)state;
	assert_int_equal(parse(&l, CLI_CHECK, "frobnicate=1", "--", "true", NULL), CLI_EXIT_USAGE);
	cli__free(&l.cli);
	assert_int_equal(parse(&l, CLI_CHECK, "verbose", "--", "true", NULL), CLI_EXIT_USAGE);
	cli__free(&l.cli);
	assert_int_equal(parse(&l, CLI_CHECK, "verbose=2", "--", "true", NULL), CLI_EXIT_USAGE);
	cli__free(&l.cli);
	assert_int_equal(parse(&l, CLI_CHECK, "pid=1", "--", "true", NULL), CLI_EXIT_USAGE);
	cli__free(&l.cli);
	assert_int_equal(parse(&l, CLI_CHECK, "exitcode=x", "--", "true", NULL), CLI_EXIT_USAGE);
	cli__free(&l.cli);
	/* a key that exists but for other commands only is still no error */
	assert_int_equal(parse(&l, CLI_DUMP, "trace=x", "t", NULL), 0);
	cli__free(&l.cli);
}

static void test_help_lists_only_the_commands_options(void **state)
{
	char *check = help_of(CLI_CHECK), *record = help_of(CLI_RECORD);
	char *analyze = help_of(CLI_ANALYZE), *dump = help_of(CLI_DUMP);

	(void)state;
	assert_non_null(strstr(check, "usage: ipcrace check"));
	assert_non_null(strstr(check, "\n      --exitcode N "));
	assert_non_null(strstr(check, "--watch SPEC"));
	assert_null(strstr(record, "\n      --exitcode"));
	assert_non_null(strstr(record, "the trace file to write"));
	assert_null(strstr(record, "--trace FILE"));
	assert_non_null(strstr(analyze, "-f, --format"));
	assert_null(strstr(analyze, "--watch"));
	assert_null(strstr(dump, "--format"));
	assert_non_null(strstr(dump, "--help"));
	for (const char *p = check; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		assert_true(n <= 80);
		p += n + (nl != NULL);
	}
	free(check);
	free(record);
	free(analyze);
	free(dump);
}

static void test_markdown_has_a_row_per_option(void **state)
{
	char *buf = NULL;
	size_t len = 0, rows = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	cli__print_markdown(f);
	fclose(f);
	for (const char *p = buf; (p = strstr(p, "\n| `")); p++)
		rows++;
	assert_true(rows >= 18);
	assert_non_null(strstr(buf, "| `--exitcode N` | check |"));
	assert_non_null(strstr(buf, "text\\|json"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_analyze_takes_options_after_the_file),
		cmocka_unit_test(test_long_option_with_equals_and_short_option_glued),
		cmocka_unit_test(test_double_dash_leaves_the_targets_options_untouched),
		cmocka_unit_test(test_first_operand_starts_the_command_without_double_dash),
		cmocka_unit_test(test_option_of_another_command_is_refused),
		cmocka_unit_test(test_usage_errors_are_exit_2),
		cmocka_unit_test(test_bad_watch_spec_is_a_usage_error),
		cmocka_unit_test(test_stdin_dash_is_an_operand),
		cmocka_unit_test(test_help_stops_parsing),
		cmocka_unit_test(test_env_applies_before_the_command_line),
		cmocka_unit_test(test_env_lists_add_up_with_the_command_line),
		cmocka_unit_test(test_env_skips_options_of_other_commands),
		cmocka_unit_test(test_env_errors_are_usage_errors),
		cmocka_unit_test(test_help_lists_only_the_commands_options),
		cmocka_unit_test(test_markdown_has_a_row_per_option),
		cmocka_unit_test(test_watch_rate),
		cmocka_unit_test(test_overhead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
