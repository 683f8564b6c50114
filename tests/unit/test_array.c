// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "analyzer/array.h"

static void test_reserve_grows_and_keeps_contents(void **state)
{
	int *a = NULL;
	size_t cap = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(array__reserve(&a, &cap, i + 1, sizeof(*a)), 0);
		assert_true(cap >= (size_t)i + 1);
		a[i] = i;
	}
	for (int i = 0; i < 1000; i++)
		assert_int_equal(a[i], i);
	free(a);
}

static void test_reserve_within_capacity_changes_nothing(void **state)
{
	long *a = NULL, *before;
	size_t cap = 0;

	(void)state;
	assert_int_equal(array__reserve(&a, &cap, 3, sizeof(*a)), 0);
	before = a;
	assert_int_equal(array__reserve(&a, &cap, cap, sizeof(*a)), 0);
	assert_ptr_equal(a, before);
	free(a);
}

static void test_reserve_min_starts_at_its_first_capacity(void **state)
{
	int *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(array__reserve_min(&a, &cap, 1, sizeof(*a), 4), 0);
	assert_int_equal(cap, 4);
	assert_int_equal(array__reserve_min(&a, &cap, 5, sizeof(*a), 4), 0);
	assert_int_equal(cap, 8);
	assert_int_equal(array__reserve_min(&a, &cap, 100, sizeof(*a), 4), 0);
	assert_int_equal(cap, 128);
	free(a);
}

static void test_reserve_overflow_is_enomem_and_keeps_array(void **state)
{
	char *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(array__reserve(&a, &cap, 4, 1), 0);
	a[0] = 'x';
	assert_int_equal(array__reserve(&a, &cap, SIZE_MAX / 2 + 2, 8), -ENOMEM);
	assert_true(cap >= 4);
	assert_int_equal(a[0], 'x');
	free(a);
}

static void test_reserve_zero_clears_new_room(void **state)
{
	int *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(array__reserve_zero(&a, &cap, 5, sizeof(*a)), 0);
	for (size_t i = 0; i < cap; i++)
		assert_int_equal(a[i], 0);
	a[0] = 7;
	assert_int_equal(array__reserve_zero(&a, &cap, cap + 1, sizeof(*a)), 0);
	assert_int_equal(a[0], 7);
	for (size_t i = 1; i < cap; i++)
		assert_int_equal(a[i], 0);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve_grows_and_keeps_contents),
		cmocka_unit_test(test_reserve_within_capacity_changes_nothing),
		cmocka_unit_test(test_reserve_min_starts_at_its_first_capacity),
		cmocka_unit_test(test_reserve_overflow_is_enomem_and_keeps_array),
		cmocka_unit_test(test_reserve_zero_clears_new_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
