// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reports/suppress: TSan's pattern match, the file parser (kinds, comments,
 * errors naming file and line) and which findings a rule silences.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/suppress.h"

static void test_pattern_unanchored_matches_anywhere(void **state)
{
	(void)state;
	assert_true(suppress__pattern_match("bump", "bump"));
	assert_true(suppress__pattern_match("bump", "do_bump_counter"));
	assert_false(suppress__pattern_match("bump", "bum"));
	assert_false(suppress__pattern_match("bump", ""));
	assert_false(suppress__pattern_match("bump", NULL));
}

static void test_pattern_anchors_and_wildcards(void **state)
{
	(void)state;
	assert_true(suppress__pattern_match("^bump$", "bump"));
	assert_false(suppress__pattern_match("^bump$", "bump2"));
	assert_false(suppress__pattern_match("^bump", "xbump"));
	assert_true(suppress__pattern_match("^bump", "bump_all"));
	assert_true(suppress__pattern_match("bump$", "xbump"));
	assert_false(suppress__pattern_match("bump$", "bumpx"));
	assert_true(suppress__pattern_match("/dev/shm/PostgreSQL.*", "/dev/shm/PostgreSQL.1804289383"));
	assert_true(suppress__pattern_match("^/dev/shm/PostgreSQL.*$", "/dev/shm/PostgreSQL.1"));
	assert_false(suppress__pattern_match("^/dev/shm/PostgreSQL.*$", "/tmp/dev/shm/PostgreSQL.1"));
	assert_true(suppress__pattern_match("a*b*c", "xxaYYbZZcxx"));
	assert_false(suppress__pattern_match("^a*b*c$", "aYYbZZcx"));
	assert_true(suppress__pattern_match("^a*b*c$", "abcbc"));
	assert_true(suppress__pattern_match("*", ""));
	assert_true(suppress__pattern_match("^*$", "anything"));
	assert_true(suppress__pattern_match("lib*.so", "/usr/lib/libfoo.so.1"));
}

static struct suppressions *load(const char *text, int want)
{
	struct suppressions *s = suppressions__new();
	char err[256] = "";

	assert_non_null(s);
	assert_int_equal(suppressions__load_buf(s, "t.supp", text, err, sizeof(err)), want);
	return s;
}

static void test_parser_reads_kinds_comments_blank_lines(void **state)
{
	struct suppressions *s;
	const struct suppress_rule *r;

	(void)state;
	s = load("# accepted races\n"
		 "\n"
		 "   race:bump  \n"
		 "\t# indented comment\n"
		 "deadlock:^lock_a_then_b$\n"
		 "mutex:audit\r\n"
		 "called_from_lib:libfoo.so\n"
		 "double-lock:relock\n"
		 "unlock_not_held:u\n"
		 "lock_held_at_exit:x\n"
		 "data_race:d\n"
		 "lock_order_inversion:l\n"
		 "object:/dev/shm/PostgreSQL.*\n"
		 "race:^stats_bump$     # a comment after the rule\n"
		 "race:a#b\t# '#' inside a pattern stays", 0);
	assert_int_equal(suppressions__nr_rules(s), 12);
	r = suppressions__rule(s, 0);
	assert_int_equal(r->kind, SUPPRESS_RACE);
	assert_string_equal(r->pattern, "bump");
	assert_string_equal(r->text, "race:bump");
	assert_string_equal(r->file, "t.supp");
	assert_int_equal(r->line, 3);
	r = suppressions__rule(s, 2);
	assert_int_equal(r->kind, SUPPRESS_MUTEX);
	assert_string_equal(r->pattern, "audit");
	assert_int_equal(suppressions__rule(s, 4)->kind, SUPPRESS_DOUBLE_LOCK);
	assert_int_equal(suppressions__rule(s, 7)->kind, SUPPRESS_RACE);
	assert_int_equal(suppressions__rule(s, 8)->kind, SUPPRESS_DEADLOCK);
	r = suppressions__rule(s, 9);
	assert_int_equal(r->kind, SUPPRESS_OBJECT);
	assert_int_equal(r->line, 13);
	r = suppressions__rule(s, 10);
	assert_string_equal(r->pattern, "^stats_bump$");
	assert_string_equal(r->text, "race:^stats_bump$");
	assert_string_equal(suppressions__rule(s, 11)->pattern, "a#b");
	assert_null(suppressions__rule(s, 12));
	suppressions__free(s);
}

static void expect_error(const char *text, const char *want)
{
	struct suppressions *s = suppressions__new();
	char err[256] = "";

	assert_int_equal(suppressions__load_buf(s, "bad.supp", text, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	suppressions__free(s);
}

static void test_parser_malformed_line_names_file_and_line(void **state)
{
	(void)state;
	expect_error("race:a\n\nnot a rule\n", "bad.supp:3: expected KIND:PATTERN");
	expect_error("race:\n", "bad.supp:1: empty pattern");
	expect_error("race:   \n", "bad.supp:1: empty pattern");
	expect_error("# ok\nthread:foo\n", "bad.supp:2: unknown kind");
	expect_error(":foo\n", "bad.supp:1: no kind");
}

static void test_load_file_missing_and_present(void **state)
{
	char path[] = "/tmp/ipcrace-supp-XXXXXX", err[256];
	struct suppressions *s = suppressions__new();
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(suppressions__load_file(s, "/nonexistent/x.supp", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.supp: "));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("race:bump\nbogus\n", f);
	fclose(f);
	assert_int_equal(suppressions__load_file(s, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2: "));
	assert_non_null(strstr(err, path));
	unlink(path);
	suppressions__free(s);
}

static const struct suppress_frame race_frames[] = {
	{ "__memmove_avx_unaligned_erms", "memmove-vec-unaligned-erms.S", "/lib/x86_64-linux-gnu/libc.so.6" },
	{ "copy_words", "/src/app/copy.c", "/usr/bin/app" },
	{ "main", "/src/app/main.c", "/usr/bin/app" },
};

static void test_match_race_by_function_file_or_module_in_any_frame(void **state)
{
	struct suppress_subject subj = {
		.kind = FINDING_DATA_RACE, .frames = race_frames, .nr_frames = 3,
	};
	struct suppressions *s;
	const struct suppress_rule *r;

	(void)state;
	s = load("deadlock:copy_words\nrace:^copy_words$\n", 0);
	r = suppressions__match(s, &subj);
	assert_non_null(r);
	assert_int_equal(r->line, 2);
	assert_int_equal(r->hits, 1);
	assert_int_equal(suppressions__rule(s, 0)->hits, 0);
	suppressions__free(s);

	s = load("race:copy.c\n", 0);
	assert_non_null(suppressions__match(s, &subj));
	suppressions__free(s);
	s = load("race:/usr/bin/app\n", 0);
	assert_non_null(suppressions__match(s, &subj));
	suppressions__free(s);
	s = load("race:^copy$\nrace:nowhere\n", 0);
	assert_null(suppressions__match(s, &subj));
	suppressions__free(s);
}

static void test_match_kinds_apply_to_their_findings_only(void **state)
{
	static const struct suppress_frame fr[] = { { "relock", "m.c", "/bin/m" } };
	struct suppress_subject subj = { .frames = fr, .nr_frames = 1 };
	struct suppressions *s;

	(void)state;
	s = load("mutex:relock\n", 0);
	subj.kind = FINDING_DOUBLE_LOCK;
	assert_non_null(suppressions__match(s, &subj));
	subj.kind = FINDING_LOCK_HELD_AT_EXIT;
	assert_non_null(suppressions__match(s, &subj));
	subj.kind = FINDING_DATA_RACE;
	assert_null(suppressions__match(s, &subj));
	subj.kind = FINDING_LOCK_ORDER_INVERSION;
	assert_null(suppressions__match(s, &subj));
	suppressions__free(s);

	s = load("unlock_not_held:relock\n", 0);
	subj.kind = FINDING_DOUBLE_LOCK;
	assert_null(suppressions__match(s, &subj));
	subj.kind = FINDING_UNLOCK_NOT_HELD;
	assert_non_null(suppressions__match(s, &subj));
	suppressions__free(s);
}

static void test_match_called_from_lib_looks_at_modules_only(void **state)
{
	struct suppress_subject subj = {
		.kind = FINDING_DATA_RACE, .frames = race_frames, .nr_frames = 3,
	};
	struct suppressions *s;

	(void)state;
	s = load("called_from_lib:copy_words\n", 0);
	assert_null(suppressions__match(s, &subj));
	suppressions__free(s);
	s = load("called_from_lib:libc.so\n", 0);
	assert_non_null(suppressions__match(s, &subj));
	subj.kind = FINDING_LOCK_ORDER_INVERSION;
	assert_non_null(suppressions__match(s, &subj));
	suppressions__free(s);
}

static void test_match_object_patterns_against_object_names(void **state)
{
	static const char *const objects[] = { "/dev/shm/PostgreSQL.1804289383",
					       "mutex in /dev/shm/PostgreSQL.1804289383 +0x80" };
	struct suppress_subject subj = {
		.kind = FINDING_DATA_RACE, .frames = race_frames, .nr_frames = 3,
		.objects = objects, .nr_objects = 2,
	};
	struct suppressions *s;

	(void)state;
	s = load("object:^/dev/shm/PostgreSQL.*\n", 0);
	assert_non_null(suppressions__match(s, &subj));
	subj.kind = FINDING_LOCK_HELD_AT_EXIT;
	assert_non_null(suppressions__match(s, &subj));
	subj.nr_objects = 0;
	assert_null(suppressions__match(s, &subj));
	suppressions__free(s);
	/* object patterns are not matched against frames */
	s = load("object:copy_words\n", 0);
	subj.nr_objects = 2;
	assert_null(suppressions__match(s, &subj));
	suppressions__free(s);
	/* no rules, no set: nothing is silenced */
	assert_null(suppressions__match(NULL, &subj));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_unanchored_matches_anywhere),
		cmocka_unit_test(test_pattern_anchors_and_wildcards),
		cmocka_unit_test(test_parser_reads_kinds_comments_blank_lines),
		cmocka_unit_test(test_parser_malformed_line_names_file_and_line),
		cmocka_unit_test(test_load_file_missing_and_present),
		cmocka_unit_test(test_match_race_by_function_file_or_module_in_any_frame),
		cmocka_unit_test(test_match_kinds_apply_to_their_findings_only),
		cmocka_unit_test(test_match_called_from_lib_looks_at_modules_only),
		cmocka_unit_test(test_match_object_patterns_against_object_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
