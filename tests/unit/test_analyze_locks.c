// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Lock analysis end to end: synthetic event streams, built in memory the way
 * the BPF programs emit them, through analyze_trace().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/analyze.h"
#include "analyzer/identity.h"

#define MAX_EVENTS 512
#define PID 100

struct stream {
	struct ipcrace_event ev[MAX_EVENTS];
	size_t nr;
	struct trace_mapping maps[8];
	size_t nr_maps;
	struct findings fs;
};

/* A lock as one process sees it. */
struct lock {
	__u32 pid;
	__u64 addr;
	struct ipcrace_key key;		/* KEY_NONE: left to the analyzer */
	__u16 obj;
	__u64 kind;			/* mutex __kind */
};

static struct lock mutex(__u64 addr)
{
	struct lock l = { .pid = PID, .addr = addr, .obj = OBJ_MUTEX };

	l.key.space = KEY_PRIVATE;
	l.key.a = PID;
	l.key.b = addr;
	return l;
}

static struct lock with_obj(struct lock l, __u16 obj)
{
	l.obj = obj;
	return l;
}

static struct lock with_kind(struct lock l, __u64 kind)
{
	l.kind = kind;
	return l;
}

/* A mutex in a shared segment, mapped by pid at base. */
static struct lock shared_mutex(__u32 pid, __u64 base, __u64 off, bool resolved)
{
	struct lock l = { .pid = pid, .addr = base + off, .obj = OBJ_MUTEX };

	if (resolved) {
		l.key.space = KEY_FILE;
		l.key.a = 0x17;
		l.key.b = 4242;
		l.key.c = off;
	}
	l.kind = 0x80;		/* PTHREAD_PROCESS_SHARED */
	return l;
}

static void emit(struct stream *s, __u16 type, __u32 tid, const struct lock *l,
		 __u32 flags, __u64 stack, int result)
{
	struct ipcrace_event *e;

	assert_true(s->nr < MAX_EVENTS);
	e = &s->ev[s->nr++];
	memset(e, 0, sizeof(*e));
	e->hdr.kind = IPCRACE_REC_EVENT;
	e->hdr.size = sizeof(*e);
	e->ts = 1000 + s->nr;
	e->type = type;
	e->tid = tid;
	e->pid = l ? l->pid : PID;
	snprintf(e->comm, sizeof(e->comm), "t%u", tid);
	e->flags = flags;
	e->stack_id = stack;
	e->result = result;
	if (!l)
		return;
	e->obj = l->obj;
	e->addr = l->addr;
	e->key = l->key;
	if (l->key.space == KEY_NONE)
		e->flags |= EVF_KEY_UNRESOLVED;
	if (l->obj == OBJ_MUTEX)
		e->arg0 = l->kind;
}

/*
 * The second run of every test: the lock calls BPF records without a
 * return probe (bpf/locks.bpf.c: a blocking lock of a mutex that cannot
 * fail) come as one deferred attempt, their acquisition left to the
 * analyzer (analyzer/lock_defer.h). Every verdict must be the same.
 */
static bool deferred_run;

static bool defers(const struct lock *l, __u32 flags, int result)
{
	return deferred_run && l->obj == OBJ_MUTEX && !(flags & (EVF_TRY | EVF_TIMED)) &&
	       result == 0 && (l->kind & 0x3) != 0x2 && !(l->kind & 0x70);
}

static void attempt(struct stream *s, __u32 tid, const struct lock *l, __u32 flags,
		    __u64 stack, int result)
{
	if (defers(l, flags, result)) {
		emit(s, EV_LOCK_ATTEMPT, tid, l, flags | EVF_ACQUIRE_DEFERRED, stack, 0);
		return;
	}
	emit(s, EV_LOCK_ATTEMPT, tid, l, flags, stack, 0);
	emit(s, EV_LOCK_ACQUIRED, tid, l, flags, stack, result);
}

static void lock(struct stream *s, __u32 tid, const struct lock *l, __u64 stack)
{
	attempt(s, tid, l, 0, stack, 0);
}

static void trylock(struct stream *s, __u32 tid, const struct lock *l, __u64 stack,
		    int result)
{
	attempt(s, tid, l, EVF_TRY, stack, result);
}

static void unlock(struct stream *s, __u32 tid, const struct lock *l, __u64 stack)
{
	emit(s, EV_LOCK_RELEASE, tid, l, 0, stack, 0);
}

static void thread_exit(struct stream *s, __u32 pid, __u32 tid, bool group_dead)
{
	emit(s, EV_EXIT, tid, NULL, group_dead ? EVF_GROUP_DEAD : 0, 0, 0);
	s->ev[s->nr - 1].pid = pid;
}

/* tid is seen being created (the trace saw its whole history) */
static void born(struct stream *s, __u32 tid)
{
	emit(s, EV_THREAD_SPAWN, PID, NULL, 0, 0, 0);
	s->ev[s->nr - 1].arg0 = PID;
	s->ev[s->nr - 1].arg1 = tid;
}

static void analyze(struct stream *s)
{
	struct trace t;

	memset(&t, 0, sizeof(t));
	t.events = s->ev;
	t.nr_events = s->nr;
	t.mappings = s->maps;
	t.nr_mappings = s->nr_maps;
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

static const struct finding *first(const struct stream *s, enum finding_kind kind)
{
	size_t i;

	for (i = 0; i < s->fs.nr; i++)
		if (s->fs.items[i].kind == kind)
			return &s->fs.items[i];
	fail_msg("no %s finding", finding_kind__name(kind));
	return NULL;
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

/* --- lock order ------------------------------------------------------------- */

static void test_abba_two_threads_reports_one_cycle(void **state)
{
	struct stream *s = *state;
	struct lock a = mutex(0x1000), b = mutex(0x2000);
	const struct finding *f;

	lock(s, 1, &a, 11);
	lock(s, 1, &b, 12);
	unlock(s, 1, &b, 13);
	unlock(s, 1, &a, 14);
	lock(s, 2, &b, 21);
	lock(s, 2, &a, 22);
	unlock(s, 2, &a, 23);
	unlock(s, 2, &b, 24);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = first(s, FINDING_LOCK_ORDER_INVERSION);
	assert_int_equal(f->nr_cycle, 2);
	assert_true(ipcrace_key__equal(&f->object.key, &a.key));
	/* T1 requested B at stack 12 holding A taken at stack 11 */
	assert_true(ipcrace_key__equal(&f->cycle[0].held.key, &a.key));
	assert_true(ipcrace_key__equal(&f->cycle[0].lock.key, &b.key));
	assert_int_equal(f->cycle[0].who.tid, 1);
	assert_int_equal(f->cycle[0].who.stack_id, 12);
	assert_int_equal(f->cycle[0].held_stack_id, 11);
	assert_string_equal(f->cycle[0].who.comm, "t1");
	assert_int_equal(f->cycle[0].who.nr_locks, 1);
	assert_true(ipcrace_key__equal(&f->cycle[0].who.locks_held[0].key, &a.key));
	assert_int_equal(f->cycle[1].who.tid, 2);
	assert_int_equal(f->cycle[1].who.stack_id, 22);
	assert_int_equal(f->cycle[1].held_stack_id, 21);
}

/* Both processes map the segment at different addresses; BPF gave the keys. */
static void test_abba_across_processes_on_shared_lock_names_both_pids(void **state)
{
	struct stream *s = *state;
	struct lock a1 = shared_mutex(100, 0x7f0000000000, 0x0, true);
	struct lock b1 = shared_mutex(100, 0x7f0000000000, 0x40, true);
	struct lock a2 = shared_mutex(200, 0x7e0000010000, 0x0, true);
	struct lock b2 = shared_mutex(200, 0x7e0000010000, 0x40, true);
	const struct finding *f;

	lock(s, 100, &a1, 11);
	lock(s, 100, &b1, 12);
	unlock(s, 100, &b1, 13);
	unlock(s, 100, &a1, 14);
	lock(s, 200, &b2, 21);
	lock(s, 200, &a2, 22);
	unlock(s, 200, &a2, 23);
	unlock(s, 200, &b2, 24);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = first(s, FINDING_LOCK_ORDER_INVERSION);
	assert_int_equal(f->nr_cycle, 2);
	assert_int_equal(f->cycle[0].who.pid, 100);
	assert_int_equal(f->cycle[0].lock.addr, b1.addr);
	assert_int_equal(f->cycle[1].who.pid, 200);
	assert_int_equal(f->cycle[1].lock.addr, a2.addr);
	assert_int_equal(f->cycle[1].lock.pid, 200);
}

/* Same, but BPF could not resolve the keys: the mapping snapshots do. */
static void test_abba_across_processes_resolved_from_mappings(void **state)
{
	struct stream *s = *state;
	struct lock a1 = shared_mutex(100, 0x7f0000000000, 0x0, false);
	struct lock b1 = shared_mutex(100, 0x7f0000000000, 0x40, false);
	struct lock a2 = shared_mutex(200, 0x7e0000010000, 0x0, false);
	struct lock b2 = shared_mutex(200, 0x7e0000010000, 0x40, false);
	const struct finding *f;
	struct trace_mapping m = { .ts = 1, .end = 0x1000, .dev = 0x17, .ino = 4242,
				   .prot = 3, .flags = MAPF_SHARED };

	m.pid = 100;
	m.start = 0x7f0000000000;
	m.end = m.start + 0x1000;
	s->maps[s->nr_maps++] = m;
	m.pid = 200;
	m.start = 0x7e0000010000;
	m.end = m.start + 0x1000;
	s->maps[s->nr_maps++] = m;

	lock(s, 100, &a1, 11);
	lock(s, 100, &b1, 12);
	unlock(s, 100, &b1, 13);
	unlock(s, 100, &a1, 14);
	lock(s, 200, &b2, 21);
	lock(s, 200, &a2, 22);
	unlock(s, 200, &a2, 23);
	unlock(s, 200, &b2, 24);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = first(s, FINDING_LOCK_ORDER_INVERSION);
	assert_int_equal(f->object.key.space, KEY_FILE);
	assert_int_equal(f->object.key.b, 4242);
	assert_int_equal(f->cycle[0].who.pid, 100);
	assert_int_equal(f->cycle[1].who.pid, 200);

	/* without the mappings the two processes' locks are unrelated */
	s->nr_maps = 0;
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

static void test_three_lock_cycle_over_three_threads(void **state)
{
	struct stream *s = *state;
	struct lock a = mutex(0x1000), b = mutex(0x2000), c = mutex(0x3000);
	const struct finding *f;

	lock(s, 1, &a, 11);
	lock(s, 1, &b, 12);
	unlock(s, 1, &b, 13);
	unlock(s, 1, &a, 14);
	lock(s, 2, &b, 21);
	lock(s, 2, &c, 22);
	unlock(s, 2, &c, 23);
	unlock(s, 2, &b, 24);
	lock(s, 3, &c, 31);
	lock(s, 3, &a, 32);
	unlock(s, 3, &a, 33);
	unlock(s, 3, &c, 34);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = first(s, FINDING_LOCK_ORDER_INVERSION);
	assert_int_equal(f->nr_cycle, 3);
	assert_int_equal(f->cycle[0].who.tid, 1);
	assert_int_equal(f->cycle[1].who.tid, 2);
	assert_int_equal(f->cycle[2].who.tid, 3);
	assert_true(ipcrace_key__equal(&f->cycle[2].lock.key, &a.key));
}

static void test_consistent_order_reports_nothing(void **state)
{
	struct stream *s = *state;
	struct lock a = mutex(0x1000), b = mutex(0x2000), c = mutex(0x3000);
	__u32 tid;

	for (tid = 1; tid <= 3; tid++) {
		lock(s, tid, &a, 11);
		lock(s, tid, &b, 12);
		lock(s, tid, &c, 13);
		unlock(s, tid, &c, 14);
		unlock(s, tid, &b, 15);
		unlock(s, tid, &a, 16);
		lock(s, tid, &b, 17);
		lock(s, tid, &c, 18);
		unlock(s, tid, &c, 19);
		unlock(s, tid, &b, 20);
	}
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/* Like ThreadSanitizer: one thread taking both orders can deadlock with itself run twice. */
static void test_inversion_by_a_single_thread_is_reported(void **state)
{
	struct stream *s = *state;
	struct lock a = mutex(0x1000), b = mutex(0x2000);

	lock(s, 1, &a, 11);
	lock(s, 1, &b, 12);
	unlock(s, 1, &b, 13);
	unlock(s, 1, &a, 14);
	lock(s, 1, &b, 15);
	lock(s, 1, &a, 16);
	unlock(s, 1, &a, 17);
	unlock(s, 1, &b, 18);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

static void test_gate_lock_suppresses_cycle(void **state)
{
	struct stream *s = *state;
	struct lock g = mutex(0x9000), a = mutex(0x1000), b = mutex(0x2000);

	lock(s, 1, &g, 10);
	lock(s, 1, &a, 11);
	lock(s, 1, &b, 12);
	unlock(s, 1, &b, 13);
	unlock(s, 1, &a, 14);
	unlock(s, 1, &g, 15);
	lock(s, 2, &g, 20);
	lock(s, 2, &b, 21);
	lock(s, 2, &a, 22);
	unlock(s, 2, &a, 23);
	unlock(s, 2, &b, 24);
	unlock(s, 2, &g, 25);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	/* a third thread takes B then A without the gate: that one can deadlock */
	lock(s, 3, &b, 31);
	lock(s, 3, &a, 32);
	unlock(s, 3, &a, 33);
	unlock(s, 3, &b, 34);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

/* lock A; while (trylock B fails) { unlock A; lock A; }: never blocks holding A on B. */
static void test_trylock_backoff_pattern_is_clean(void **state)
{
	struct stream *s = *state;
	struct lock a = mutex(0x1000), b = mutex(0x2000);

	lock(s, 2, &b, 21);
	lock(s, 1, &a, 11);
	trylock(s, 1, &b, 12, EBUSY);
	unlock(s, 1, &a, 13);
	lock(s, 2, &a, 22);
	unlock(s, 2, &a, 23);
	unlock(s, 2, &b, 24);
	lock(s, 1, &a, 11);
	trylock(s, 1, &b, 12, 0);
	unlock(s, 1, &b, 14);
	unlock(s, 1, &a, 15);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	/* the control: a blocking lock in place of the trylock is an inversion */
	lock(s, 1, &a, 16);
	lock(s, 1, &b, 17);
	unlock(s, 1, &b, 18);
	unlock(s, 1, &a, 19);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

static void test_recursive_relock_adds_no_edge_and_no_double_lock(void **state)
{
	struct stream *s = *state;
	struct lock r = with_kind(mutex(0x1000), 1), a = mutex(0x2000);

	lock(s, 1, &r, 11);
	lock(s, 1, &r, 12);		/* depth 2 */
	trylock(s, 1, &r, 13, 0);	/* depth 3 */
	unlock(s, 1, &r, 14);
	unlock(s, 1, &r, 15);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	/* still held once: R -> A is an edge, and B's A -> R closes a cycle */
	lock(s, 1, &a, 16);
	unlock(s, 1, &a, 17);
	unlock(s, 1, &r, 18);
	lock(s, 2, &a, 21);
	lock(s, 2, &r, 22);
	unlock(s, 2, &r, 23);
	unlock(s, 2, &a, 24);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
	/* and after the last unlock it is not held: no unlock-not-held, no leak */
	thread_exit(s, PID, 1, false);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
}

static void test_errorcheck_double_lock_reported_once_per_stack(void **state)
{
	struct stream *s = *state;
	struct lock m = with_kind(mutex(0x1000), 2);
	const struct finding *f;

	lock(s, 1, &m, 11);
	attempt(s, 1, &m, 0, 12, EDEADLK);
	attempt(s, 1, &m, 0, 12, EDEADLK);
	unlock(s, 1, &m, 13);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = first(s, FINDING_DOUBLE_LOCK);
	assert_true(ipcrace_key__equal(&f->object.key, &m.key));
	assert_int_equal(f->accesses[0].tid, 1);
	assert_int_equal(f->accesses[0].stack_id, 12);
	assert_int_equal(f->accesses[0].nr_locks, 1);
	assert_int_equal(f->nr_accesses, 2);
	assert_int_equal(f->accesses[1].stack_id, 11);	/* where it was taken */

	/* another stack is another report */
	lock(s, 1, &m, 11);
	attempt(s, 1, &m, 0, 14, EDEADLK);
	unlock(s, 1, &m, 15);
	analyze(s);
	assert_int_equal(count(s, FINDING_DOUBLE_LOCK), 2);
}

/* A trylock that finds its lock taken gets EBUSY and never blocks. */
static void test_trylock_busy_is_no_double_lock(void **state)
{
	struct stream *s = *state;
	struct lock m = mutex(0x1000), e = with_kind(mutex(0x2000), 2);
	struct lock sp = with_obj(mutex(0x3000), OBJ_SPIN);

	/* the owner tries its own normal, error-checking mutex and spinlock */
	lock(s, 1, &m, 11);
	trylock(s, 1, &m, 12, EBUSY);
	unlock(s, 1, &m, 13);
	lock(s, 1, &e, 14);
	trylock(s, 1, &e, 15, EBUSY);
	unlock(s, 1, &e, 16);
	lock(s, 1, &sp, 17);
	trylock(s, 1, &sp, 18, EBUSY);
	unlock(s, 1, &sp, 19);
	/* another thread tries what thread 1 holds, then takes it */
	lock(s, 1, &m, 11);
	trylock(s, 2, &m, 21, EBUSY);
	unlock(s, 1, &m, 13);
	lock(s, 2, &m, 22);
	unlock(s, 2, &m, 23);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	/* the control: a blocking second lock by the owner is still one */
	lock(s, 1, &e, 14);
	attempt(s, 1, &e, 0, 24, EDEADLK);
	unlock(s, 1, &e, 16);
	analyze(s);
	assert_int_equal(count(s, FINDING_DOUBLE_LOCK), 1);
}

static void test_rwlock_write_relock_is_double_lock_read_relock_is_not(void **state)
{
	struct stream *s = *state;
	struct lock rw = with_obj(mutex(0x1000), OBJ_RWLOCK);

	attempt(s, 1, &rw, EVF_READ, 11, 0);
	attempt(s, 1, &rw, EVF_READ, 12, 0);
	emit(s, EV_LOCK_RELEASE, 1, &rw, 0, 13, 0);
	emit(s, EV_LOCK_RELEASE, 1, &rw, 0, 14, 0);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	attempt(s, 1, &rw, EVF_WRITE, 15, 0);
	attempt(s, 1, &rw, EVF_WRITE, 16, EDEADLK);
	analyze(s);
	assert_int_equal(count(s, FINDING_DOUBLE_LOCK), 1);
	assert_int_equal(first(s, FINDING_DOUBLE_LOCK)->accesses[0].stack_id, 16);
}

/* Readers can still deadlock against writers: the read side adds edges too. */
static void test_rwlock_read_attempt_adds_order_edges(void **state)
{
	struct stream *s = *state;
	struct lock rw = with_obj(mutex(0x1000), OBJ_RWLOCK), m = mutex(0x2000);

	attempt(s, 1, &rw, EVF_READ, 11, 0);
	lock(s, 1, &m, 12);
	unlock(s, 1, &m, 13);
	unlock(s, 1, &rw, 14);
	lock(s, 2, &m, 21);
	attempt(s, 2, &rw, EVF_WRITE, 22, 0);
	unlock(s, 2, &rw, 23);
	unlock(s, 2, &m, 24);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
	assert_int_equal(s->fs.nr, 1);
}

static void test_unlock_not_held_reported(void **state)
{
	struct stream *s = *state;
	struct lock m = mutex(0x1000), never = mutex(0x2000);
	const struct finding *f;

	born(s, 1);
	born(s, 2);
	lock(s, 1, &m, 11);
	unlock(s, 2, &m, 21);		/* T2 unlocks T1's mutex */
	unlock(s, 1, &m, 12);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = first(s, FINDING_UNLOCK_NOT_HELD);
	assert_int_equal(f->accesses[0].tid, 2);
	assert_int_equal(f->accesses[0].stack_id, 21);
	assert_int_equal(f->nr_accesses, 2);
	assert_int_equal(f->accesses[1].tid, 1);	/* the holder */
	assert_int_equal(f->accesses[1].stack_id, 11);

	unlock(s, 1, &never, 13);
	unlock(s, 1, &never, 13);	/* same lock, same stack: once */
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 2);
}

/* pthread_spin_unlock shares its address with pthread_spin_init in glibc. */
static void test_spin_init_seen_as_release_is_no_misuse(void **state)
{
	struct stream *s = *state;
	struct lock sp = with_obj(mutex(0x1000), OBJ_SPIN);

	emit(s, EV_LOCK_RELEASE, 1, &sp, EVF_MAYBE_INIT, 11, 0);
	lock(s, 1, &sp, 12);
	emit(s, EV_LOCK_RELEASE, 1, &sp, EVF_MAYBE_INIT, 13, 0);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	/* a real unlock of a spinlock not held still is one */
	unlock(s, 1, &sp, 14);
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
}

static void test_lock_held_at_exit_reported_with_acquisition_stack(void **state)
{
	struct stream *s = *state;
	struct lock m1 = shared_mutex(100, 0x7f0000000000, 0x0, true);
	struct lock m2 = shared_mutex(200, 0x7e0000000000, 0x0, true);
	struct lock priv = mutex(0x5000);
	const struct finding *f;

	m1.kind = m2.kind = 0x90;	/* robust, process-shared */
	lock(s, 100, &m1, 11);
	thread_exit(s, 100, 100, true);
	/* the other process recovers it: EOWNERDEAD is an acquisition */
	attempt(s, 200, &m2, 0, 21, EOWNERDEAD);
	unlock(s, 200, &m2, 22);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	f = first(s, FINDING_LOCK_HELD_AT_EXIT);
	assert_int_equal(f->object.pid, 100);
	assert_int_equal(f->accesses[0].tid, 100);
	assert_int_equal(f->accesses[0].stack_id, 11);
	assert_string_equal(f->accesses[0].comm, "t100");

	/* a thread exiting with a private mutex held: its process still runs */
	lock(s, 3, &priv, 31);
	thread_exit(s, PID, 3, false);
	lock(s, 4, &m1, 41);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_HELD_AT_EXIT), 2);
}

/*
 * exit_group: the holder's exit is not the last, but every other thread of
 * the process only exits after it. Nobody could wait on the private mutex.
 */
static void test_private_lock_held_when_process_exits_whole_is_no_finding(void **state)
{
	struct stream *s = *state;
	struct lock priv = mutex(0x5000), other = mutex(0x6000);

	lock(s, 2, &other, 21);
	unlock(s, 2, &other, 22);
	lock(s, PID, &priv, 11);
	thread_exit(s, PID, PID, false);	/* main calls exit(): not the last thread */
	thread_exit(s, PID, 2, true);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/* A thread already waiting for the private mutex when its holder exits. */
static void test_private_lock_held_at_exit_with_a_waiter_is_reported(void **state)
{
	struct stream *s = *state;
	struct lock priv = mutex(0x5000);

	lock(s, 3, &priv, 31);
	emit(s, EV_LOCK_ATTEMPT, 2, &priv, 0, 21, 0);	/* T2 blocks on it */
	thread_exit(s, PID, 3, false);
	thread_exit(s, PID, 2, false);
	thread_exit(s, PID, PID, true);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_HELD_AT_EXIT), 1);
	assert_int_equal(first(s, FINDING_LOCK_HELD_AT_EXIT)->accesses[0].stack_id, 31);
}

/* The trace ends with the process alive: its other threads can still wait. */
static void test_private_lock_held_at_exit_reported_when_trace_ends_first(void **state)
{
	struct stream *s = *state;
	struct lock priv = mutex(0x5000), other = mutex(0x6000);

	lock(s, 2, &other, 21);
	unlock(s, 2, &other, 22);
	lock(s, 3, &priv, 31);
	thread_exit(s, PID, 3, false);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_HELD_AT_EXIT), 1);
}

/*
 * Attach mode: threads the trace did not see being born may release locks
 * they took before it. No unlock-not-held for those, until an exclusive
 * acquisition makes the lock's state known; after it, a stray unlock is one.
 */
static void test_attached_threads_unlock_locks_taken_before_trace(void **state)
{
	struct stream *s = *state;
	struct lock a = mutex(0x1000), b = mutex(0x2000);

	unlock(s, 1, &a, 11);		/* taken before the attach */
	unlock(s, 2, &b, 21);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	lock(s, 1, &a, 12);		/* known from here on */
	unlock(s, 1, &a, 13);
	unlock(s, 2, &a, 22);		/* not held by anyone */
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
	assert_int_equal(first(s, FINDING_UNLOCK_NOT_HELD)->accesses[0].stack_id, 22);
}

/*
 * Attach mode: a thread that was blocked in a lock call when the probes
 * came (redis's jemalloc background thread, in pthread_cond_timedwait)
 * returns from it holding the lock, unseen, and releases it: no finding,
 * though another thread has made the lock known since. It can have been in
 * one call only, and that lock is the first it releases: its next stray
 * release is a finding.
 */
static void test_attached_thread_blocked_in_lock_call_releases_unseen_hold(void **state)
{
	struct stream *s = *state;
	struct lock a = mutex(0x1000), b = mutex(0x2000);

	lock(s, 1, &a, 11);		/* known from here on */
	unlock(s, 1, &a, 12);
	lock(s, 2, &b, 21);		/* thread 2 returned from its wait holding a */
	unlock(s, 2, &b, 22);
	unlock(s, 2, &a, 23);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	lock(s, 1, &a, 13);
	unlock(s, 1, &a, 14);
	unlock(s, 2, &a, 24);		/* not held by anyone */
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
	assert_int_equal(first(s, FINDING_UNLOCK_NOT_HELD)->accesses[0].stack_id, 24);
}

/*
 * Attach mode probes one process after another: process 2's recording
 * starts after process 1 has made the shared mutex known, and it may hold
 * the mutex from before its probes. Its first lock event, a release, is no
 * finding; once the mutex is taken again after that start, a stray release
 * is one.
 */
static void test_attached_later_process_unlocks_lock_known_before_it(void **state)
{
	struct stream *s = *state;
	struct lock a = shared_mutex(PID, 0x7000, 0x40, true);
	struct lock b = shared_mutex(PID + 1, 0x9000, 0x40, true);

	lock(s, 1, &a, 11);
	unlock(s, 1, &a, 12);
	unlock(s, 3, &b, 31);		/* its probes came after 1's acquisition */
	analyze(s);
	assert_int_equal(s->fs.nr, 0);

	lock(s, 1, &a, 13);
	unlock(s, 1, &a, 14);
	unlock(s, 3, &b, 32);		/* not held by anyone */
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
	assert_int_equal(first(s, FINDING_UNLOCK_NOT_HELD)->accesses[0].stack_id, 32);
}

/* Without attach, every thread seen born: an unlock never locked is a finding. */
static void test_unlock_of_never_locked_mutex_reported_when_history_known(void **state)
{
	struct stream *s = *state;
	struct lock a = mutex(0x1000);

	born(s, 2);
	unlock(s, 2, &a, 21);
	analyze(s);
	assert_int_equal(count(s, FINDING_UNLOCK_NOT_HELD), 1);
}

/*
 * "Locks held" of a finding: a semaphore the thread waited on, which
 * another thread posts (a signal), is no lock it holds.
 */
static void test_signalling_semaphore_not_listed_as_held(void **state)
{
	struct stream *s = *state;
	struct lock sem = with_obj(mutex(0x1000), OBJ_SEM), m = mutex(0x2000);
	const struct finding *f;

	born(s, 1);
	born(s, 2);
	lock(s, 1, &sem, 11);		/* sem_wait returned: woken */
	lock(s, 1, &m, 12);
	lock(s, 1, &m, 13);		/* double lock, while "holding" sem and m */
	unlock(s, 2, &sem, 21);		/* sem_post by another: sem signals */
	analyze(s);
	f = first(s, FINDING_DOUBLE_LOCK);
	assert_non_null(f);
	assert_int_equal(f->accesses[0].nr_locks, 1);
	assert_int_equal(f->accesses[0].locks_held[0].addr, m.addr);
}

/*
 * One semaphore whose events resolved to two identities (one with the
 * shared object's key, one without a mapping): at one address of one
 * process it is one lock, listed once.
 */
static void test_lock_held_under_two_identities_listed_once(void **state)
{
	struct stream *s = *state;
	struct lock shared = shared_mutex(PID, 0x7f0000000000, 0x80, true);
	struct lock same = shared_mutex(PID, 0x7f0000000000, 0x80, false);
	struct lock m = mutex(0x2000);
	const struct finding *f;

	born(s, 1);
	shared.obj = same.obj = OBJ_SEM;
	lock(s, 1, &shared, 11);
	lock(s, 1, &same, 12);
	lock(s, 1, &m, 13);
	lock(s, 1, &m, 14);		/* double lock */
	analyze(s);
	f = first(s, FINDING_DOUBLE_LOCK);
	assert_non_null(f);
	assert_int_equal(f->accesses[0].nr_locks, 2);
	assert_int_equal(f->accesses[0].locks_held[0].addr, shared.addr);
	assert_int_equal(f->accesses[0].locks_held[1].addr, m.addr);
}

static void test_private_lock_dies_with_its_process(void **state)
{
	struct stream *s = *state;
	struct lock priv = mutex(0x5000);

	lock(s, PID, &priv, 11);
	thread_exit(s, PID, PID, true);
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/* Same-thread sem_wait/sem_post: a lock like any other. */
static void test_semaphore_used_as_lock_forms_cycles(void **state)
{
	struct stream *s = *state;
	struct lock sem = with_obj(mutex(0x1000), OBJ_SEM), a = mutex(0x2000);

	lock(s, 1, &sem, 11);		/* sem_wait */
	lock(s, 1, &a, 12);
	unlock(s, 1, &a, 13);
	unlock(s, 1, &sem, 14);		/* sem_post */
	lock(s, 2, &a, 21);
	lock(s, 2, &sem, 22);
	unlock(s, 2, &sem, 23);
	unlock(s, 2, &a, 24);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

static void test_sysv_semaphore_used_as_lock_forms_cycles(void **state)
{
	struct stream *s = *state;
	struct lock sem = { .pid = 100, .obj = OBJ_SYSV_SEM,
			    .key = { .a = 65538, .b = 0, .space = KEY_SYSV_SEM } };
	struct lock a1 = shared_mutex(100, 0x7f0000000000, 0x0, true);
	struct lock a2 = shared_mutex(200, 0x7e0000000000, 0x0, true);

	lock(s, 100, &sem, 11);
	lock(s, 100, &a1, 12);
	unlock(s, 100, &a1, 13);
	unlock(s, 100, &sem, 14);
	sem.pid = 200;
	lock(s, 200, &a2, 21);
	lock(s, 200, &sem, 22);
	unlock(s, 200, &sem, 23);
	unlock(s, 200, &a2, 24);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
	assert_int_equal(s->fs.nr, 1);
}

/* Posted by a thread that never waited on it: a signal, not a lock. */
static void test_signalling_semaphore_forms_no_cycle(void **state)
{
	struct stream *s = *state;
	struct lock sem = with_obj(mutex(0x1000), OBJ_SEM), a = mutex(0x2000);

	lock(s, 1, &sem, 11);		/* consumer: sem_wait ... */
	lock(s, 1, &a, 12);		/* ... then the queue lock */
	unlock(s, 1, &a, 13);
	lock(s, 2, &a, 21);		/* a second consumer waits holding the lock */
	lock(s, 2, &sem, 22);
	unlock(s, 2, &a, 23);
	analyze(s);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);

	unlock(s, 3, &sem, 31);		/* the producer's sem_post */
	analyze(s);
	assert_int_equal(s->fs.nr, 0);
}

/* pthread_cond_wait: release at entry, acquisition at return without an attempt. */
static void test_cond_wait_reacquire_keeps_mutex_held(void **state)
{
	struct stream *s = *state;
	struct lock m = mutex(0x1000), a = mutex(0x2000);

	lock(s, 1, &m, 11);
	unlock(s, 1, &m, 12);				/* cond_wait entry */
	emit(s, EV_LOCK_ACQUIRED, 1, &m, 0, 12, 0);	/* cond_wait return */
	lock(s, 1, &a, 13);
	unlock(s, 1, &a, 14);
	unlock(s, 1, &m, 15);
	lock(s, 2, &a, 21);
	lock(s, 2, &m, 22);
	unlock(s, 2, &m, 23);
	unlock(s, 2, &a, 24);
	analyze(s);
	assert_int_equal(s->fs.nr, 1);
	assert_int_equal(count(s, FINDING_LOCK_ORDER_INVERSION), 1);
}

static void test_finding_kind_names(void **state)
{
	(void)state;
	assert_string_equal(finding_kind__name(FINDING_DATA_RACE), "data-race");
	assert_string_equal(finding_kind__name(FINDING_LOCK_ORDER_INVERSION),
			    "lock-order-inversion");
	assert_string_equal(finding_kind__name(FINDING_DOUBLE_LOCK), "double-lock");
	assert_string_equal(finding_kind__name(FINDING_UNLOCK_NOT_HELD), "unlock-not-held");
	assert_string_equal(finding_kind__name(FINDING_LOCK_HELD_AT_EXIT),
			    "lock-held-at-exit");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_abba_two_threads_reports_one_cycle),
		T(test_abba_across_processes_on_shared_lock_names_both_pids),
		T(test_abba_across_processes_resolved_from_mappings),
		T(test_three_lock_cycle_over_three_threads),
		T(test_consistent_order_reports_nothing),
		T(test_inversion_by_a_single_thread_is_reported),
		T(test_gate_lock_suppresses_cycle),
		T(test_trylock_backoff_pattern_is_clean),
		T(test_recursive_relock_adds_no_edge_and_no_double_lock),
		T(test_errorcheck_double_lock_reported_once_per_stack),
		T(test_trylock_busy_is_no_double_lock),
		T(test_rwlock_write_relock_is_double_lock_read_relock_is_not),
		T(test_rwlock_read_attempt_adds_order_edges),
		T(test_unlock_not_held_reported),
		T(test_spin_init_seen_as_release_is_no_misuse),
		T(test_lock_held_at_exit_reported_with_acquisition_stack),
		T(test_private_lock_dies_with_its_process),
		T(test_private_lock_held_when_process_exits_whole_is_no_finding),
		T(test_private_lock_held_at_exit_with_a_waiter_is_reported),
		T(test_private_lock_held_at_exit_reported_when_trace_ends_first),
		T(test_attached_threads_unlock_locks_taken_before_trace),
		T(test_attached_thread_blocked_in_lock_call_releases_unseen_hold),
		T(test_attached_later_process_unlocks_lock_known_before_it),
		T(test_unlock_of_never_locked_mutex_reported_when_history_known),
		T(test_signalling_semaphore_not_listed_as_held),
		T(test_lock_held_under_two_identities_listed_once),
		T(test_semaphore_used_as_lock_forms_cycles),
		T(test_sysv_semaphore_used_as_lock_forms_cycles),
		T(test_signalling_semaphore_forms_no_cycle),
		T(test_cond_wait_reacquire_keeps_mutex_held),
		cmocka_unit_test(test_finding_kind_names),
	};

	int failed = cmocka_run_group_tests_name("return probes", tests, NULL, NULL);

	deferred_run = true;
	return failed + cmocka_run_group_tests_name("deferred acquisitions", tests, NULL, NULL);
}
