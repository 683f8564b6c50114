// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The lock-order graph: edges, gates, signalling nodes, cycle search. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/identity.h"
#include "analyzer/lockgraph.h"

static struct ipcrace_key lk(__u64 n)
{
	struct ipcrace_key k = { .a = 7, .b = 0x1000 + n * 0x40, .space = KEY_PRIVATE };

	return k;
}

/* Thread tid requested lock `to` while holding `from` (and gates[]). */
static void edge_known(struct lockgraph *g, __u64 from, __u64 to, __u32 tid,
		       const __u64 *gates, size_t nr_gates, bool known)
{
	struct ipcrace_key keys[8];
	struct finding_edge e;
	size_t i;

	memset(&e, 0, sizeof(e));
	e.held.key = lk(from);
	e.held.obj = OBJ_MUTEX;
	e.lock.key = lk(to);
	e.lock.obj = OBJ_MUTEX;
	e.who.tid = tid;
	e.who.pid = 7;
	e.who.stack_id = 1000 + tid;
	e.held_stack_id = 2000 + tid;
	keys[0] = lk(from);
	for (i = 0; i < nr_gates; i++)
		keys[i + 1] = lk(gates[i]);
	assert_int_equal(lockgraph__add_edge(g, &e, keys, nr_gates + 1, known), 0);
}

static void edge(struct lockgraph *g, __u64 from, __u64 to, __u32 tid,
		 const __u64 *gates, size_t nr_gates)
{
	edge_known(g, from, to, tid, gates, nr_gates, true);
}

static size_t cycles(struct lockgraph *g, struct findings *fs)
{
	findings__clear(fs);
	assert_int_equal(lockgraph__find_cycles(g, LOCKGRAPH_MAX_CYCLES, fs), 0);
	return fs->nr;
}

static void test_two_lock_cycle_found_once_from_first_seen_lock(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};
	struct ipcrace_key a = lk(1), b = lk(2);

	(void)state;
	assert_non_null(g);
	edge(g, 1, 2, 11, NULL, 0);
	edge(g, 2, 1, 12, NULL, 0);
	assert_int_equal(cycles(g, &fs), 1);
	assert_int_equal(fs.items[0].kind, FINDING_LOCK_ORDER_INVERSION);
	assert_int_equal(fs.items[0].nr_cycle, 2);
	assert_true(ipcrace_key__equal(&fs.items[0].object.key, &a));
	assert_true(ipcrace_key__equal(&fs.items[0].cycle[0].held.key, &a));
	assert_true(ipcrace_key__equal(&fs.items[0].cycle[0].lock.key, &b));
	assert_int_equal(fs.items[0].cycle[0].who.tid, 11);
	assert_int_equal(fs.items[0].cycle[0].held_stack_id, 2011);
	assert_true(ipcrace_key__equal(&fs.items[0].cycle[1].held.key, &b));
	assert_true(ipcrace_key__equal(&fs.items[0].cycle[1].lock.key, &a));
	assert_int_equal(fs.items[0].cycle[1].who.tid, 12);
	findings__clear(&fs);
	lockgraph__free(g);
}

static void test_repeated_edge_keeps_first_occurrence(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};
	struct ipcrace_key a = lk(1), b = lk(2);

	(void)state;
	edge(g, 1, 2, 11, NULL, 0);
	edge(g, 1, 2, 13, NULL, 0);
	edge(g, 2, 1, 12, NULL, 0);
	assert_int_equal(lockgraph__nr_edges(g), 2);
	assert_int_equal(lockgraph__nr_nodes(g), 2);
	assert_true(lockgraph__has_edge(g, &a, &b));
	assert_true(lockgraph__has_edge(g, &b, &a));
	assert_int_equal(cycles(g, &fs), 1);
	assert_int_equal(fs.items[0].cycle[0].who.tid, 11);
	findings__clear(&fs);
	lockgraph__free(g);
}

static void test_acyclic_graph_has_no_cycle(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};

	(void)state;
	edge(g, 1, 2, 11, NULL, 0);
	edge(g, 2, 3, 11, NULL, 0);
	edge(g, 1, 3, 12, NULL, 0);
	edge(g, 4, 1, 12, NULL, 0);
	assert_int_equal(cycles(g, &fs), 0);
	lockgraph__free(g);
}

/* A->B->A and A->B->C->A share an edge: two elementary cycles. */
static void test_every_elementary_cycle_reported(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};
	size_t lens[2];

	(void)state;
	edge(g, 1, 2, 11, NULL, 0);
	edge(g, 2, 1, 12, NULL, 0);
	edge(g, 2, 3, 13, NULL, 0);
	edge(g, 3, 1, 14, NULL, 0);
	assert_int_equal(cycles(g, &fs), 2);
	lens[0] = fs.items[0].nr_cycle;
	lens[1] = fs.items[1].nr_cycle;
	assert_int_equal(lens[0] + lens[1], 5);
	findings__clear(&fs);
	lockgraph__free(g);
}

static void test_gate_lock_suppresses_cycle(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};
	const __u64 gate[] = { 9 };

	(void)state;
	edge(g, 9, 1, 11, NULL, 0);
	edge(g, 1, 2, 11, gate, 1);
	edge(g, 9, 2, 12, NULL, 0);
	edge(g, 2, 1, 12, gate, 1);
	assert_int_equal(cycles(g, &fs), 0);

	/* the same edge once more without the gate: now it can deadlock */
	edge(g, 2, 1, 13, NULL, 0);
	assert_int_equal(cycles(g, &fs), 1);
	assert_int_equal(fs.items[0].cycle[1].who.tid, 12);
	findings__clear(&fs);
	lockgraph__free(g);
}

/* A gate must be outside the cycle: held locks of the cycle itself are no gate. */
/* After lost events a thread may hold a gate whose acquisition was lost. */
static void test_edge_with_unknown_gates_fits_any_gate(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};
	const __u64 gate[] = { 9 };

	(void)state;
	edge_known(g, 1, 2, 11, NULL, 0, false);
	edge(g, 2, 1, 12, gate, 1);
	assert_int_equal(cycles(g, &fs), 0);
	/* a later occurrence with known gates and no gate un-suppresses it */
	edge(g, 1, 2, 11, NULL, 0);
	assert_int_equal(cycles(g, &fs), 1);
	findings__clear(&fs);
	lockgraph__free(g);
}

static void test_cycle_of_only_unknown_gates_is_not_reported(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};

	(void)state;
	edge_known(g, 1, 2, 11, NULL, 0, false);
	edge_known(g, 2, 1, 12, NULL, 0, false);
	assert_int_equal(cycles(g, &fs), 0);
	findings__clear(&fs);
	lockgraph__free(g);
}

static void test_cycle_node_is_not_a_gate(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};
	const __u64 a[] = { 1 }, b[] = { 2 };

	(void)state;
	edge(g, 1, 2, 11, b, 1);	/* the gate lists include cycle nodes */
	edge(g, 2, 1, 12, a, 1);
	assert_int_equal(cycles(g, &fs), 1);
	findings__clear(&fs);
	lockgraph__free(g);
}

static void test_signalling_node_breaks_cycle_and_gates_nothing(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};
	struct ipcrace_key s = lk(5);
	const __u64 sem[] = { 5 };

	(void)state;
	edge(g, 5, 1, 11, NULL, 0);
	edge(g, 1, 5, 12, NULL, 0);
	assert_int_equal(cycles(g, &fs), 1);
	/* a cycle "gated" by the semaphore only */
	edge(g, 2, 3, 13, sem, 1);
	edge(g, 3, 2, 14, sem, 1);
	assert_int_equal(cycles(g, &fs), 1);

	assert_int_equal(lockgraph__mark_signalling(g, &s), 0);
	assert_int_equal(cycles(g, &fs), 1);
	assert_int_equal(fs.items[0].cycle[0].who.tid, 13);
	findings__clear(&fs);
	lockgraph__free(g);
}

static void test_reported_cycles_are_capped(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};
	__u64 i;

	(void)state;
	for (i = 0; i < 100; i++) {
		edge(g, 2 * i, 2 * i + 1, 11, NULL, 0);
		edge(g, 2 * i + 1, 2 * i, 12, NULL, 0);
	}
	assert_int_equal(cycles(g, &fs), LOCKGRAPH_MAX_CYCLES);
	findings__clear(&fs);
	assert_int_equal(lockgraph__find_cycles(g, 3, &fs), 0);
	assert_int_equal(fs.nr, 3);
	findings__clear(&fs);
	lockgraph__free(g);
}

/* Hand-over-hand locking down a long list: deep, but no recursion to overflow. */
static void test_long_chain_searched_without_recursion(void **state)
{
	struct lockgraph *g = lockgraph__new();
	struct findings fs = {};
	const __u64 n = 20000;
	__u64 i;

	(void)state;
	for (i = 0; i + 1 < n; i++)
		edge(g, i, i + 1, 11, NULL, 0);
	assert_int_equal(cycles(g, &fs), 0);
	edge(g, n - 1, 0, 12, NULL, 0);
	assert_int_equal(cycles(g, &fs), 1);
	assert_int_equal(fs.items[0].nr_cycle, n);
	findings__clear(&fs);
	lockgraph__free(g);
	lockgraph__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_lock_cycle_found_once_from_first_seen_lock),
		cmocka_unit_test(test_repeated_edge_keeps_first_occurrence),
		cmocka_unit_test(test_acyclic_graph_has_no_cycle),
		cmocka_unit_test(test_every_elementary_cycle_reported),
		cmocka_unit_test(test_gate_lock_suppresses_cycle),
		cmocka_unit_test(test_cycle_node_is_not_a_gate),
		cmocka_unit_test(test_edge_with_unknown_gates_fits_any_gate),
		cmocka_unit_test(test_cycle_of_only_unknown_gates_is_not_reported),
		cmocka_unit_test(test_signalling_node_breaks_cycle_and_gates_nothing),
		cmocka_unit_test(test_reported_cycles_are_capped),
		cmocka_unit_test(test_long_chain_searched_without_recursion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
