// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Deferred lock acquisitions (analyzer/lock_defer.h): lock calls recorded
 * without a return probe, their acquisition completed at the thread's next
 * event. On its own, and through analyze_trace on synthetic streams.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/analyze.h"
#include "analyzer/identity.h"
#include "analyzer/lock_defer.h"

#define PID 100
#define MUTEX 0x1000
#define MAX_EVENTS 64

struct stream {
	struct ipcrace_event ev[MAX_EVENTS];
	size_t nr;
	struct findings fs;
};

static struct ipcrace_event event(__u16 type, __u32 tid)
{
	struct ipcrace_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = IPCRACE_REC_EVENT;
	e.hdr.size = sizeof(e);
	e.type = type;
	e.pid = PID;
	e.tid = tid;
	snprintf(e.comm, sizeof(e.comm), "t%u", tid);
	return e;
}

/* A lock event on the private mutex at addr, kind 0 (PTHREAD_MUTEX_NORMAL). */
static struct ipcrace_event lock_ev(__u16 type, __u32 tid, __u64 addr, __u32 flags, __u64 stack)
{
	struct ipcrace_event e = event(type, tid);

	e.obj = OBJ_MUTEX;
	e.addr = addr;
	e.key = (struct ipcrace_key){ .space = KEY_PRIVATE, .a = PID, .b = addr };
	e.flags = flags;
	e.stack_id = stack;
	return e;
}

static struct ipcrace_event deferred(__u32 tid, __u64 addr, __u64 stack)
{
	return lock_ev(EV_LOCK_ATTEMPT, tid, addr, EVF_ACQUIRE_DEFERRED, stack);
}

static struct ipcrace_event futex_wait(__u32 tid, __u64 addr, int result)
{
	struct ipcrace_event e = event(EV_FUTEX_WAIT_RET, tid);

	e.obj = OBJ_FUTEX;
	e.addr = addr;
	e.key = (struct ipcrace_key){ .space = KEY_PRIVATE, .a = PID, .b = addr };
	e.result = result;
	return e;
}

/* A 4-byte access to the shared word X (the same in every process). */
static struct ipcrace_event access_x(__u32 tid, __u32 flags, __u64 ip)
{
	struct ipcrace_event e = event(EV_MEM_ACCESS, tid);

	e.obj = OBJ_MEMORY;
	e.addr = 0x7f0000000010ull;
	e.key = (struct ipcrace_key){ .space = KEY_FILE, .a = 0x17, .b = 777, .c = 16 };
	e.arg0 = ip;
	e.arg1 = 4;
	e.flags = flags;
	return e;
}

static struct ipcrace_event exit_ev(__u32 tid, bool group_dead)
{
	struct ipcrace_event e = event(EV_EXIT, tid);

	e.flags = group_dead ? EVF_GROUP_DEAD : 0;
	return e;
}

static void push(struct stream *s, struct ipcrace_event e)
{
	assert_true(s->nr < MAX_EVENTS);
	e.ts = 1000 + s->nr;
	s->ev[s->nr++] = e;
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

/* --- lock_defer on its own ---------------------------------------------------- */

static void test_next_event_of_the_thread_completes_the_acquisition(void **state)
{
	struct lock_defer *ld = lock_defer__new();
	struct ipcrace_event a = deferred(1, MUTEX, 11), acq;

	(void)state;
	assert_non_null(ld);
	a.ts = 500;
	assert_false(lock_defer__event(ld, &a, &acq));
	assert_int_equal(lock_defer__pending(ld), 1);
	/* another thread's event: still pending */
	a = access_x(2, EVF_WRITE, 0x401000);
	assert_false(lock_defer__event(ld, &a, &acq));
	/* the lock call's own futex wait on the mutex word: still pending */
	a = futex_wait(1, MUTEX, 0);
	assert_false(lock_defer__event(ld, &a, &acq));
	assert_int_equal(lock_defer__pending(ld), 1);
	/* its next event after the call: the acquisition, as the return would say */
	a = access_x(1, EVF_READ, 0x401010);
	assert_true(lock_defer__event(ld, &a, &acq));
	assert_int_equal(acq.type, EV_LOCK_ACQUIRED);
	assert_int_equal(acq.tid, 1);
	assert_int_equal(acq.addr, MUTEX);
	assert_int_equal(acq.key.b, MUTEX);
	assert_int_equal(acq.stack_id, 11);
	assert_int_equal(acq.ts, 500);
	assert_int_equal(acq.result, 0);
	assert_int_equal(acq.flags & EVF_ACQUIRE_DEFERRED, 0);
	assert_int_equal(lock_defer__pending(ld), 0);
	/* once only */
	assert_false(lock_defer__event(ld, &a, &acq));
	lock_defer__free(ld);
}

static void test_deferred_attempt_completes_the_previous_one(void **state)
{
	struct lock_defer *ld = lock_defer__new();
	struct ipcrace_event a = deferred(1, MUTEX, 11), b = deferred(1, 0x2000, 12), acq;

	(void)state;
	assert_false(lock_defer__event(ld, &a, &acq));
	assert_true(lock_defer__event(ld, &b, &acq));
	assert_int_equal(acq.addr, MUTEX);
	assert_int_equal(lock_defer__pending(ld), 1);
	lock_defer__free(ld);
}

/*
 * lock_defer__next, the driver's form: the acquisition it hands back is
 * made in the slot of the attempt, and stays what it is when the next
 * attempt of the thread takes that slot.
 */
static void test_next_hands_the_acquisition_before_the_next_attempt(void **state)
{
	struct lock_defer *ld = lock_defer__new();
	struct ipcrace_event a = deferred(1, MUTEX, 11), b = deferred(1, 0x2000, 12);
	struct ipcrace_event r = lock_ev(EV_LOCK_RELEASE, 1, 0x2000, 0, 13);
	const struct ipcrace_event *made;

	(void)state;
	assert_non_null(ld);
	assert_null(lock_defer__next(ld, &a));
	made = lock_defer__next(ld, &b);
	assert_non_null(made);
	assert_int_equal(made->type, EV_LOCK_ACQUIRED);
	assert_int_equal(made->addr, MUTEX);
	assert_int_equal(made->stack_id, 11);
	assert_int_equal(made->flags & EVF_ACQUIRE_DEFERRED, 0);
	assert_int_equal(lock_defer__pending(ld), 1);
	made = lock_defer__next(ld, &r);
	assert_non_null(made);
	assert_int_equal(made->type, EV_LOCK_ACQUIRED);
	assert_int_equal(made->addr, 0x2000);
	assert_int_equal(made->stack_id, 12);
	assert_int_equal(lock_defer__pending(ld), 0);
	assert_null(lock_defer__next(ld, &r));
	lock_defer__free(ld);
}

static void test_exit_after_interrupted_wait_is_no_acquisition(void **state)
{
	struct lock_defer *ld = lock_defer__new();
	struct ipcrace_event e = deferred(1, MUTEX, 11), acq;

	(void)state;
	assert_false(lock_defer__event(ld, &e, &acq));
	e = futex_wait(1, MUTEX, -512);		/* -ERESTARTSYS: a fatal signal */
	assert_false(lock_defer__event(ld, &e, &acq));
	e = exit_ev(1, false);
	assert_false(lock_defer__event(ld, &e, &acq));
	assert_int_equal(lock_defer__pending(ld), 0);

	/* woken, then it exits with the lock: acquired */
	e = deferred(1, MUTEX, 11);
	assert_false(lock_defer__event(ld, &e, &acq));
	e = futex_wait(1, MUTEX, -EAGAIN);
	assert_false(lock_defer__event(ld, &e, &acq));
	e = futex_wait(1, MUTEX, 0);
	assert_false(lock_defer__event(ld, &e, &acq));
	e = exit_ev(1, false);
	assert_true(lock_defer__event(ld, &e, &acq));
	lock_defer__free(ld);
}

static void test_futex_on_another_word_completes(void **state)
{
	struct lock_defer *ld = lock_defer__new();
	struct ipcrace_event e = deferred(1, MUTEX, 11), acq;

	(void)state;
	assert_false(lock_defer__event(ld, &e, &acq));
	e = futex_wait(1, MUTEX + LOCK_DEFER_OBJECT_BYTES, 0);
	assert_true(lock_defer__event(ld, &e, &acq));
	lock_defer__free(ld);
}

/* --- through the analyzer ------------------------------------------------------ */

/*
 * T1 writes X holding the mutex; T2's lock call starts (deferred) while T1
 * holds it; T1's release comes after T2's attempt and before T2's next
 * event, the read of X: the release orders the write before the read.
 */
static void test_release_after_attempt_orders_before_next_event(void **state)
{
	struct stream *s = *state;

	push(s, deferred(1, MUTEX, 11));
	push(s, access_x(1, EVF_WRITE, 0x401000));
	push(s, deferred(2, MUTEX, 21));
	push(s, futex_wait(2, MUTEX, -EAGAIN));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 12));
	push(s, futex_wait(2, MUTEX, 0));
	push(s, access_x(2, EVF_READ, 0x401010));
	push(s, lock_ev(EV_LOCK_RELEASE, 2, MUTEX, 0, 22));
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/* The control: T2's read before T1's release is unordered (T2 never waited). */
static void test_event_before_the_release_is_not_ordered_by_it(void **state)
{
	struct stream *s = *state;

	push(s, deferred(1, MUTEX, 11));
	push(s, access_x(1, EVF_WRITE, 0x401000));
	push(s, deferred(2, MUTEX, 21));
	push(s, access_x(2, EVF_READ, 0x401010));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 12));
	analyze(s);
	assert_int_equal(count(s, FINDING_DATA_RACE), 1);
}

/* The stream ends right after a lock entry: no acquisition, no finding. */
static void test_stream_ending_after_lock_entry(void **state)
{
	struct stream *s = *state;
	struct ipcrace_event a = deferred(1, MUTEX, 11);

	/* a process-shared mutex: held at exit would be a finding */
	a.key = (struct ipcrace_key){ .space = KEY_FILE, .a = 0x17, .b = 4242, .c = 0 };
	push(s, a);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/* Killed while it waited for a shared mutex: not held at its exit. */
static void test_killed_waiter_holds_nothing_at_exit(void **state)
{
	struct stream *s = *state;
	struct ipcrace_event a = deferred(1, MUTEX, 11), w = futex_wait(1, MUTEX, -512);

	a.key = (struct ipcrace_key){ .space = KEY_FILE, .a = 0x17, .b = 4242, .c = 0 };
	w.key = a.key;
	push(s, a);
	push(s, w);
	push(s, exit_ev(1, true));
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	/* the same without the interrupted wait: it exits holding the lock */
	s->nr = 0;
	push(s, a);
	push(s, exit_ev(1, true));
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_HELD_AT_EXIT), 1);
}

/* A failed trylock (return probe kept) neither holds nor completes wrongly. */
static void test_failed_trylock_after_deferred_lock(void **state)
{
	struct stream *s = *state;

	push(s, deferred(1, MUTEX, 11));
	push(s, lock_ev(EV_LOCK_ATTEMPT, 2, MUTEX, EVF_TRY, 21));
	push(s, lock_ev(EV_LOCK_ACQUIRED, 2, MUTEX, EVF_TRY, 21));
	s->ev[s->nr - 1].result = EBUSY;
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 12));
	/* T2 never got it: its unlock is a misuse, naming no holder */
	push(s, lock_ev(EV_LOCK_RELEASE, 2, MUTEX, 0, 22));
	/* T1 again: a relock of a mutex it released is no double lock */
	push(s, deferred(1, MUTEX, 13));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 14));
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
	assert_int_equal(s->fs.items[0].accesses[0].tid, 2);
}

/* A double lock is reported at the deferred attempt, as before. */
static void test_double_lock_of_deferred_mutex(void **state)
{
	struct stream *s = *state;

	push(s, deferred(1, MUTEX, 11));
	push(s, access_x(1, EVF_WRITE, 0x401000));
	push(s, deferred(1, MUTEX, 12));
	analyze(s);
	assert_int_equal(count(s, FINDING_DOUBLE_LOCK), 1);
}

/* Pending across lost events: its release may be lost too, so no double lock. */
static void test_acquisition_across_a_loss_may_be_released(void **state)
{
	struct stream *s = *state;
	struct ipcrace_event after = access_x(2, EVF_WRITE, 0x402000);

	push(s, deferred(1, MUTEX, 11));
	after.flags |= EVF_AFTER_LOSS;
	push(s, after);
	push(s, access_x(1, EVF_WRITE, 0x401000));
	push(s, deferred(1, MUTEX, 12));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 13));
	analyze(s);
	assert_int_equal(count(s, FINDING_DOUBLE_LOCK), 0);
}

/* Lock order from deferred attempts: ABBA across two threads. */
static void test_abba_from_deferred_attempts(void **state)
{
	struct stream *s = *state;

	push(s, deferred(1, MUTEX, 11));
	push(s, deferred(1, 0x2000, 12));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, 0x2000, 0, 13));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 14));
	push(s, deferred(2, 0x2000, 21));
	push(s, deferred(2, MUTEX, 22));
	push(s, lock_ev(EV_LOCK_RELEASE, 2, MUTEX, 0, 23));
	push(s, lock_ev(EV_LOCK_RELEASE, 2, 0x2000, 0, 24));
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

/*
 * A recursive mutex taken twice, each acquisition completed by the next
 * event: the inner one by its own release while the outer hold stays
 * (lockstate's usual path), the outer one free after its release; a
 * pair of another thread then, and no finding anywhere.
 */
static void test_recursive_deferred_pairs_nest(void **state)
{
	struct stream *s = *state;
	struct ipcrace_event e;
	int i;

	for (i = 0; i < 2; i++) {
		e = deferred(1, MUTEX, 11 + i);
		e.arg0 = 1;	/* PTHREAD_MUTEX_RECURSIVE */
		push(s, e);
	}
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 13));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 14));
	push(s, deferred(2, MUTEX, 21));
	push(s, lock_ev(EV_LOCK_RELEASE, 2, MUTEX, 0, 22));
	push(s, exit_ev(1, false));
	push(s, exit_ev(2, true));
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
	/* one release more: the mutex is free, its unlock names no holder */
	s->nr -= 2;
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 15));
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
	assert_int_equal(s->fs.items[0].nr_accesses, 1);
}

/*
 * Lock pairs whose release completes the acquisition leave nothing held:
 * the thread's next attempt under another lock adds no edge from it, its
 * exit holds nothing, and a nested pair still orders the outer lock first.
 */
static void test_pairs_completed_by_their_release_hold_nothing(void **state)
{
	struct stream *s = *state;

	push(s, deferred(1, MUTEX, 11));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 12));
	push(s, deferred(1, 0x2000, 13));
	push(s, deferred(1, MUTEX, 14));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, MUTEX, 0, 15));
	push(s, lock_ev(EV_LOCK_RELEASE, 1, 0x2000, 0, 16));
	/* the other order once in T2 with only MUTEX held: a cycle */
	push(s, deferred(2, MUTEX, 21));
	push(s, deferred(2, 0x2000, 22));
	push(s, lock_ev(EV_LOCK_RELEASE, 2, 0x2000, 0, 23));
	push(s, lock_ev(EV_LOCK_RELEASE, 2, MUTEX, 0, 24));
	push(s, exit_ev(1, false));
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_event_of_the_thread_completes_the_acquisition),
		cmocka_unit_test(test_deferred_attempt_completes_the_previous_one),
		cmocka_unit_test(test_next_hands_the_acquisition_before_the_next_attempt),
		cmocka_unit_test(test_exit_after_interrupted_wait_is_no_acquisition),
		cmocka_unit_test(test_futex_on_another_word_completes),
		T(test_release_after_attempt_orders_before_next_event),
		T(test_event_before_the_release_is_not_ordered_by_it),
		T(test_stream_ending_after_lock_entry),
		T(test_killed_waiter_holds_nothing_at_exit),
		T(test_failed_trylock_after_deferred_lock),
		T(test_double_lock_of_deferred_mutex),
		T(test_acquisition_across_a_loss_may_be_released),
		T(test_abba_from_deferred_attempts),
		T(test_recursive_deferred_pairs_nest),
		T(test_pairs_completed_by_their_release_hold_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
