// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Data race detection (race.h) on synthetic access streams. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/analyze.h"
#include "analyzer/findings.h"
#include "analyzer/hb.h"
#include "analyzer/race.h"

#define PA 100
#define PB 200

struct fixture {
	struct hb *hb;
	struct racedet *rd;
	struct findings out;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->hb = hb__new();
	f->rd = f->hb ? racedet__new(f->hb) : NULL;
	if (!f->rd) {
		hb__free(f->hb);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	racedet__free(f->rd);
	hb__free(f->hb);
	findings__clear(&f->out);
	free(f);
	return 0;
}

static struct ipcrace_event ev(__u16 type, __u32 pid, __u32 tid)
{
	struct ipcrace_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = IPCRACE_REC_EVENT;
	e.hdr.size = sizeof(e);
	e.type = type;
	e.pid = pid;
	e.tid = tid;
	strcpy(e.comm, pid == PA ? "writer" : "other");
	return e;
}

/* A word at offset 16 of a shared memory object both processes map. */
static struct ipcrace_key shm_word(void)
{
	struct ipcrace_key k = { .a = 0x17, .b = 777, .c = 16, .space = KEY_FILE };

	return k;
}

static struct ipcrace_event mem(__u32 pid, __u32 tid, __u32 flags, __u64 ip)
{
	struct ipcrace_event e = ev(EV_MEM_ACCESS, pid, tid);

	e.obj = OBJ_MEMORY;
	e.key = shm_word();
	e.addr = 0x7f0000000010ull + pid;	/* each process maps it elsewhere */
	e.arg0 = ip;
	e.arg1 = 4;
	e.flags = flags;
	e.stack_id = 0;
	return e;
}

static void access_(struct fixture *f, struct ipcrace_event e)
{
	assert_int_equal(hb__event(f->hb, &e), 0);
	assert_int_equal(racedet__access(f->rd, &e, NULL, 0, &f->out), 0);
}

static void sync_(struct fixture *f, struct ipcrace_event e)
{
	assert_int_equal(hb__event(f->hb, &e), 0);
}

static struct ipcrace_event pipe_ev(__u16 type, __u32 pid)
{
	struct ipcrace_event e = ev(type, pid, pid);

	e.obj = OBJ_PIPE;
	e.key = (struct ipcrace_key){ .a = 0xc, .b = 4242, .space = KEY_FILE };
	e.arg0 = 1;
	e.result = type == EV_CHAN_RECV ? 1 : 0;
	return e;
}

static void test_unordered_writes_across_processes_race(void **state)
{
	struct fixture *f = *state;
	const struct finding *r;

	access_(f, mem(PA, PA, EVF_WRITE, 0x401000));
	access_(f, mem(PB, PB, EVF_WRITE, 0x402000));
	assert_int_equal(f->out.nr, 1);
	r = &f->out.items[0];
	assert_int_equal(r->kind, FINDING_DATA_RACE);
	assert_int_equal(r->object.obj, OBJ_MEMORY);
	assert_int_equal(r->object.key.b, 777);
	assert_int_equal(r->object.key.c, 16);
	assert_int_equal(r->object.size, 4);
	assert_int_equal(r->object.pid, PB);
	assert_int_equal(r->object.addr, 0x7f0000000010ull + PB);
	assert_int_equal(r->nr_accesses, 2);
	/* the current access first, then the earlier one it conflicts with */
	assert_int_equal(r->accesses[0].tid, PB);
	assert_int_equal(r->accesses[0].ip, 0x402000);
	assert_int_equal(r->accesses[0].flags, EVF_WRITE);
	assert_int_equal(r->accesses[1].tid, PA);
	assert_int_equal(r->accesses[1].pid, PA);
	assert_int_equal(r->accesses[1].ip, 0x401000);
	assert_string_equal(r->accesses[1].comm, "writer");
	assert_int_equal(racedet__nr_words(f->rd), 1);
}

static void test_pipe_handoff_orders_writes(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PA, PA, EVF_WRITE, 0x401000));
	sync_(f, pipe_ev(EV_CHAN_SEND, PA));
	sync_(f, pipe_ev(EV_CHAN_RECV, PB));
	access_(f, mem(PB, PB, EVF_WRITE, 0x402000));
	access_(f, mem(PB, PB, EVF_READ, 0x402008));
	assert_int_equal(f->out.nr, 0);
}

static void test_write_after_send_races_with_receiver(void **state)
{
	struct fixture *f = *state;

	sync_(f, pipe_ev(EV_CHAN_SEND, PA));
	access_(f, mem(PA, PA, EVF_WRITE, 0x401000));
	sync_(f, pipe_ev(EV_CHAN_RECV, PB));
	access_(f, mem(PB, PB, EVF_READ, 0x402000));
	assert_int_equal(f->out.nr, 1);
	assert_int_equal(f->out.items[0].accesses[0].flags, EVF_READ);
	assert_int_equal(f->out.items[0].accesses[1].flags, EVF_WRITE);
}

static void test_concurrent_reads_do_not_race(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PA, PA, EVF_READ, 0x401000));
	access_(f, mem(PB, PB, EVF_READ, 0x402000));
	access_(f, mem(300, 300, EVF_READ, 0x403000));
	assert_int_equal(f->out.nr, 0);
}

/* Reads from two threads are both kept: a later write races with each. */
static void test_write_races_with_every_concurrent_reader(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PA, PA, EVF_READ, 0x401000));
	access_(f, mem(PB, PB, EVF_READ, 0x402000));
	access_(f, mem(300, 300, EVF_WRITE, 0x403000));
	assert_int_equal(f->out.nr, 2);
	assert_int_equal(f->out.items[0].accesses[1].tid, PA);
	assert_int_equal(f->out.items[1].accesses[1].tid, PB);
}

static void test_atomic_accesses_do_not_race_with_each_other(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PA, PA, EVF_WRITE | EVF_ATOMIC, 0x401000));
	access_(f, mem(PB, PB, EVF_WRITE | EVF_ATOMIC, 0x402000));
	access_(f, mem(PB, PB, EVF_READ | EVF_ATOMIC, 0x402010));
	assert_int_equal(f->out.nr, 0);
}

/*
 * On x86 a C11 atomic load is a plain move: a plain read of a word that is
 * written atomically is taken for one, not reported.
 */
static void test_plain_read_of_atomic_variable_is_not_a_race(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PA, PA, EVF_WRITE | EVF_ATOMIC, 0x401000));
	access_(f, mem(PB, PB, EVF_READ, 0x402000));
	assert_int_equal(f->out.nr, 0);
}

/* Atomic accesses to a word excuse nobody else: two plain writes still race. */
static void test_plain_writes_race_beside_atomic_ones(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PA, PA, EVF_WRITE | EVF_ATOMIC, 0x401000));
	access_(f, mem(PB, PB, EVF_WRITE, 0x402000));
	sync_(f, pipe_ev(EV_CHAN_SEND, PA));
	sync_(f, pipe_ev(EV_CHAN_RECV, 300));
	access_(f, mem(300, 300, EVF_WRITE, 0x403000));
	assert_int_equal(f->out.nr, 1);
	assert_int_equal(f->out.items[0].accesses[1].tid, PB);
}

/* An atomic write in between hides nothing: the two plain writes race. */
static void test_atomic_write_between_plain_writes_hides_nothing(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PB, PB, EVF_WRITE, 0x402000));
	access_(f, mem(PA, PA, EVF_WRITE | EVF_ATOMIC, 0x401000));
	sync_(f, pipe_ev(EV_CHAN_SEND, PA));
	sync_(f, pipe_ev(EV_CHAN_RECV, 300));
	access_(f, mem(300, 300, EVF_WRITE, 0x403000));
	assert_int_equal(f->out.nr, 1);
	assert_int_equal(f->out.items[0].accesses[1].tid, PB);
}

static void test_same_thread_never_races_with_itself(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PA, PA, EVF_WRITE, 0x401000));
	access_(f, mem(PA, PA, EVF_READ, 0x401010));
	access_(f, mem(PA, PA, EVF_WRITE, 0x401020));
	assert_int_equal(f->out.nr, 0);
}

static void test_race_reported_once_per_location_pair(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < 5; i++) {
		access_(f, mem(PA, PA, EVF_WRITE, 0x401000));
		access_(f, mem(PB, PB, EVF_WRITE, 0x402000));
	}
	/* (A, B) and (B, A) are one pair */
	assert_int_equal(f->out.nr, 1);
	/* a new code location is a new race */
	access_(f, mem(PA, PA, EVF_WRITE, 0x401100));
	assert_int_equal(f->out.nr, 2);
}

/* With stacks, the stack is the location: one ip under two stacks is two races. */
static void test_dedupe_uses_stack_id_when_present(void **state)
{
	struct fixture *f = *state;
	struct ipcrace_event a = mem(PA, PA, EVF_WRITE, 0x401000);
	struct ipcrace_event b = mem(PB, PB, EVF_WRITE, 0x402000);

	a.stack_id = 11;
	b.stack_id = 22;
	access_(f, a);
	access_(f, b);
	access_(f, a);			/* same pair again */
	assert_int_equal(f->out.nr, 1);
	b.stack_id = 33;		/* same ip, another stack */
	access_(f, b);
	assert_int_equal(f->out.nr, 2);
	assert_int_equal(f->out.items[1].accesses[0].stack_id, 33);
	assert_int_equal(f->out.items[1].accesses[1].stack_id, 11);
}

static void test_locks_held_are_carried_into_the_finding(void **state)
{
	struct fixture *f = *state;
	struct finding_object la[2], lb[1];
	struct ipcrace_event a = mem(PA, PA, EVF_WRITE, 0x401000);
	struct ipcrace_event b = mem(PB, PB, EVF_WRITE, 0x402000);
	const struct finding *r;

	memset(la, 0, sizeof(la));
	memset(lb, 0, sizeof(lb));
	la[0].key = (struct ipcrace_key){ .a = 1, .b = 2, .c = 0, .space = KEY_FILE };
	la[0].obj = OBJ_MUTEX;
	la[1].key = (struct ipcrace_key){ .a = 1, .b = 2, .c = 64, .space = KEY_FILE };
	la[1].obj = OBJ_MUTEX;
	lb[0].key = (struct ipcrace_key){ .a = 1, .b = 2, .c = 128, .space = KEY_FILE };
	lb[0].obj = OBJ_SPIN;
	assert_int_equal(hb__event(f->hb, &a), 0);
	assert_int_equal(racedet__access(f->rd, &a, la, 2, &f->out), 0);
	assert_int_equal(hb__event(f->hb, &b), 0);
	assert_int_equal(racedet__access(f->rd, &b, lb, 1, &f->out), 0);
	assert_int_equal(f->out.nr, 1);
	r = &f->out.items[0];
	assert_int_equal(r->accesses[0].nr_locks, 1);
	assert_int_equal(r->accesses[0].locks_held[0].obj, OBJ_SPIN);
	assert_int_equal(r->accesses[0].locks_held[0].key.c, 128);
	assert_int_equal(r->accesses[1].nr_locks, 2);
	assert_int_equal(r->accesses[1].locks_held[0].key.c, 0);
	assert_int_equal(r->accesses[1].locks_held[1].key.c, 64);
}

/* Accesses under one mutex, released and acquired in between: no race. */
static void test_common_mutex_orders_accesses(void **state)
{
	struct fixture *f = *state;
	struct ipcrace_event rel = ev(EV_LOCK_RELEASE, PA, PA);
	struct ipcrace_event acq = ev(EV_LOCK_ACQUIRED, PB, PB);

	rel.obj = acq.obj = OBJ_MUTEX;
	/* after the data word: the mutex's own words are never data */
	rel.key = acq.key = (struct ipcrace_key){ .a = 0x17, .b = 777, .c = 64,
						  .space = KEY_FILE };
	access_(f, mem(PA, PA, EVF_WRITE, 0x401000));
	sync_(f, rel);
	sync_(f, acq);
	access_(f, mem(PB, PB, EVF_WRITE, 0x402000));
	assert_int_equal(f->out.nr, 0);
}

/* The same address in two processes' private memory is two words. */
static void test_private_words_of_two_processes_do_not_race(void **state)
{
	struct fixture *f = *state;
	struct ipcrace_event a = mem(PA, PA, EVF_WRITE, 0x401000);
	struct ipcrace_event b = mem(PB, PB, EVF_WRITE, 0x401000);

	a.key = (struct ipcrace_key){ .a = PA, .b = 0x601040, .space = KEY_PRIVATE };
	b.key = (struct ipcrace_key){ .a = PB, .b = 0x601040, .space = KEY_PRIVATE };
	access_(f, a);
	access_(f, b);
	assert_int_equal(f->out.nr, 0);
	assert_int_equal(racedet__nr_words(f->rd), 2);
}

/* A pid reused by an unrelated process has other private memory. */
static void test_private_word_of_reused_pid_is_other_memory(void **state)
{
	struct fixture *f = *state;
	struct ipcrace_key k = { .a = PA, .b = 0x601040, .space = KEY_PRIVATE };
	struct ipcrace_event a = mem(PA, PA, EVF_WRITE, 0x401000);
	struct ipcrace_event fork = ev(EV_FORK, PB, PB);
	struct ipcrace_event t2 = mem(PA, PA + 1, EVF_WRITE, 0x401000);

	a.key = k;
	access_(f, a);
	/* a second thread of the old process races with it */
	t2.key = k;
	access_(f, t2);
	assert_int_equal(f->out.nr, 1);
	sync_(f, ev(EV_EXIT, PA, PA));
	fork.arg0 = PA;
	fork.arg1 = PA;
	sync_(f, fork);
	access_(f, a);
	assert_int_equal(f->out.nr, 1);
}

static struct ipcrace_event mem_at(__u32 pid, __u32 flags, __u64 ip, struct ipcrace_key k)
{
	struct ipcrace_event e = mem(pid, pid, flags, ip);

	e.key = k;
	return e;
}

/*
 * glibc writes a process-shared mutex's owner field with a plain store
 * inside lock and unlock, outside the lock/unlock events: the words a lock
 * spans are its own, not data. The word just past the mutex still races.
 */
static void test_words_of_a_lock_object_never_race(void **state)
{
	struct fixture *f = *state;
	struct ipcrace_key lock = { .a = 0x17, .b = 777, .c = 64, .space = KEY_FILE };
	struct ipcrace_key owner = lock, after = lock;
	struct ipcrace_event attempt = ev(EV_LOCK_ATTEMPT, PA, PA);

	owner.c = 64 + 8;
	after.c = 64 + 40;		/* sizeof(pthread_mutex_t) */
	attempt.obj = OBJ_MUTEX;
	attempt.key = lock;
	sync_(f, attempt);
	access_(f, mem_at(PA, EVF_WRITE, 0x7f0000001000, owner));
	access_(f, mem_at(PB, EVF_WRITE, 0x7f0000002000, owner));
	access_(f, mem_at(PA, EVF_WRITE | EVF_ATOMIC, 0x7f0000003000, lock));
	access_(f, mem_at(PB, EVF_READ, 0x7f0000004000, lock));
	assert_int_equal(f->out.nr, 0);
	access_(f, mem_at(PA, EVF_WRITE, 0x401000, after));
	access_(f, mem_at(PB, EVF_WRITE, 0x402000, after));
	assert_int_equal(f->out.nr, 1);
}

/* A semaphore in private memory: its word is the library's too. */
static void test_private_semaphore_word_never_races(void **state)
{
	struct fixture *f = *state;
	struct ipcrace_key sem = { .a = PA, .b = 0x601040, .space = KEY_PRIVATE };
	struct ipcrace_event post = ev(EV_LOCK_RELEASE, PA, PA);
	struct ipcrace_event read = mem(PA, PA + 1, EVF_READ, 0x7f0000002000);

	post.obj = OBJ_SEM;
	post.key = sem;
	sync_(f, post);
	access_(f, mem_at(PA, EVF_WRITE | EVF_ATOMIC, 0x7f0000001000, sem));
	/* a plain read by another thread, as sem_wait's fast path does */
	read.key = sem;
	access_(f, read);
	assert_int_equal(f->out.nr, 0);
}

static void test_other_events_are_ignored(void **state)
{
	struct fixture *f = *state;
	struct ipcrace_event e = mem(PA, PA, EVF_WRITE, 0x401000);

	e.type = EV_LOCK_RELEASE;
	assert_int_equal(racedet__access(f->rd, &e, NULL, 0, &f->out), 0);
	assert_int_equal(racedet__nr_words(f->rd), 0);
}

/* Through the driver: the race detector sees accesses and the hb order sees IPC. */
static void test_analyze_trace_reports_race_unless_piped(void **state)
{
	struct ipcrace_event events[4];
	struct analyze_opts opts = { 0 };
	struct findings out = { 0 };
	struct trace t;
	size_t i, races = 0;

	(void)state;
	memset(&t, 0, sizeof(t));
	events[0] = mem(PA, PA, EVF_WRITE, 0x401000);
	events[1] = mem(PB, PB, EVF_WRITE, 0x402000);
	t.events = events;
	t.nr_events = 2;
	assert_int_equal(analyze_trace(&t, &opts, &out), 0);
	for (i = 0; i < out.nr; i++)
		races += out.items[i].kind == FINDING_DATA_RACE;
	assert_int_equal(races, 1);
	findings__clear(&out);

	events[1] = pipe_ev(EV_CHAN_SEND, PA);
	events[2] = pipe_ev(EV_CHAN_RECV, PB);
	events[3] = mem(PB, PB, EVF_WRITE, 0x402000);
	t.nr_events = 4;
	assert_int_equal(analyze_trace(&t, &opts, &out), 0);
	assert_int_equal(out.nr, 0);
	findings__clear(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_unordered_writes_across_processes_race),
		T(test_pipe_handoff_orders_writes),
		T(test_write_after_send_races_with_receiver),
		T(test_concurrent_reads_do_not_race),
		T(test_write_races_with_every_concurrent_reader),
		T(test_atomic_accesses_do_not_race_with_each_other),
		T(test_plain_read_of_atomic_variable_is_not_a_race),
		T(test_plain_writes_race_beside_atomic_ones),
		T(test_atomic_write_between_plain_writes_hides_nothing),
		T(test_same_thread_never_races_with_itself),
		T(test_race_reported_once_per_location_pair),
		T(test_dedupe_uses_stack_id_when_present),
		T(test_locks_held_are_carried_into_the_finding),
		T(test_common_mutex_orders_accesses),
		T(test_private_words_of_two_processes_do_not_race),
		T(test_private_word_of_reused_pid_is_other_memory),
		T(test_words_of_a_lock_object_never_race),
		T(test_private_semaphore_word_never_races),
		T(test_other_events_are_ignored),
		T(test_analyze_trace_reports_race_unless_piped),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
