// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Lost events (EVF_AFTER_LOSS): synthetic streams through analyze_trace()
 * where some events never made it into the trace. No finding may rest on a
 * missing event; what was really observed is still reported. Each "lost"
 * case has a twin without the flag that does report, so the test can fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/analyze.h"
#include "analyzer/hb.h"
#include "analyzer/race.h"

#define MAX_EVENTS 128
#define PID 100
#define PA 100
#define PB 200

struct stream {
	struct ipcrace_event ev[MAX_EVENTS];
	size_t nr;
	__u32 next_flags;	/* EVF_AFTER_LOSS for the next event, after a loss */
	struct findings fs;
};

static struct ipcrace_event *emit(struct stream *s, __u16 type, __u32 pid, __u32 tid)
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
	e->flags = s->next_flags;
	s->next_flags = 0;
	return e;
}

/* Events were lost here: the next event emitted carries the news. */
static void lost(struct stream *s)
{
	s->next_flags = EVF_AFTER_LOSS;
}

/* --- locks ------------------------------------------------------------------- */

struct lock {
	__u64 addr;
	__u16 obj;
	__u64 kind;		/* mutex __kind */
};

static const struct lock M = { .addr = 0x1000, .obj = OBJ_MUTEX };
static const struct lock M2 = { .addr = 0x2000, .obj = OBJ_MUTEX };
static const struct lock RECURSIVE = { .addr = 0x3000, .obj = OBJ_MUTEX, .kind = 1 };
static const struct lock RW = { .addr = 0x4000, .obj = OBJ_RWLOCK };

static void lock_event(struct stream *s, __u16 type, __u32 tid, const struct lock *l,
		       __u32 flags, __u64 stack)
{
	struct ipcrace_event *e = emit(s, type, PID, tid);

	e->obj = l->obj;
	e->addr = l->addr;
	e->key.space = KEY_PRIVATE;
	e->key.a = PID;
	e->key.b = l->addr;
	e->flags |= flags;
	e->stack_id = stack;
	if (l->obj == OBJ_MUTEX)
		e->arg0 = l->kind;
}

static void lock_as(struct stream *s, __u32 tid, const struct lock *l, __u32 flags,
		    __u64 stack)
{
	lock_event(s, EV_LOCK_ATTEMPT, tid, l, flags, stack);
	lock_event(s, EV_LOCK_ACQUIRED, tid, l, flags, stack);
}

static void lock(struct stream *s, __u32 tid, const struct lock *l, __u64 stack)
{
	lock_as(s, tid, l, 0, stack);
}

static void unlock(struct stream *s, __u32 tid, const struct lock *l, __u64 stack)
{
	lock_event(s, EV_LOCK_RELEASE, tid, l, 0, stack);
}

/* tid's birth: the trace saw whatever it took (not attach mode) */
static void born(struct stream *s, __u32 tid)
{
	struct ipcrace_event *e = emit(s, EV_THREAD_SPAWN, PID, 1);

	e->arg0 = PID;
	e->arg1 = tid;
}

static void thread_exit(struct stream *s, __u32 tid)
{
	emit(s, EV_EXIT, PID, tid);
}

/* --- memory ------------------------------------------------------------------ */

/* Word 16 of a shared memory object both processes map. */
static void write_word(struct stream *s, __u32 pid, __u64 ip)
{
	struct ipcrace_event *e = emit(s, EV_MEM_ACCESS, pid, pid);

	e->obj = OBJ_MEMORY;
	e->key = (struct ipcrace_key){ .a = 0x17, .b = 777, .c = 16, .space = KEY_FILE };
	e->addr = 0x7f0000000010ull + pid;
	e->arg0 = ip;
	e->arg1 = 4;
	e->flags |= EVF_WRITE;
}

static void pipe_event(struct stream *s, __u16 type, __u32 pid)
{
	struct ipcrace_event *e = emit(s, type, pid, pid);

	e->obj = OBJ_PIPE;
	e->key = (struct ipcrace_key){ .a = 0xc, .b = 4242, .space = KEY_FILE };
	e->arg0 = 1;
	e->result = type == EV_CHAN_RECV ? 1 : 0;
}

/* --- driver ------------------------------------------------------------------ */

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

/* --- lock misuse ------------------------------------------------------------- */

/* T2's acquisition of M is lost; its release is what the trace shows. */
static void lost_acquire(struct stream *s, bool flagged)
{
	born(s, 2);
	lock(s, 1, &M, 11);
	unlock(s, 1, &M, 12);
	/* lost: T2 attempt + acquired */
	if (flagged)
		lost(s);
	unlock(s, 2, &M, 21);
}

static void test_release_after_lost_acquire_is_not_unlock_not_held(void **state)
{
	struct stream *s = *state;

	lost_acquire(s, true);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

static void test_release_with_acquire_missing_unflagged_is_unlock_not_held(void **state)
{
	struct stream *s = *state;

	lost_acquire(s, false);
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
	assert_int_equal(s->fs.nr, 1);
}

/* A lock never seen before the loss may have had its first acquisition lost. */
static void test_release_of_unseen_lock_after_loss_is_not_reported(void **state)
{
	struct stream *s = *state;

	lock(s, 1, &M2, 11);
	unlock(s, 1, &M2, 12);
	lost(s);
	unlock(s, 2, &M, 21);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/* An exclusive acquisition after the loss makes the lock's state known again. */
static void test_unlock_by_non_holder_reported_once_lock_taken_after_loss(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	lost_acquire(s, true);
	lock(s, 1, &M, 13);
	unlock(s, 2, &M, 22);		/* T1 holds it, seen after the loss */
	unlock(s, 1, &M, 14);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = &s->fs.items[0];
	assert_int_equal(f->kind, FINDING_UNLOCK_NOT_HELD);
	assert_int_equal(f->accesses[0].tid, 2);
	assert_int_equal(f->accesses[0].stack_id, 22);
}

/* A second loss makes the lock uncertain again. */
static void test_each_loss_makes_locks_uncertain_again(void **state)
{
	struct stream *s = *state;

	lost_acquire(s, true);
	lock(s, 1, &M, 13);
	unlock(s, 1, &M, 14);
	lost(s);
	unlock(s, 2, &M, 23);		/* its acquisition is the second loss */
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/*
 * T1 held a recursive mutex twice before the loss: after it, its first
 * acquisition does not tell how many levels it still had.
 */
static void test_recursive_levels_from_before_loss_are_not_unlock_not_held(void **state)
{
	struct stream *s = *state;

	lock(s, 1, &RECURSIVE, 11);
	lock(s, 1, &RECURSIVE, 11);
	lost(s);
	lock(s, 1, &RECURSIVE, 12);
	unlock(s, 1, &RECURSIVE, 13);
	unlock(s, 1, &RECURSIVE, 13);
	unlock(s, 1, &RECURSIVE, 13);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	/* once another thread took it, T1 provably had no hidden level */
	lock(s, 2, &RECURSIVE, 21);
	unlock(s, 2, &RECURSIVE, 22);
	unlock(s, 1, &RECURSIVE, 14);
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
	assert_int_equal(s->fs.items[0].accesses[0].stack_id, 14);
}

/* A read acquisition says nothing of other readers whose acquisition was lost. */
static void test_read_lock_after_loss_keeps_other_readers_uncertain(void **state)
{
	struct stream *s = *state;

	lock_as(s, 1, &RW, EVF_READ, 11);
	lost(s);
	lock_as(s, 2, &RW, EVF_READ, 21);
	unlock(s, 1, &RW, 12);		/* T1's read hold from before the loss */
	unlock(s, 2, &RW, 22);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/* T1's release of M is lost: its next lock of M is no double lock. */
static void lost_release(struct stream *s, bool flagged)
{
	lock(s, 1, &M, 11);
	/* lost: T1 release */
	if (flagged)
		lost(s);
	lock(s, 1, &M, 12);
	unlock(s, 1, &M, 13);
}

static void test_relock_after_lost_release_is_not_double_lock(void **state)
{
	struct stream *s = *state;

	lost_release(s, true);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

static void test_relock_with_release_missing_unflagged_is_double_lock(void **state)
{
	struct stream *s = *state;

	lost_release(s, false);
	analyze(s);
	assert_int_equal(count(s, FINDING_DOUBLE_LOCK), 1);
}

/* After the loss, a real double lock is still a double lock. */
static void test_double_lock_after_loss_is_reported(void **state)
{
	struct stream *s = *state;

	lost_release(s, true);
	lock(s, 1, &M, 14);
	lock_event(s, EV_LOCK_ATTEMPT, 1, &M, 0, 15);
	analyze(s);
	assert_int_equal(count(s, FINDING_DOUBLE_LOCK), 1);
	assert_int_equal(s->fs.items[0].accesses[0].stack_id, 15);
}

/* Held at exit: only what was acquired after the last loss counts. */
static void test_lock_held_at_exit_only_for_locks_taken_after_loss(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	lock(s, 1, &M, 11);
	/* lost: T1 release of M */
	lost(s);
	lock(s, 1, &M2, 12);
	thread_exit(s, 1);
	/* another thread of the process goes on: it could wait on M2 */
	lock(s, 2, &M, 13);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = &s->fs.items[0];
	assert_int_equal(f->kind, FINDING_LOCK_HELD_AT_EXIT);
	assert_int_equal(f->object.addr, M2.addr);
	assert_int_equal(f->accesses[0].stack_id, 12);
}

/* --- lock order -------------------------------------------------------------- */

static void test_inversion_observed_before_loss_is_still_reported(void **state)
{
	struct stream *s = *state;

	lock(s, 1, &M, 11);
	lock(s, 1, &M2, 12);
	unlock(s, 1, &M2, 13);
	unlock(s, 1, &M, 13);
	lock(s, 2, &M2, 21);
	lock(s, 2, &M, 22);
	unlock(s, 2, &M, 23);
	unlock(s, 2, &M2, 23);
	lost(s);
	lock(s, 3, &M, 31);
	unlock(s, 3, &M, 32);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
	assert_int_equal(s->fs.nr, 1);
}

/* A lock held across the loss is unknown: it gives no order edge after it. */
static void test_lock_held_across_loss_gives_no_order_edge(void **state)
{
	struct stream *s = *state;

	lock(s, 1, &M, 11);
	lost(s);
	lock(s, 1, &M2, 12);		/* M may have been released by a lost event */
	unlock(s, 1, &M2, 13);
	lock(s, 2, &M2, 21);
	lock(s, 2, &M, 22);
	unlock(s, 2, &M, 23);
	unlock(s, 2, &M2, 23);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 0);
}

/* A gate held across the loss still protects the edges taken after it. */
static void test_gate_held_across_loss_still_suppresses_cycle(void **state)
{
	struct stream *s = *state;
	static const struct lock G = { .addr = 0x5000, .obj = OBJ_MUTEX };

	lock(s, 1, &G, 10);
	lost(s);
	lock(s, 1, &M, 11);
	lock(s, 1, &M2, 12);
	unlock(s, 1, &M2, 13);
	unlock(s, 1, &M, 13);
	unlock(s, 1, &G, 13);
	lock(s, 2, &G, 20);
	lock(s, 2, &M2, 21);
	lock(s, 2, &M, 22);
	unlock(s, 2, &M, 23);
	unlock(s, 2, &M2, 23);
	unlock(s, 2, &G, 23);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	/*
	 * The same without the gate in T2: an inversion, once T2 is known to
	 * hold nothing (it may have taken locks in the lost window until it
	 * is seen releasing down to nothing).
	 */
	s->nr -= 9;		/* T2: three locks, three unlocks */
	lock(s, 2, &G, 20);
	unlock(s, 2, &G, 20);
	lock(s, 2, &M2, 21);
	lock(s, 2, &M, 22);
	unlock(s, 2, &M, 23);
	unlock(s, 2, &M2, 23);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
	assert_int_equal(s->fs.nr, 1);
}

/* A lock held across the loss is not shown as held: it may not be. */
static void test_lock_held_across_loss_not_listed_as_held(void **state)
{
	struct stream *s = *state;
	const struct finding *f;

	lock(s, 1, &M2, 10);
	lost(s);
	lock(s, 1, &M, 11);
	lock_event(s, EV_LOCK_ATTEMPT, 1, &M, 0, 12);	/* double lock */
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = &s->fs.items[0];
	assert_int_equal(f->kind, FINDING_DOUBLE_LOCK);
	assert_int_equal(f->accesses[0].nr_locks, 1);
	assert_int_equal(f->accesses[0].locks_held[0].addr, M.addr);
}

/* --- races ------------------------------------------------------------------- */

/* PA writes, then (maybe lost) a pipe hand-off to PB, then PB writes. */
static void writes_across_loss(struct stream *s, bool flagged)
{
	write_word(s, PA, 0x401000);
	/* lost: PA send, PB receive */
	if (flagged)
		lost(s);
	write_word(s, PB, 0x402000);
}

static void test_write_before_loss_never_races_with_write_after(void **state)
{
	struct stream *s = *state;

	writes_across_loss(s, true);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

static void test_writes_with_handoff_missing_unflagged_race(void **state)
{
	struct stream *s = *state;

	writes_across_loss(s, false);
	analyze(s);
	assert_int_equal(count(s, FINDING_DATA_RACE), 1);
}

static void test_unordered_writes_after_loss_race(void **state)
{
	struct stream *s = *state;

	write_word(s, PA, 0x401000);
	lost(s);
	write_word(s, PA, 0x401100);
	write_word(s, PB, 0x402000);
	analyze(s);
	assert_int_equal(count(s, FINDING_DATA_RACE), 1);
	assert_int_equal(s->fs.items[0].accesses[0].ip, 0x402000);
	assert_int_equal(s->fs.items[0].accesses[1].ip, 0x401100);
}

/* Order observed after the loss still counts. */
static void test_handoff_after_loss_orders_writes(void **state)
{
	struct stream *s = *state;

	lost(s);
	write_word(s, PA, 0x401000);
	pipe_event(s, EV_CHAN_SEND, PA);
	pipe_event(s, EV_CHAN_RECV, PB);
	write_word(s, PB, 0x402000);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

static void test_race_found_before_loss_stays_reported(void **state)
{
	struct stream *s = *state;

	write_word(s, PA, 0x401000);
	write_word(s, PB, 0x402000);
	lost(s);
	write_word(s, PA, 0x401100);
	analyze(s);
	assert_int_equal(count(s, FINDING_DATA_RACE), 1);
	assert_int_equal(s->fs.items[0].accesses[0].ip, 0x402000);
}

/* The detector on its own: findings and the watched-words count survive. */
static void test_racedet_forget_keeps_findings_and_word_count(void **state)
{
	struct stream *s = *state;
	struct hb *hb = hb__new();
	struct racedet *rd = hb ? racedet__new(hb) : NULL;
	struct findings out = { 0 };
	size_t i;

	assert_non_null(rd);
	write_word(s, PA, 0x401000);
	write_word(s, PB, 0x402000);
	write_word(s, PA, 0x401100);
	for (i = 0; i < 2; i++)
		assert_int_equal(racedet__access(rd, &s->ev[i], NULL, 0, &out), 0);
	assert_int_equal(out.nr, 1);
	racedet__forget(rd);
	assert_int_equal(racedet__nr_words(rd), 1);
	assert_int_equal(racedet__access(rd, &s->ev[2], NULL, 0, &out), 0);
	assert_int_equal(out.nr, 1);	/* PB's write is forgotten */
	/* the same pair of locations again after the loss: still deduplicated */
	racedet__forget(rd);
	assert_int_equal(racedet__access(rd, &s->ev[1], NULL, 0, &out), 0);
	assert_int_equal(racedet__access(rd, &s->ev[0], NULL, 0, &out), 0);
	assert_int_equal(out.nr, 1);
	findings__clear(&out);
	racedet__free(rd);
	hb__free(hb);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_release_after_lost_acquire_is_not_unlock_not_held),
		T(test_release_with_acquire_missing_unflagged_is_unlock_not_held),
		T(test_release_of_unseen_lock_after_loss_is_not_reported),
		T(test_unlock_by_non_holder_reported_once_lock_taken_after_loss),
		T(test_each_loss_makes_locks_uncertain_again),
		T(test_recursive_levels_from_before_loss_are_not_unlock_not_held),
		T(test_read_lock_after_loss_keeps_other_readers_uncertain),
		T(test_relock_after_lost_release_is_not_double_lock),
		T(test_relock_with_release_missing_unflagged_is_double_lock),
		T(test_double_lock_after_loss_is_reported),
		T(test_lock_held_at_exit_only_for_locks_taken_after_loss),
		T(test_inversion_observed_before_loss_is_still_reported),
		T(test_lock_held_across_loss_gives_no_order_edge),
		T(test_gate_held_across_loss_still_suppresses_cycle),
		T(test_lock_held_across_loss_not_listed_as_held),
		T(test_write_before_loss_never_races_with_write_after),
		T(test_writes_with_handoff_missing_unflagged_race),
		T(test_unordered_writes_after_loss_race),
		T(test_handoff_after_loss_orders_writes),
		T(test_race_found_before_loss_stays_reported),
		T(test_racedet_forget_keeps_findings_and_word_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
