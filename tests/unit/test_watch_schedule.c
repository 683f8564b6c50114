// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watch rotation schedule is a pure function of the seed and the
 * candidate list: a run can be repeated with --seed, and another seed
 * explores another order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "tracer/candidates.h"

#define NR_WORDS 32
#define NR_PICKS 40

static struct candidates *make_candidates(void)
{
	struct candidates *cs = candidates__new();

	assert_non_null(cs);
	for (int i = 0; i < NR_WORDS; i++) {
		struct ipcrace_key k = { .space = KEY_FILE, .a = 1, .b = 77, .c = i * 8 };

		/* word i changed i+1 times */
		for (int n = 0; n <= i; n++)
			assert_int_equal(candidates__bump(cs, &k, 8), 0);
	}
	return cs;
}

static void schedule(__u64 seed, int *out)
{
	struct candidates *cs = make_candidates();
	struct watch_rng r;

	watch_rng__seed(&r, seed);
	for (int i = 0; i < NR_PICKS; i++) {
		out[i] = candidates__pick(cs, &r, NULL, 0);
		assert_true(out[i] >= 0 && out[i] < NR_WORDS);
	}
	candidates__free(cs);
}

static void test_same_seed_gives_same_schedule(void **state)
{
	int a[NR_PICKS], b[NR_PICKS];

	(void)state;
	schedule(42, a);
	schedule(42, b);
	assert_memory_equal(a, b, sizeof(a));
}

static void test_other_seed_gives_other_schedule(void **state)
{
	int a[NR_PICKS], b[NR_PICKS];

	(void)state;
	schedule(42, a);
	schedule(43, b);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_pick_skips_busy_words(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k0 = { .space = KEY_FILE, .a = 1, .b = 2, .c = 0 };
	struct ipcrace_key k1 = { .space = KEY_FILE, .a = 1, .b = 2, .c = 8 };
	struct watch_rng r;

	(void)state;
	candidates__bump(cs, &k0, 8);
	candidates__bump(cs, &k1, 8);
	watch_rng__seed(&r, 7);
	for (int i = 0; i < 20; i++)
		assert_int_equal(candidates__pick(cs, &r, &k0, 1), 1);
	{
		struct ipcrace_key busy[2] = { k0, k1 };

		assert_int_equal(candidates__pick(cs, &r, busy, 2), -ENOENT);
	}
	candidates__free(cs);
}

static void test_frequent_changes_are_picked_more(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key hot = { .space = KEY_FILE, .a = 1, .b = 2, .c = 0 };
	struct ipcrace_key cold = { .space = KEY_FILE, .a = 1, .b = 2, .c = 8 };
	struct watch_rng r;
	int hot_picks = 0;

	(void)state;
	for (int n = 0; n < 100; n++)
		candidates__bump(cs, &hot, 8);
	candidates__bump(cs, &cold, 8);
	watch_rng__seed(&r, 1);
	for (int i = 0; i < 10; i++)
		hot_picks += candidates__pick(cs, &r, NULL, 0) == 0;
	/* weights 1601/(1+picks) against 17: the hot word wins most turns */
	assert_true(hot_picks >= 7);
	candidates__free(cs);
}

static void test_bump_counts_repeats_once(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k = { .space = KEY_FILE, .a = 3, .b = 4, .c = 16 };

	(void)state;
	candidates__bump(cs, &k, 8);
	candidates__bump(cs, &k, 8);
	assert_int_equal(candidates__count(cs), 1);
	assert_int_equal(candidates__get(cs, 0)->changes, 2);
	candidates__free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_gives_same_schedule),
		cmocka_unit_test(test_other_seed_gives_other_schedule),
		cmocka_unit_test(test_pick_skips_busy_words),
		cmocka_unit_test(test_frequent_changes_are_picked_more),
		cmocka_unit_test(test_bump_counts_repeats_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
