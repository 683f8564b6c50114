// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The per-file memo: kept by device, inode, size and mtime; an empty value is a value. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "tracer/file_memo.h"

static struct stat file_stat(dev_t dev, ino_t ino, off_t size, time_t mtime)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_dev = dev;
	st.st_ino = ino;
	st.st_size = size;
	st.st_mtim.tv_sec = mtime;
	return st;
}

static void test_file_memo_finds_what_was_kept(void **state)
{
	struct file_memo *m = file_memo__new();
	struct stat libc = file_stat(8, 100, 2000000, 1), other = file_stat(8, 101, 5000, 1);
	const int plan[3] = { 7, 8, 9 };
	const int *got;
	size_t len;
	int nr;

	(void)state;
	assert_non_null(m);
	assert_null(file_memo__find(m, &libc, &len, &nr));
	assert_int_equal(file_memo__add(m, &libc, plan, sizeof(plan), 2), 0);
	got = file_memo__find(m, &libc, &len, &nr);
	assert_non_null(got);
	assert_int_equal(len, sizeof(plan));
	assert_int_equal(nr, 2);
	assert_memory_equal(got, plan, sizeof(plan));
	/* a copy: the caller's buffer may go */
	assert_ptr_not_equal(got, plan);
	assert_null(file_memo__find(m, &other, &len, &nr));
	assert_int_equal(file_memo__nr(m), 1);
	file_memo__free(m);
}

static void test_file_memo_empty_value_is_found(void **state)
{
	struct file_memo *m = file_memo__new();
	struct stat lib = file_stat(8, 200, 4096, 1);
	size_t len = 1;
	int nr = 1;

	(void)state;
	assert_int_equal(file_memo__add(m, &lib, NULL, 0, 0), 0);
	assert_non_null(file_memo__find(m, &lib, &len, &nr));
	assert_int_equal(len, 0);
	assert_int_equal(nr, 0);
	file_memo__free(m);
}

static void test_file_memo_rewritten_file_is_not_found(void **state)
{
	struct file_memo *m = file_memo__new();
	struct stat before = file_stat(8, 300, 4096, 1), resized = file_stat(8, 300, 8192, 1),
		    touched = file_stat(8, 300, 4096, 2), other_dev = file_stat(9, 300, 4096, 1);
	const char a[] = "plan a", b[] = "plan b!";
	const char *got;
	size_t len;
	int nr;

	(void)state;
	assert_int_equal(file_memo__add(m, &before, a, sizeof(a), 1), 0);
	assert_null(file_memo__find(m, &resized, &len, &nr));
	assert_null(file_memo__find(m, &touched, &len, &nr));
	assert_null(file_memo__find(m, &other_dev, &len, &nr));
	/* worked out again: the new plan replaces the old, no second entry */
	assert_int_equal(file_memo__add(m, &touched, b, sizeof(b), 3), 0);
	assert_int_equal(file_memo__nr(m), 1);
	assert_null(file_memo__find(m, &before, &len, &nr));
	got = file_memo__find(m, &touched, &len, &nr);
	assert_non_null(got);
	assert_string_equal(got, b);
	assert_int_equal(nr, 3);
	file_memo__free(m);
}

static void test_file_memo_without_memo_keeps_nothing(void **state)
{
	struct stat lib = file_stat(8, 400, 1, 1);
	size_t len;
	int nr;

	(void)state;
	assert_int_equal(file_memo__add(NULL, &lib, "x", 1, 1), -EINVAL);
	assert_null(file_memo__find(NULL, &lib, &len, &nr));
	assert_int_equal(file_memo__nr(NULL), 0);
	file_memo__free(NULL);
}

static void test_file_memo_grows_past_its_first_block(void **state)
{
	struct file_memo *m = file_memo__new();
	size_t len;
	int nr;

	(void)state;
	for (int i = 0; i < 100; i++) {
		struct stat st = file_stat(8, 1000 + i, i, 1);

		assert_int_equal(file_memo__add(m, &st, &i, sizeof(i), i), 0);
	}
	for (int i = 0; i < 100; i++) {
		struct stat st = file_stat(8, 1000 + i, i, 1);
		const int *got = file_memo__find(m, &st, &len, &nr);

		assert_non_null(got);
		assert_int_equal(*got, i);
		assert_int_equal(nr, i);
	}
	assert_int_equal(file_memo__nr(m), 100);
	file_memo__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_memo_finds_what_was_kept),
		cmocka_unit_test(test_file_memo_empty_value_is_found),
		cmocka_unit_test(test_file_memo_rewritten_file_is_not_found),
		cmocka_unit_test(test_file_memo_without_memo_keeps_nothing),
		cmocka_unit_test(test_file_memo_grows_past_its_first_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
