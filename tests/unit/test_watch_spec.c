// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Watch specs and the --learn file: what one run writes the next reads
 * back unchanged; a file that is not a list of specs is refused with the
 * line that is wrong; the file is replaced whole, mode 0600.
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
#include <sys/stat.h>
#include <unistd.h>

#include "tracer/watch_spec.h"

struct dir {
	char path[64];
	char file[96];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/ipcrace-spec-XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	snprintf(d->file, sizeof(d->file), "%s/learnt", d->path);
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd))
		return -1;
	free(d);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_learn_file_round_trip_keeps_specs_in_order(void **state)
{
	struct dir *d = *state;
	const char *specs[] = { "/dev/shm/q+0x40:8", "counter", "table+0x18", "/srv/db+0x0:4" };
	char got[WATCH_SPECS_MAX][WATCH_SPEC_LEN], err[128];
	struct stat st;
	size_t nr;

	assert_int_equal(watch_spec__write_file(d->file, specs, 4), 0);
	assert_int_equal(stat(d->file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(watch_spec__read_file(d->file, got, WATCH_SPECS_MAX, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 4);
	for (size_t i = 0; i < nr; i++)
		assert_string_equal(got[i], specs[i]);
}

static void test_rewrite_replaces_the_whole_file_and_leaves_no_temporary(void **state)
{
	struct dir *d = *state;
	const char *first[] = { "/dev/shm/a+0x0:8", "/dev/shm/b+0x8:8", "/dev/shm/c+0x10:8" };
	const char *second[] = { "/dev/shm/z+0x20:8" };
	char got[WATCH_SPECS_MAX][WATCH_SPEC_LEN], err[128], cmd[160];
	size_t nr;

	assert_int_equal(watch_spec__write_file(d->file, first, 3), 0);
	assert_int_equal(watch_spec__write_file(d->file, second, 1), 0);
	assert_int_equal(watch_spec__read_file(d->file, got, WATCH_SPECS_MAX, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 1);
	assert_string_equal(got[0], "/dev/shm/z+0x20:8");
	/* only the file itself in the directory */
	snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s')\" = learnt", d->path);
	assert_int_equal(system(cmd), 0);
}

static void test_garbled_line_is_rejected_with_its_number(void **state)
{
	struct dir *d = *state;
	char got[WATCH_SPECS_MAX][WATCH_SPEC_LEN], err[128];
	size_t nr;

	write_text(d->file, "# header\n\n/dev/shm/q+0x40:8\n/dev/shm/q+0x41:8\n");
	assert_int_equal(watch_spec__read_file(d->file, got, WATCH_SPECS_MAX, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "line 4"));
	assert_non_null(strstr(err, "/dev/shm/q+0x41:8"));
	assert_null(strchr(err, '\n'));
}

static void test_control_bytes_in_a_garbled_line_are_escaped(void **state)
{
	struct dir *d = *state;
	char got[WATCH_SPECS_MAX][WATCH_SPEC_LEN], err[128];
	size_t nr;

	write_text(d->file, "\x1b[2Jcounter\n");
	assert_int_equal(watch_spec__read_file(d->file, got, WATCH_SPECS_MAX, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_null(strchr(err, '\x1b'));
	assert_non_null(strstr(err, "\\x1b"));
	assert_non_null(strstr(err, "line 1"));
}

static void test_comments_blanks_and_spaces_are_skipped(void **state)
{
	struct dir *d = *state;
	char got[WATCH_SPECS_MAX][WATCH_SPEC_LEN], err[128];
	size_t nr;

	write_text(d->file, "# learnt\n   \n  counter  \n\t# indented comment\n/dev/shm/q+8:8\r\n");
	assert_int_equal(watch_spec__read_file(d->file, got, WATCH_SPECS_MAX, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(got[0], "counter");
	assert_string_equal(got[1], "/dev/shm/q+8:8");
}

static void test_specs_past_max_are_checked_but_not_kept(void **state)
{
	struct dir *d = *state;
	char got[2][WATCH_SPEC_LEN], err[128];
	size_t nr;

	write_text(d->file, "a\nb\nc\n");
	assert_int_equal(watch_spec__read_file(d->file, got, 2, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(got[1], "b");
	write_text(d->file, "a\nb\nc:\n");
	assert_int_equal(watch_spec__read_file(d->file, got, 2, &nr, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 3"));
}

static void test_missing_file_is_enoent_and_directory_is_an_error(void **state)
{
	struct dir *d = *state;
	char got[WATCH_SPECS_MAX][WATCH_SPEC_LEN], err[128];
	size_t nr = 9;

	assert_int_equal(watch_spec__read_file(d->file, got, WATCH_SPECS_MAX, &nr, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(nr, 0);
	assert_int_not_equal(watch_spec__read_file(d->path, got, WATCH_SPECS_MAX, &nr, err,
						   sizeof(err)), 0);
}

static void test_write_refuses_a_spec_that_cannot_be_read_back(void **state)
{
	struct dir *d = *state;
	const char *newline[] = { "/dev/shm/a\nb+0x0:8" };
	const char *bad[] = { "/dev/shm/a+0x3:8" };

	assert_int_equal(watch_spec__write_file(d->file, newline, 1), -EINVAL);
	assert_int_equal(watch_spec__write_file(d->file, bad, 1), -EINVAL);
	assert_int_equal(access(d->file, F_OK), -1);
}

static void test_symbol_spec_takes_an_offset(void **state)
{
	char name[64];
	bool is_symbol;
	__u64 off;
	__u32 len;

	(void)state;
	assert_int_equal(watch_spec__parse("table+0x18", name, sizeof(name), &off, &len, &is_symbol),
			 0);
	assert_true(is_symbol);
	assert_string_equal(name, "table");
	assert_int_equal(off, 0x18);
	assert_int_equal(len, 8);
	assert_int_equal(watch_spec__parse("counter", name, sizeof(name), &off, &len, &is_symbol), 0);
	assert_int_equal(off, 0);
	assert_false(watch_spec__valid("table+"));
	assert_false(watch_spec__valid("table+x"));
	assert_false(watch_spec__valid("two words"));
	assert_false(watch_spec__valid("a:b"));
	assert_false(watch_spec__valid("/dev/shm/q+-8:8"));
	assert_true(watch_spec__valid("/dev/shm/a:b+0x0:8"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_learn_file_round_trip_keeps_specs_in_order,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_replaces_the_whole_file_and_leaves_no_temporary,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_garbled_line_is_rejected_with_its_number,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_control_bytes_in_a_garbled_line_are_escaped,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_comments_blanks_and_spaces_are_skipped,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_specs_past_max_are_checked_but_not_kept,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_is_enoent_and_directory_is_an_error,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_write_refuses_a_spec_that_cannot_be_read_back,
						dir_setup, dir_teardown),
		cmocka_unit_test(test_symbol_spec_takes_an_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
