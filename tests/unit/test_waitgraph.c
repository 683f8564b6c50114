// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/waitgraph.h"

static int node(struct waitgraph *g, enum waitgraph_state s)
{
	int n = waitgraph__add_node(g, s);

	assert_true(n >= 0);
	return n;
}

static void waits(struct waitgraph *g, int from, int to)
{
	assert_int_equal(waitgraph__add_target(g, from, to), 0);
}

static void test_abba_two_threads_is_one_cycle(void **state)
{
	struct waitgraph *g = waitgraph__new();
	int a, b, cyc[4];
	bool in;

	(void)state;
	a = node(g, WG_WAITS);
	b = node(g, WG_WAITS);
	waits(g, a, b);
	waits(g, b, a);
	assert_int_equal(waitgraph__solve(g), 0);
	assert_true(waitgraph__deadlocked(g, a));
	assert_true(waitgraph__deadlocked(g, b));
	assert_int_equal(waitgraph__nr_cycles(g), 1);
	assert_int_equal(waitgraph__cycle(g, 0, cyc, 4), 2);
	assert_true((cyc[0] == a && cyc[1] == b) || (cyc[0] == b && cyc[1] == a));
	assert_int_equal(waitgraph__cycle_of(g, a, &in), 0);
	assert_true(in);
	waitgraph__free(g);
}

static void test_waiter_on_cycle_is_blocked_by_it_not_in_it(void **state)
{
	struct waitgraph *g = waitgraph__new();
	int a, b, c, d;
	bool in;

	(void)state;
	a = node(g, WG_WAITS);
	b = node(g, WG_WAITS);
	c = node(g, WG_WAITS);
	d = node(g, WG_WAITS);
	waits(g, a, b);
	waits(g, b, c);
	waits(g, c, a);
	waits(g, d, b);		/* d wants the lock a thread of the ring holds */
	assert_int_equal(waitgraph__solve(g), 0);
	assert_int_equal(waitgraph__nr_cycles(g), 1);
	assert_int_equal(waitgraph__cycle(g, 0, (int[4]){0}, 4), 3);
	assert_true(waitgraph__deadlocked(g, d));
	assert_int_equal(waitgraph__cycle_of(g, d, &in), 0);
	assert_false(in);
	waitgraph__free(g);
}

static void test_chain_ending_in_sleeper_is_no_deadlock(void **state)
{
	struct waitgraph *g = waitgraph__new();
	int a, b, sleeper, chain[8];

	(void)state;
	a = node(g, WG_WAITS);
	b = node(g, WG_WAITS);
	sleeper = node(g, WG_PROGRESS);
	waits(g, a, b);
	waits(g, b, sleeper);
	assert_int_equal(waitgraph__solve(g), 0);
	assert_int_equal(waitgraph__nr_cycles(g), 0);
	assert_false(waitgraph__deadlocked(g, a));
	assert_int_equal(waitgraph__chain(g, a, chain, 8), 3);
	assert_int_equal(chain[0], a);
	assert_int_equal(chain[1], b);
	assert_int_equal(chain[2], sleeper);
	waitgraph__free(g);
}

static void test_or_wait_with_one_live_alternative_progresses(void **state)
{
	struct waitgraph *g = waitgraph__new();
	int reader, w1, w2, other;

	(void)state;
	/* a pipe reader: two processes hold the write end; one of them runs */
	reader = node(g, WG_WAITS);
	w1 = node(g, WG_WAITS);
	w2 = node(g, WG_PROGRESS);
	other = node(g, WG_WAITS);
	waits(g, reader, w1);
	waits(g, reader, w2);
	waits(g, w1, reader);
	waits(g, other, w1);
	assert_int_equal(waitgraph__solve(g), 0);
	assert_int_equal(waitgraph__nr_cycles(g), 0);
	assert_false(waitgraph__deadlocked(g, reader));
	assert_false(waitgraph__deadlocked(g, w1));
	assert_false(waitgraph__deadlocked(g, other));
	waitgraph__free(g);
}

static void test_self_wait_is_a_cycle_of_one(void **state)
{
	struct waitgraph *g = waitgraph__new();
	int a, cyc[2];

	(void)state;
	/* a process reading a pipe whose only write end it holds itself */
	a = node(g, WG_WAITS);
	waits(g, a, a);
	assert_int_equal(waitgraph__solve(g), 0);
	assert_int_equal(waitgraph__nr_cycles(g), 1);
	assert_int_equal(waitgraph__cycle(g, 0, cyc, 2), 1);
	assert_int_equal(cyc[0], a);
	waitgraph__free(g);
}

static void test_unknown_waker_is_never_a_deadlock(void **state)
{
	struct waitgraph *g = waitgraph__new();
	int a, b;

	(void)state;
	a = node(g, WG_WAITS);
	b = node(g, WG_WAITS_UNKNOWN);	/* a condition variable: who signals is unknown */
	waits(g, a, b);
	assert_int_equal(waitgraph__add_target(g, b, a), -EINVAL);
	assert_int_equal(waitgraph__solve(g), 0);
	assert_false(waitgraph__deadlocked(g, a));
	assert_int_equal(waitgraph__nr_cycles(g), 0);
	waitgraph__free(g);
}

static void test_two_independent_deadlocks_are_two_cycles(void **state)
{
	struct waitgraph *g = waitgraph__new();
	int n[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		n[i] = node(g, WG_WAITS);
	waits(g, n[0], n[1]);
	waits(g, n[1], n[0]);
	waits(g, n[2], n[3]);
	waits(g, n[3], n[2]);
	assert_int_equal(waitgraph__solve(g), 0);
	assert_int_equal(waitgraph__nr_cycles(g), 2);
	waitgraph__free(g);
}

static void test_wait_nobody_can_end_is_deadlocked_without_cycle(void **state)
{
	struct waitgraph *g = waitgraph__new();
	int a;
	bool in;

	(void)state;
	a = node(g, WG_WAITS);	/* a mutex whose owner has exited */
	assert_int_equal(waitgraph__solve(g), 0);
	assert_true(waitgraph__deadlocked(g, a));
	assert_int_equal(waitgraph__nr_cycles(g), 0);
	assert_int_equal(waitgraph__cycle_of(g, a, &in), -1);
	waitgraph__free(g);
}

/*
 * A zombie (exited, not reaped) waits on nobody and is not deadlocked; a
 * thread waiting only on it (a mutex its exited leader still owns) is,
 * with no cycle; one that may also be woken by a live thread is not.
 */
static void test_zombie_is_not_blocked_its_waiter_is_stuck(void **state)
{
	struct waitgraph *g = waitgraph__new();
	int zombie, waiter, either, live, chain[4];
	bool in;

	(void)state;
	zombie = node(g, WG_DEAD);
	waiter = node(g, WG_WAITS);
	either = node(g, WG_WAITS);
	live = node(g, WG_PROGRESS);
	waits(g, waiter, zombie);
	waits(g, either, zombie);
	waits(g, either, live);
	assert_int_equal(waitgraph__add_target(g, zombie, waiter), -EINVAL);
	assert_int_equal(waitgraph__solve(g), 0);
	assert_false(waitgraph__deadlocked(g, zombie));
	assert_int_equal(waitgraph__cycle_of(g, zombie, &in), -1);
	assert_true(waitgraph__deadlocked(g, waiter));
	assert_int_equal(waitgraph__cycle_of(g, waiter, &in), -1);
	assert_false(waitgraph__deadlocked(g, either));
	assert_int_equal(waitgraph__nr_cycles(g), 0);
	assert_int_equal(waitgraph__chain(g, waiter, chain, 4), 2);
	assert_int_equal(chain[1], zombie);
	waitgraph__free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abba_two_threads_is_one_cycle),
		cmocka_unit_test(test_waiter_on_cycle_is_blocked_by_it_not_in_it),
		cmocka_unit_test(test_chain_ending_in_sleeper_is_no_deadlock),
		cmocka_unit_test(test_or_wait_with_one_live_alternative_progresses),
		cmocka_unit_test(test_self_wait_is_a_cycle_of_one),
		cmocka_unit_test(test_unknown_waker_is_never_a_deadlock),
		cmocka_unit_test(test_two_independent_deadlocks_are_two_cycles),
		cmocka_unit_test(test_wait_nobody_can_end_is_deadlocked_without_cycle),
		cmocka_unit_test(test_zombie_is_not_blocked_its_waiter_is_stuck),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
