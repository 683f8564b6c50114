// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sampling gaps (EV_LOCK_GAP: a process's lock probes off for a window,
 * --overhead) on synthetic streams through analyze_trace(): what the
 * process held or took in the gap makes no misuse finding, no lock-order
 * edge rests on a hold the gap may have ended, a race across a gap is a
 * "sampled" candidate only, and what is seen inside a window stays a
 * finding. Each test has its control: the same stream without the gap
 * gives the finding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/analyze.h"
#include "analyzer/findings.h"
#include "analyzer/syncvis.h"

#define PA 100
#define PB 200
#define MAX_EVENTS 64

struct stream {
	struct ipcrace_event ev[MAX_EVENTS];
	size_t nr;
	struct findings fs;
};

static struct ipcrace_event *add(struct stream *s, __u16 type, __u32 pid, __u32 tid)
{
	struct ipcrace_event *e;

	assert_true(s->nr < MAX_EVENTS);
	e = &s->ev[s->nr++];
	memset(e, 0, sizeof(*e));
	e->hdr.kind = IPCRACE_REC_EVENT;
	e->hdr.size = sizeof(*e);
	e->ts = 1000 + s->nr;
	e->type = type;
	e->pid = pid;
	e->tid = tid;
	snprintf(e->comm, sizeof(e->comm), "t%u", tid);
	return e;
}

/* A process-shared mutex at offset off of a segment both processes map. */
static struct ipcrace_key shm(__u64 off)
{
	return (struct ipcrace_key){ .a = 0x17, .b = 777, .c = off, .space = KEY_FILE };
}

static void lock_event(struct stream *s, __u16 type, __u32 pid, __u32 tid, __u64 off,
		       __u64 stack)
{
	struct ipcrace_event *e = add(s, type, pid, tid);

	e->obj = OBJ_MUTEX;
	e->key = shm(off);
	e->addr = 0x7f0000000000ull + off;
	e->arg0 = 0x80;		/* PTHREAD_PROCESS_SHARED, normal kind */
	e->stack_id = stack;
}

static void lock(struct stream *s, __u32 pid, __u32 tid, __u64 off, __u64 stack)
{
	lock_event(s, EV_LOCK_ATTEMPT, pid, tid, off, stack);
	lock_event(s, EV_LOCK_ACQUIRED, pid, tid, off, stack);
}

static void unlock(struct stream *s, __u32 pid, __u32 tid, __u64 off, __u64 stack)
{
	lock_event(s, EV_LOCK_RELEASE, pid, tid, off, stack);
}

/* A plain write of the word at off of the segment. */
static void write_word(struct stream *s, __u32 pid, __u32 tid, __u64 off, __u64 ip)
{
	struct ipcrace_event *e = add(s, EV_MEM_ACCESS, pid, tid);

	e->obj = OBJ_MEMORY;
	e->key = shm(off);
	e->addr = 0x7f0000000000ull + off;
	e->arg0 = ip;
	e->arg1 = 8;
	e->flags = EVF_WRITE | EVF_PROBE;
}

static void gap(struct stream *s, __u32 pid, enum ipcrace_lock_gap_edge edge)
{
	struct ipcrace_event *e = add(s, EV_LOCK_GAP, pid, pid);

	e->arg0 = edge;
	if (edge == LOCK_GAP_END)
		e->arg1 = e->ts - 1;
}

/* A whole gap of pid: its lock calls in it are not in the stream. */
static void window_off(struct stream *s, __u32 pid)
{
	gap(s, pid, LOCK_GAP_BEGIN);
	gap(s, pid, LOCK_GAP_END);
}

static void thread_exit(struct stream *s, __u32 pid, __u32 tid, bool group_dead)
{
	struct ipcrace_event *e = add(s, EV_EXIT, pid, tid);

	e->flags = group_dead ? EVF_GROUP_DEAD : 0;
}

/* Threads tid of pid seen being born: their whole lock history is in the trace. */
static void born(struct stream *s, __u32 pid, __u32 tid)
{
	struct ipcrace_event *e = add(s, EV_THREAD_SPAWN, pid, pid);

	e->arg0 = pid;
	e->arg1 = tid;
}

static void analyze(struct stream *s)
{
	struct trace t;

	memset(&t, 0, sizeof(t));
	t.events = s->ev;
	t.nr_events = s->nr;
	findings__clear(&s->fs);
	assert_int_equal(analyze_trace(&t, NULL, &s->fs), 0);
}

static size_t count(const struct stream *s, enum finding_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < s->fs.nr; i++)
		n += s->fs.items[i].kind == kind;
	return n;
}

static const struct finding *the_race(const struct stream *s)
{
	const struct finding *race = NULL;
	size_t i;

	for (i = 0; i < s->fs.nr; i++) {
		if (s->fs.items[i].kind != FINDING_DATA_RACE)
			continue;
		assert_null(race);
		race = &s->fs.items[i];
	}
	assert_non_null(race);
	return race;
}

static int setup(void **state)
{
	struct stream *s = test_calloc(1, sizeof(*s));

	*state = s;
	return s ? 0 : -1;
}

static int teardown(void **state)
{
	struct stream *s = *state;

	findings__clear(&s->fs);
	test_free(s);
	return 0;
}

/* --- locks held across a gap ----------------------------------------------- */

/* T1 held A, released it unseen in the gap, takes it again: no double lock. */
static void lock_held_across_gap(struct stream *s, bool with_gap)
{
	born(s, PA, 101);
	lock(s, PA, 101, 0, 11);
	if (with_gap)
		window_off(s, PA);
	lock(s, PA, 101, 0, 12);
	unlock(s, PA, 101, 0, 13);
}

static void test_lock_held_across_gap_relocked_is_no_double_lock(void **state)
{
	struct stream *s = *state;

	lock_held_across_gap(s, true);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

static void test_control_relock_without_gap_is_double_lock(void **state)
{
	struct stream *s = *state;

	lock_held_across_gap(s, false);
	analyze(s);
	assert_int_equal(count(s, FINDING_DOUBLE_LOCK), 1);
}

/*
 * T1 held A before the gap (its release in the gap unseen), then takes B;
 * T2 takes B then A: no A -> B edge rests on that hold, so no cycle.
 */
static void hold_across_gap_then_other_lock(struct stream *s, bool with_gap)
{
	born(s, PA, 101);
	born(s, PA, 102);
	lock(s, PA, 101, 0, 11);
	if (with_gap)
		window_off(s, PA);
	lock(s, PA, 101, 64, 12);
	unlock(s, PA, 101, 64, 13);
	lock(s, PA, 102, 64, 21);
	lock(s, PA, 102, 0, 22);
	unlock(s, PA, 102, 0, 23);
	unlock(s, PA, 102, 64, 24);
}

static void test_hold_across_gap_adds_no_order_edge(void **state)
{
	struct stream *s = *state;

	hold_across_gap_then_other_lock(s, true);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 0);
}

static void test_control_hold_without_gap_makes_inversion(void **state)
{
	struct stream *s = *state;

	hold_across_gap_then_other_lock(s, false);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

/* A shared lock held before the gap, released in it unseen: no lock held at exit. */
static void release_in_gap_then_exit(struct stream *s, bool with_gap)
{
	born(s, PA, 101);
	lock(s, PA, 101, 0, 11);
	if (with_gap)
		window_off(s, PA);
	thread_exit(s, PA, 101, false);
}

static void test_release_in_gap_is_no_lock_held_at_exit(void **state)
{
	struct stream *s = *state;

	release_in_gap_then_exit(s, true);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_HELD_AT_EXIT), 0);
}

static void test_control_exit_holding_without_gap_is_reported(void **state)
{
	struct stream *s = *state;

	release_in_gap_then_exit(s, false);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_HELD_AT_EXIT), 1);
}

/*
 * A lock call without a return probe (lock_defer.h) pending when the gap
 * begins: acquired by the thread's next event, in the gap, where its
 * release may be unseen too.
 */
static void deferred_across_gap(struct stream *s, bool with_gap)
{
	born(s, PA, 101);
	lock_event(s, EV_LOCK_ATTEMPT, PA, 101, 0, 11);
	s->ev[s->nr - 1].flags |= EVF_ACQUIRE_DEFERRED;
	if (with_gap)
		gap(s, PA, LOCK_GAP_BEGIN);
	write_word(s, PA, 101, 128, 0x401000);
	if (with_gap)
		gap(s, PA, LOCK_GAP_END);
	thread_exit(s, PA, 101, false);
}

static void test_deferred_acquisition_across_gap_is_no_lock_held_at_exit(void **state)
{
	struct stream *s = *state;

	deferred_across_gap(s, true);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_HELD_AT_EXIT), 0);
}

static void test_control_deferred_acquisition_without_gap_held_at_exit(void **state)
{
	struct stream *s = *state;

	deferred_across_gap(s, false);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_HELD_AT_EXIT), 1);
}

/* --- acquisitions in a gap -------------------------------------------------- */

/*
 * T1 takes A in the gap (unseen), releases it after: no unlock-not-held,
 * even though another process's thread took A exclusively before (its
 * state was known then: it may have passed to T1 in the gap).
 */
static void acquired_in_gap_released_after(struct stream *s, bool with_gap)
{
	born(s, PB, 201);
	born(s, PA, 101);
	lock(s, PB, 201, 0, 31);
	unlock(s, PB, 201, 0, 32);
	if (with_gap)
		window_off(s, PA);
	unlock(s, PA, 101, 0, 13);
}

static void test_acquisition_in_gap_released_after_is_no_unlock_not_held(void **state)
{
	struct stream *s = *state;

	acquired_in_gap_released_after(s, true);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

static void test_control_release_without_gap_is_unlock_not_held(void **state)
{
	struct stream *s = *state;

	acquired_in_gap_released_after(s, false);
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
}

/*
 * The lock taken exclusively after the gap is known again: a stray release
 * is reported (T1 took A after the gap: no lock call open at the end
 * returned with it).
 */
static void test_lock_known_again_after_exclusive_take_reports_misuse(void **state)
{
	struct stream *s = *state;

	born(s, PB, 201);
	born(s, PA, 101);
	window_off(s, PA);
	lock(s, PA, 101, 0, 11);
	unlock(s, PA, 101, 0, 12);
	lock(s, PB, 201, 0, 31);
	unlock(s, PB, 201, 0, 32);
	unlock(s, PA, 101, 0, 13);
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
}

/*
 * Lock events seen while the gap is open (the links close and come back
 * some time after and before the edges): T2's exclusive acquisition of A
 * makes it look known, then T1 takes it unseen and its release is seen.
 */
static void test_release_seen_inside_open_gap_is_no_unlock_not_held(void **state)
{
	struct stream *s = *state;

	born(s, PA, 101);
	born(s, PA, 102);
	gap(s, PA, LOCK_GAP_BEGIN);
	lock(s, PA, 102, 0, 21);
	unlock(s, PA, 102, 0, 22);
	unlock(s, PA, 101, 0, 13);
	gap(s, PA, LOCK_GAP_END);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/*
 * T1 was blocked in a lock call when the links came back (its entry
 * unseen): after the end, T2 takes and releases A, then T1 gets it and
 * releases it. Its first stray release is that call's; a second is not.
 */
static void test_lock_call_open_at_gap_end_returns_unseen(void **state)
{
	struct stream *s = *state;

	born(s, PA, 101);
	born(s, PA, 102);
	window_off(s, PA);
	lock(s, PA, 102, 0, 21);
	unlock(s, PA, 102, 0, 22);
	unlock(s, PA, 101, 0, 13);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
	lock(s, PA, 102, 0, 21);
	unlock(s, PA, 102, 0, 22);
	unlock(s, PA, 101, 0, 13);
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
}

/* Inside an open gap: a hold whose release was unseen is no edge, no double lock. */
static void test_locks_seen_inside_open_gap_add_no_edge(void **state)
{
	struct stream *s = *state;

	born(s, PA, 101);
	born(s, PA, 102);
	gap(s, PA, LOCK_GAP_BEGIN);
	lock(s, PA, 101, 0, 11);
	lock(s, PA, 101, 0, 11);
	lock(s, PA, 101, 64, 12);
	gap(s, PA, LOCK_GAP_END);
	lock(s, PA, 102, 256, 20);
	unlock(s, PA, 102, 256, 20);
	lock(s, PA, 102, 64, 21);
	lock(s, PA, 102, 0, 22);
	unlock(s, PA, 102, 0, 23);
	unlock(s, PA, 102, 64, 24);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/* --- accesses across a gap --------------------------------------------------- */

/* T1 writes, the gap (T1 may release, T2 acquire, unseen), T2 writes. */
static void test_access_pair_across_gap_is_sampled_candidate(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	write_word(s, PA, 101, 128, 0x401000);
	window_off(s, PA);
	write_word(s, PA, 102, 128, 0x402000);
	analyze(s);
	f = the_race(s);
	assert_int_equal(f->status, FINDING_CANDIDATE);
	assert_int_equal(f->unseen.why, SYNCVIS_SAMPLED);
	assert_int_equal(f->unseen.pid, PA);
	assert_string_equal(syncvis_why__name(SYNCVIS_SAMPLED), "sampled");
}

/* Another process's gap between them: the order may go through its unseen locks. */
static void test_gap_of_a_third_process_makes_candidate(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	write_word(s, PA, 101, 128, 0x401000);
	gap(s, PB, LOCK_GAP_BEGIN);
	write_word(s, PA, 102, 128, 0x402000);
	analyze(s);
	f = the_race(s);
	assert_int_equal(f->status, FINDING_CANDIDATE);
	assert_int_equal(f->unseen.why, SYNCVIS_SAMPLED);
	assert_int_equal(f->unseen.pid, PB);
}

static void test_control_access_pair_without_gap_is_predicted(void **state)
{
	struct stream *s = *state;

	write_word(s, PA, 101, 128, 0x401000);
	write_word(s, PA, 102, 128, 0x402000);
	analyze(s);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

/* Both accesses inside one window after a gap: a finding as usual. */
static void test_access_pair_inside_window_is_predicted(void **state)
{
	struct stream *s = *state;

	window_off(s, PA);
	write_word(s, PA, 101, 128, 0x401000);
	write_word(s, PA, 102, 128, 0x402000);
	window_off(s, PA);
	analyze(s);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

/* The same pair of code locations first across a gap, then inside a window: one finding. */
static void test_sampled_candidate_becomes_finding_inside_window(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	write_word(s, PA, 101, 128, 0x401000);
	window_off(s, PA);
	write_word(s, PA, 102, 128, 0x402000);
	write_word(s, PA, 101, 128, 0x401000);
	write_word(s, PA, 102, 128, 0x402000);
	analyze(s);
	f = the_race(s);
	assert_int_equal(f->status, FINDING_PREDICTED);
	assert_int_equal(f->unseen.why, SYNCVIS_VISIBLE);
}

/* A process that exits in its gap leaves none open: later pairs are findings. */
static void test_exit_in_gap_closes_it(void **state)
{
	struct stream *s = *state;

	gap(s, PB, LOCK_GAP_BEGIN);
	thread_exit(s, PB, PB, true);
	write_word(s, PA, 101, 128, 0x401000);
	write_word(s, PA, 102, 128, 0x402000);
	analyze(s);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

/* --- lock order inside a window ---------------------------------------------- */

/*
 * ABBA between gaps: both acquisitions of each edge were seen, by threads
 * that had held nothing since their gap (a lock taken and released), so
 * no lock taken in the gap can be a gate. (A thread's edges before that
 * know no gates, as after a loss: test_thread_first_seen_after_gap...)
 */
static void test_inversion_inside_window_is_found(void **state)
{
	struct stream *s = *state;

	born(s, PA, 101);
	born(s, PA, 102);
	window_off(s, PA);
	lock(s, PA, 101, 256, 10);
	unlock(s, PA, 101, 256, 10);
	lock(s, PA, 101, 0, 11);
	lock(s, PA, 101, 64, 12);
	unlock(s, PA, 101, 64, 13);
	unlock(s, PA, 101, 0, 14);
	window_off(s, PA);
	lock(s, PA, 102, 256, 20);
	unlock(s, PA, 102, 256, 20);
	lock(s, PA, 102, 64, 21);
	lock(s, PA, 102, 0, 22);
	unlock(s, PA, 102, 0, 23);
	unlock(s, PA, 102, 64, 24);
	window_off(s, PA);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

/*
 * A thread first seen after its process's gap may hold what it took in it:
 * its first edges know no gates (a gate taken unseen may protect them).
 */
static void first_seen_after_gap(struct stream *s, bool with_gap)
{
	/* T1 takes G, A, B (G gates A -> B); T2, from before the trace, is first seen after */
	born(s, PA, 101);
	lock(s, PA, 101, 192, 10);
	lock(s, PA, 101, 0, 11);
	lock(s, PA, 101, 64, 12);
	unlock(s, PA, 101, 64, 13);
	unlock(s, PA, 101, 0, 14);
	unlock(s, PA, 101, 192, 15);
	if (with_gap)
		window_off(s, PA);
	/* T2 may hold G, taken in the gap: its B -> A narrows no gate set */
	lock(s, PA, 102, 64, 21);
	lock(s, PA, 102, 0, 22);
	unlock(s, PA, 102, 0, 23);
	unlock(s, PA, 102, 64, 24);
	analyze(s);
}

static void test_thread_first_seen_after_gap_knows_no_gates(void **state)
{
	struct stream *s = *state;

	first_seen_after_gap(s, true);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 0);
}

static void test_control_thread_seen_without_gap_makes_inversion(void **state)
{
	struct stream *s = *state;

	first_seen_after_gap(s, false);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lock_held_across_gap_relocked_is_no_double_lock,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_relock_without_gap_is_double_lock,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_across_gap_adds_no_order_edge, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_control_hold_without_gap_makes_inversion,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_in_gap_is_no_lock_held_at_exit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_control_exit_holding_without_gap_is_reported,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_deferred_acquisition_across_gap_is_no_lock_held_at_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_control_deferred_acquisition_without_gap_held_at_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_acquisition_in_gap_released_after_is_no_unlock_not_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_release_without_gap_is_unlock_not_held,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_lock_known_again_after_exclusive_take_reports_misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_release_seen_inside_open_gap_is_no_unlock_not_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locks_seen_inside_open_gap_add_no_edge, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lock_call_open_at_gap_end_returns_unseen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_access_pair_across_gap_is_sampled_candidate,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_of_a_third_process_makes_candidate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_control_access_pair_without_gap_is_predicted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_pair_inside_window_is_predicted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sampled_candidate_becomes_finding_inside_window,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_in_gap_closes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inversion_inside_window_is_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_thread_first_seen_after_gap_knows_no_gates,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_thread_seen_without_gap_makes_inversion,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
