// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Synchronization visibility (syncvis.h) on synthetic streams, through
 * analyze_trace(): a race stays a prediction where every synchronization
 * of both processes is visible, and is a candidate, with why, where one of
 * them synchronizes in ways ipcrace cannot see.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdbool.h>

#include "analyzer/analyze.h"
#include "analyzer/findings.h"
#include "analyzer/syncvis.h"

#define PA 100
#define PB 200
#define MAX_EVENTS 16

struct stream {
	struct ipcrace_event events[MAX_EVENTS];
	size_t nr;
	struct findings out;
};

static struct ipcrace_event ev(__u16 type, __u32 pid)
{
	struct ipcrace_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = IPCRACE_REC_EVENT;
	e.hdr.size = sizeof(e);
	e.type = type;
	e.pid = pid;
	e.tid = pid;
	strcpy(e.comm, "fx");
	return e;
}

/* A word of a shared memory object both processes map, at offset off. */
static struct ipcrace_key shm(__u64 off)
{
	return (struct ipcrace_key){ .a = 0x17, .b = 777, .c = off, .space = KEY_FILE };
}

static void add(struct stream *s, struct ipcrace_event e)
{
	assert_true(s->nr < MAX_EVENTS);
	e.ts = 1000 + s->nr;
	s->events[s->nr++] = e;
}

/* A memory access of the word at off; flags EVF_WRITE, EVF_ATOMIC, EVF_PROBE. */
static void mem(struct stream *s, __u32 pid, __u64 off, __u32 flags, __u64 ip)
{
	struct ipcrace_event e = ev(EV_MEM_ACCESS, pid);

	e.obj = OBJ_MEMORY;
	e.key = shm(off);
	e.addr = 0x7f0000000000ull + off;
	e.arg0 = ip;
	e.arg1 = 8;
	e.flags = flags;
	add(s, e);
}

/* The counter at offset 64, written by both processes without visible order. */
static void racy_counter(struct stream *s)
{
	mem(s, PA, 64, EVF_WRITE | EVF_PROBE, 0x401000);
	mem(s, PB, 64, EVF_WRITE | EVF_PROBE, 0x401000);
}

static void futex(struct stream *s, __u16 type, __u32 pid, struct ipcrace_key k)
{
	struct ipcrace_event e = ev(type, pid);

	e.obj = OBJ_FUTEX;
	e.key = k;
	e.addr = 0x7f0000000000ull + k.c;
	add(s, e);
}

static void unseen_library(struct stream *s, __u32 pid)
{
	struct ipcrace_event e = ev(EV_SYNC_UNSEEN, pid);

	e.addr = 0x7f1000001234ull;
	e.arg0 = 3;
	e.arg1 = UNSEEN_CODE_LIBRARY;
	add(s, e);
}

/* Analyzes the stream: its single data race. */
static const struct finding *the_race(struct stream *s)
{
	struct trace t;
	const struct finding *race = NULL;
	size_t i;

	memset(&t, 0, sizeof(t));
	t.events = s->events;
	t.nr_events = s->nr;
	assert_int_equal(analyze_trace(&t, NULL, &s->out), 0);
	for (i = 0; i < s->out.nr; i++) {
		if (s->out.items[i].kind != FINDING_DATA_RACE)
			continue;
		assert_null(race);
		race = &s->out.items[i];
	}
	assert_non_null(race);
	return race;
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct stream));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct stream *s = *state;

	findings__clear(&s->out);
	free(s);
	return 0;
}

static void test_race_of_visible_processes_stays_predicted(void **state)
{
	struct stream *s = *state;

	const struct finding *f;

	racy_counter(s);
	f = the_race(s);
	assert_int_equal(f->status, FINDING_PREDICTED);
	assert_int_equal(f->unseen.why, SYNCVIS_VISIBLE);
}

static void test_unprobed_library_atomics_make_the_race_a_candidate(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	unseen_library(s, PA);
	racy_counter(s);
	f = the_race(s);
	assert_int_equal(f->status, FINDING_CANDIDATE);
	assert_int_equal(f->unseen.why, SYNCVIS_UNPROBED_CODE);
	assert_int_equal(f->unseen.pid, PA);
	assert_int_equal(f->unseen.count, 3);
	assert_int_equal(f->unseen.addr, 0x7f1000001234ull);
}

static void test_either_process_unseen_makes_a_candidate(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	racy_counter(s);
	unseen_library(s, PB);	/* later in the stream: the whole run counts */
	f = the_race(s);
	assert_int_equal(f->status, FINDING_CANDIDATE);
	assert_int_equal(f->unseen.pid, PB);
}

static void test_atomic_seen_only_by_a_watchpoint_makes_a_candidate(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	/* the lock word at 0: an atomic a watchpoint decoded, no probe saw */
	mem(s, PA, 0, EVF_WRITE | EVF_ATOMIC, 0x7f2000000abcull);
	racy_counter(s);
	f = the_race(s);
	assert_int_equal(f->status, FINDING_CANDIDATE);
	assert_int_equal(f->unseen.why, SYNCVIS_WATCHED_ATOMIC);
	assert_int_equal(f->unseen.addr, 0x7f2000000abcull);
}

/* A watchpoint hit on a private word of pid (its thread tid), at addr. */
static void private_hit(struct stream *s, __u32 pid, __u32 tid, __u64 addr, __u32 flags, __u64 ip)
{
	struct ipcrace_event e = ev(EV_MEM_ACCESS, pid);

	e.tid = tid;
	e.obj = OBJ_MEMORY;
	e.key = (struct ipcrace_key){ .space = KEY_PRIVATE, .a = pid, .b = addr };
	e.addr = addr;
	e.arg0 = ip;
	e.arg1 = 8;
	e.flags = flags;
	add(s, e);
}

static void test_watched_atomic_of_one_thread_orders_nothing(void **state)
{
	struct stream *s = *state;

	/* a thread's own cancellation flags: libc's CAS, its thread alone */
	private_hit(s, PA, PA + 1, 0x7f3000002a38ull, EVF_WRITE | EVF_ATOMIC, 0x7f2000000abcull);
	private_hit(s, PA, PA + 1, 0x7f3000002a38ull, EVF_WRITE, 0x7f2000000ac0ull);
	racy_counter(s);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

static void test_watched_atomic_of_two_threads_makes_a_candidate(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	private_hit(s, PA, PA + 1, 0x7f3000002a38ull, EVF_WRITE | EVF_ATOMIC, 0x7f2000000abcull);
	racy_counter(s);
	/* later, another thread of PA on the same word: a lock between them */
	private_hit(s, PA, PA + 2, 0x7f3000002a3cull, EVF_WRITE, 0x7f2000000ad0ull);
	f = the_race(s);
	assert_int_equal(f->status, FINDING_CANDIDATE);
	assert_int_equal(f->unseen.why, SYNCVIS_WATCHED_ATOMIC);
}

static void test_atomic_a_probe_also_saw_stays_visible(void **state)
{
	struct stream *s = *state;

	mem(s, PA, 0, EVF_WRITE | EVF_ATOMIC, 0x401100);
	racy_counter(s);
	mem(s, PA, 0, EVF_WRITE | EVF_ATOMIC | EVF_PROBE, 0x401100);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

static void test_watched_atomic_of_a_mutex_is_the_libraries(void **state)
{
	struct stream *s = *state;
	struct ipcrace_event lock = ev(EV_LOCK_ACQUIRED, PA);

	/* libc's CAS on a mutex's word, seen by a watchpoint before its lock event */
	mem(s, PA, 8, EVF_WRITE | EVF_ATOMIC, 0x7f2000000abcull);
	lock.obj = OBJ_MUTEX;
	lock.key = shm(0);
	lock.addr = 0x7f0000000000ull;
	add(s, lock);
	racy_counter(s);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

static void test_futex_on_a_shared_word_nothing_owns_makes_a_candidate(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	futex(s, EV_FUTEX_WAKE, PB, shm(0));
	racy_counter(s);
	f = the_race(s);
	assert_int_equal(f->status, FINDING_CANDIDATE);
	assert_int_equal(f->unseen.why, SYNCVIS_FOREIGN_FUTEX);
	assert_int_equal(f->unseen.pid, PB);
}

static void test_futex_on_a_word_a_probe_saw_stays_visible(void **state)
{
	struct stream *s = *state;

	futex(s, EV_FUTEX_WAKE, PB, shm(0));
	racy_counter(s);
	/* the word's own accesses, seen after the call: still the same word */
	mem(s, PB, 0, EVF_READ | EVF_PROBE, 0x401200);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

static void test_futex_on_a_mutex_word_stays_visible(void **state)
{
	struct stream *s = *state;
	struct ipcrace_event lock = ev(EV_LOCK_ACQUIRED, PB);

	lock.obj = OBJ_MUTEX;
	lock.key = shm(0);
	lock.addr = 0x7f0000000000ull;
	add(s, lock);
	futex(s, EV_FUTEX_WAIT_RET, PB, shm(0));
	racy_counter(s);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

static void test_private_futex_is_the_runtimes(void **state)
{
	struct stream *s = *state;

	/* a thread's tid at join, malloc's lock: private words */
	futex(s, EV_FUTEX_WAIT_RET, PA,
	      (struct ipcrace_key){ .a = PA, .b = 0x7ffff7d8a990ull, .space = KEY_PRIVATE });
	racy_counter(s);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

static void hold(struct stream *s, __u32 pid, __u64 off, __u64 ip, bool changed)
{
	struct ipcrace_event e = ev(EV_CONFIRM_HOLD, pid);

	e.obj = OBJ_MEMORY;
	e.key = shm(off);
	e.addr = 0x7f0000000000ull + off;
	e.arg0 = ip;
	e.arg1 = 200000;
	e.result = changed;
	e.flags = EVF_WRITE | EVF_PROBE;
	add(s, e);
}

static void test_hold_that_saw_a_change_confirms_the_candidate(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	unseen_library(s, PA);
	racy_counter(s);
	hold(s, PA, 64, 0x401000, true);
	f = the_race(s);
	assert_int_equal(f->status, FINDING_CONFIRMED);
	assert_int_equal(f->unseen.why, SYNCVIS_UNPROBED_CODE);
}

static void test_hold_without_change_leaves_a_candidate(void **state)
{
	struct stream *s = *state;

	unseen_library(s, PA);
	hold(s, PA, 64, 0x401000, false);
	racy_counter(s);
	assert_int_equal(the_race(s)->status, FINDING_CANDIDATE);
}

static void test_hold_elsewhere_confirms_nothing(void **state)
{
	struct stream *s = *state;

	unseen_library(s, PA);
	hold(s, PA, 64, 0x409999, true);	/* another instruction */
	hold(s, PA, 72, 0x401000, true);	/* another word */
	racy_counter(s);
	assert_int_equal(the_race(s)->status, FINDING_CANDIDATE);
}

/*
 * A watchpoint sees the access once it ran and names the next instruction:
 * a hold at the instruction (4 bytes before) is taken for it; one at the
 * next instruction after that is not.
 */
static void test_hold_confirms_the_access_a_watchpoint_saw(void **state)
{
	struct stream *s = *state;

	unseen_library(s, PA);
	mem(s, PA, 64, EVF_WRITE, 0x401004);	/* watchpoint hit: the next instruction */
	mem(s, PB, 64, EVF_WRITE | EVF_PROBE, 0x402000);
	hold(s, PA, 64, 0x401000, true);
	assert_int_equal(the_race(s)->status, FINDING_CONFIRMED);
}

static void test_hold_after_the_watched_access_confirms_nothing(void **state)
{
	struct stream *s = *state;

	unseen_library(s, PA);
	mem(s, PA, 64, EVF_WRITE, 0x401004);
	mem(s, PB, 64, EVF_WRITE | EVF_PROBE, 0x402000);
	hold(s, PA, 64, 0x401004 + 2, true);
	hold(s, PA, 64, 0x401004 - 16, true);
	assert_int_equal(the_race(s)->status, FINDING_CANDIDATE);
}

static void test_hold_does_not_demote_a_prediction(void **state)
{
	struct stream *s = *state;

	hold(s, PA, 64, 0x401000, false);
	racy_counter(s);
	assert_int_equal(the_race(s)->status, FINDING_PREDICTED);
}

static void test_reasons_have_names(void **state)
{
	(void)state;
	assert_string_equal(syncvis_why__name(SYNCVIS_UNPROBED_CODE), "unprobed-code");
	assert_string_equal(syncvis_why__name(SYNCVIS_WATCHED_ATOMIC), "watched-atomic");
	assert_string_equal(syncvis_why__name(SYNCVIS_FOREIGN_FUTEX), "foreign-futex");
	assert_non_null(strstr(syncvis_why__describe(SYNCVIS_UNPROBED_CODE), "do not cover"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_race_of_visible_processes_stays_predicted),
		T(test_unprobed_library_atomics_make_the_race_a_candidate),
		T(test_either_process_unseen_makes_a_candidate),
		T(test_atomic_seen_only_by_a_watchpoint_makes_a_candidate),
		T(test_atomic_a_probe_also_saw_stays_visible),
		T(test_watched_atomic_of_one_thread_orders_nothing),
		T(test_watched_atomic_of_two_threads_makes_a_candidate),
		T(test_watched_atomic_of_a_mutex_is_the_libraries),
		T(test_futex_on_a_shared_word_nothing_owns_makes_a_candidate),
		T(test_futex_on_a_word_a_probe_saw_stays_visible),
		T(test_futex_on_a_mutex_word_stays_visible),
		T(test_private_futex_is_the_runtimes),
		T(test_hold_that_saw_a_change_confirms_the_candidate),
		T(test_hold_without_change_leaves_a_candidate),
		T(test_hold_elsewhere_confirms_nothing),
		T(test_hold_confirms_the_access_a_watchpoint_saw),
		T(test_hold_after_the_watched_access_confirms_nothing),
		T(test_hold_does_not_demote_a_prediction),
		T(test_reasons_have_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
