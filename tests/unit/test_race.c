// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Data race detection (race.h) on synthetic access streams. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
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

#define MAX_STREAM 256

struct fixture {
	struct hb *hb;
	struct racedet *rd;
	struct findings out;
	/* every event fed, for a second look through analyze_trace */
	struct ipcrace_event stream[MAX_STREAM];
	size_t nr_stream;
};

static void record(struct fixture *f, const struct ipcrace_event *e)
{
	assert_true(f->nr_stream < MAX_STREAM);
	f->stream[f->nr_stream++] = *e;
}

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
	record(f, &e);
	assert_int_equal(hb__event(f->hb, &e), 0);
	assert_int_equal(racedet__access(f->rd, &e, NULL, 0, &f->out), 0);
}

static void sync_(struct fixture *f, struct ipcrace_event e)
{
	record(f, &e);
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

/*
 * Once a variable is known atomic, its plain accesses are atomic loads and
 * stores (C11 atomics on x86): synchronization, not data, never reported.
 */
static void test_plain_accesses_to_known_atomic_never_race(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PA, PA, EVF_WRITE | EVF_ATOMIC, 0x401000));
	access_(f, mem(PB, PB, EVF_WRITE, 0x402000));
	access_(f, mem(300, 300, EVF_WRITE, 0x403000));
	access_(f, mem(PA, PA, EVF_READ, 0x401010));
	assert_int_equal(f->out.nr, 0);
}

/*
 * Fed one event at a time, a variable is atomic from its first atomic
 * access on: plain accesses before it are data. The driver reads the
 * whole trace first (test_analyze_trace_knows_atomics_from_the_start).
 */
static void test_plain_accesses_before_first_atomic_are_data_in_a_stream(void **state)
{
	struct fixture *f = *state;

	access_(f, mem(PB, PB, EVF_WRITE, 0x402000));
	access_(f, mem(PA, PA, EVF_WRITE, 0x401000));
	assert_int_equal(f->out.nr, 1);
	access_(f, mem(PA, PA, EVF_WRITE | EVF_ATOMIC, 0x401008));
	access_(f, mem(300, 300, EVF_WRITE, 0x403000));
	assert_int_equal(f->out.nr, 1);
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

/*
 * A mailbox (fixtures/clean_flag_handoff): the consumer reads the message,
 * then gives the flag back with an XCHG; the producer's acquire load of
 * the flag sees that and it writes the next message. The XCHG's access is
 * recorded after it ran, so the producer's load can reach the trace
 * before it: only the release recorded before the XCHG (EV_ATOMIC_RELEASE)
 * orders the read before the next write. Without it, a false race.
 */
static size_t mailbox_races(bool release_before)
{
	struct ipcrace_key flag = { .a = 0x17, .b = 777, .c = 0, .space = KEY_FILE };
	struct ipcrace_event rel = mem_at(PA, EVF_ATOMIC | EVF_PROBE, 0x401020, flag);
	struct ipcrace_event rmw = mem_at(PA, EVF_READ | EVF_WRITE | EVF_ATOMIC | EVF_PROBE,
					  0x401020, flag);
	struct fixture *f;
	size_t nr;

	assert_int_equal(setup((void **)&f), 0);
	rel.type = EV_ATOMIC_RELEASE;
	/* the analyzer's first pass: the flag is an atomic variable */
	assert_int_equal(hb__note_atomic(f->hb, &rmw), 0);
	access_(f, mem_at(PB, EVF_WRITE, 0x402000, shm_word()));	/* message */
	access_(f, mem_at(PB, EVF_WRITE, 0x402008, flag));	/* release store */
	access_(f, mem_at(PA, EVF_READ, 0x401000, flag));		/* acquire load */
	access_(f, mem_at(PA, EVF_READ, 0x401010, shm_word()));	/* takes it */
	if (release_before)
		sync_(f, rel);
	access_(f, mem_at(PB, EVF_READ, 0x402010, flag));		/* sees the XCHG's 0 */
	access_(f, rmw);						/* recorded after it ran */
	access_(f, mem_at(PB, EVF_WRITE, 0x402000, shm_word()));	/* next message */
	nr = f->out.nr;
	teardown((void **)&f);
	return nr;
}

static void test_rmw_release_recorded_before_it_orders_the_next_loader(void **state)
{
	(void)state;
	assert_int_equal(mailbox_races(true), 0);
	assert_int_equal(mailbox_races(false), 1);
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

/* --- byte granularity -------------------------------------------------------- */

/* An access of size bytes at offset off of the shared object. */
static struct ipcrace_event acc(__u32 pid, __u32 tid, __u32 flags, __u64 ip, __u64 off,
				__u64 size)
{
	struct ipcrace_event e = mem(pid, tid, flags, ip);

	e.key.c = off;
	e.addr = 0x7f0000000000ull + off;
	e.arg1 = size;
	return e;
}

static void test_neighbouring_bytes_of_one_word_do_not_race(void **state)
{
	struct fixture *f = *state;

	access_(f, acc(PA, PA, EVF_WRITE, 0x401000, 0x20, 1));
	access_(f, acc(PB, PB, EVF_WRITE, 0x402000, 0x21, 1));
	access_(f, acc(PA, PA, EVF_WRITE, 0x401010, 0x28, 4));
	access_(f, acc(PB, PB, EVF_WRITE, 0x402010, 0x2c, 4));
	access_(f, acc(300, 300, EVF_READ, 0x403000, 0x22, 2));
	assert_int_equal(f->out.nr, 0);
	/* two words, one entry each */
	assert_int_equal(racedet__nr_words(f->rd), 2);
}

static void test_overlapping_accesses_of_different_sizes_race(void **state)
{
	struct fixture *f = *state;
	const struct finding *r;

	access_(f, acc(PA, PA, EVF_WRITE, 0x401000, 0x20, 8));
	access_(f, acc(PB, PB, EVF_READ, 0x402000, 0x26, 2));
	assert_int_equal(f->out.nr, 1);
	r = &f->out.items[0];
	assert_int_equal(r->object.key.c, 0x26);	/* the access, to the byte */
	assert_int_equal(r->object.size, 2);
	assert_int_equal(r->accesses[1].tid, PA);
	/* a 4-byte write at +2 and a 1-byte write at +5 share byte 5 */
	access_(f, acc(PA, PA, EVF_WRITE, 0x401010, 0x42, 4));
	access_(f, acc(PB, PB, EVF_WRITE, 0x402010, 0x45, 1));
	assert_int_equal(f->out.nr, 2);
}

/* A 16-byte (SSE) store spans two words: a race in either, one report. */
static void test_wide_access_races_in_every_word_it_spans(void **state)
{
	struct fixture *f = *state;

	access_(f, acc(PA, PA, EVF_WRITE, 0x401000, 0x60, 16));
	access_(f, acc(PB, PB, EVF_READ, 0x402000, 0x6c, 4));
	assert_int_equal(f->out.nr, 1);
	access_(f, acc(300, 300, EVF_WRITE, 0x403000, 0x5c, 32));
	/* races with both: PA's write (two words, one report) and PB's read */
	assert_int_equal(f->out.nr, 3);
}

/* A later write takes over only the bytes it writes. */
static void test_write_supersedes_only_its_bytes(void **state)
{
	struct fixture *f = *state;

	access_(f, acc(PA, PA, EVF_WRITE, 0x401000, 0x80, 8));
	sync_(f, pipe_ev(EV_CHAN_SEND, PA));
	sync_(f, pipe_ev(EV_CHAN_RECV, 300));
	access_(f, acc(300, 300, EVF_WRITE, 0x403000, 0x80, 4));
	/* PB is ordered after neither: bytes 4-7 are still PA's */
	access_(f, acc(PB, PB, EVF_READ, 0x402000, 0x84, 4));
	assert_int_equal(f->out.nr, 1);
	assert_int_equal(f->out.items[0].accesses[1].tid, PA);
	access_(f, acc(PB, PB, EVF_READ, 0x402010, 0x80, 2));
	assert_int_equal(f->out.nr, 2);
	assert_int_equal(f->out.items[1].accesses[1].tid, 300);
}

/* --- atomics are synchronization ------------------------------------------------ */

#define LOCK_WORD 0x0
#define COUNTER 0x100
#define FLAG 0x40
#define BUF 0x80
#define SEQ 0x140
#define REFCOUNT 0x180
#define OBJ 0x1c0

#define RMW (EVF_READ | EVF_WRITE | EVF_ATOMIC)

/* A test-and-set lock: xchg to take it, a plain store of 0 to give it back. */
static void tas_lock(struct fixture *f, __u32 who, __u64 ip)
{
	access_(f, acc(who, who, RMW, ip, LOCK_WORD, 4));
}

static void tas_unlock(struct fixture *f, __u32 who, __u64 ip)
{
	access_(f, acc(who, who, EVF_WRITE, ip, LOCK_WORD, 4));
}

static void locked_increment(struct fixture *f, __u32 who)
{
	tas_lock(f, who, 0x401000);
	access_(f, acc(who, who, EVF_READ, 0x401010, COUNTER, 8));
	access_(f, acc(who, who, EVF_WRITE, 0x401018, COUNTER, 8));
	tas_unlock(f, who, 0x401020);
}

static void test_test_and_set_spinlock_orders_counter(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < 3; i++) {
		locked_increment(f, PA);
		/* PB spins while PA holds it: failed xchgs are RMWs too */
		tas_lock(f, PB, 0x402000);
		locked_increment(f, PB);
		locked_increment(f, 300);
	}
	assert_int_equal(f->out.nr, 0);
}

static void test_thread_skipping_the_spinlock_races(void **state)
{
	struct fixture *f = *state;

	locked_increment(f, PA);
	locked_increment(f, PB);
	/* 300 increments without taking the lock */
	access_(f, acc(300, 300, EVF_READ, 0x403010, COUNTER, 8));
	access_(f, acc(300, 300, EVF_WRITE, 0x403018, COUNTER, 8));
	assert_int_equal(f->out.nr, 2);		/* its read and its write, against PB's write */
	assert_int_equal(f->out.items[0].accesses[1].tid, PB);
	locked_increment(f, PA);
	assert_true(f->out.nr >= 3);		/* PA's locked accesses race with 300's too */
}

/* An access at a time (CLOCK_MONOTONIC ns), as the debug register reported it. */
static struct ipcrace_event acc_ts(__u32 pid, __u32 flags, __u64 ip, __u64 off, __u64 ts)
{
	struct ipcrace_event e = acc(pid, pid, flags, ip, off, off == COUNTER ? 8 : 4);

	e.ts = ts;
	return e;
}

/*
 * PA holds the lock and increments; PB's exchange that wins reaches the
 * trace gap_ns before PA's release store (each trap reported after its
 * access, each CPU in its own time), then PB increments.
 */
static void handoff_reported_late(struct fixture *f, __u64 gap_ns)
{
	__u64 t0 = 5000000000ull;

	access_(f, acc_ts(PA, RMW, 0x401000, LOCK_WORD, t0));
	access_(f, acc_ts(PA, EVF_WRITE, 0x401018, COUNTER, t0 + 2000));
	access_(f, acc_ts(PB, RMW, 0x402000, LOCK_WORD, t0 + 4000));
	access_(f, acc_ts(PA, EVF_WRITE, 0x401020, LOCK_WORD, t0 + 4000 + gap_ns));
	access_(f, acc_ts(PB, EVF_WRITE, 0x402018, COUNTER, t0 + 6000 + gap_ns));
}

/* 8 us seen on the test VM: the release came first, PB's increment is ordered. */
static void test_release_reported_after_the_winning_exchange_orders(void **state)
{
	struct fixture *f = *state;

	handoff_reported_late(f, 8000);
	assert_int_equal(f->out.nr, 0);
}

/* A millisecond later the release cannot have come first: PB's exchange failed. */
static void test_release_long_after_an_exchange_does_not_order(void **state)
{
	struct fixture *f = *state;

	handoff_reported_late(f, 1000000);
	assert_int_equal(f->out.nr, 1);
	assert_int_equal(f->out.items[0].accesses[0].tid, PB);
}

/* Only the exchange's own thread is ordered: a third one skipping the lock races. */
static void test_late_release_orders_no_third_thread(void **state)
{
	struct fixture *f = *state;

	handoff_reported_late(f, 8000);
	access_(f, acc_ts(300, EVF_WRITE, 0x403018, COUNTER, 5000020000ull));
	assert_int_equal(f->out.nr, 1);
	assert_int_equal(f->out.items[0].accesses[0].tid, 300);
}

/*
 * A mailbox flag: the producer stores it with a release store (a plain
 * move), the consumer polls it with acquire loads and takes the message
 * with an xchg, which is what makes the flag known as atomic.
 */
static void flag_handoff(struct fixture *f, bool buffer_after_flag)
{
	if (!buffer_after_flag)
		access_(f, acc(PA, PA, EVF_WRITE, 0x401000, BUF, 8));
	access_(f, acc(PA, PA, EVF_WRITE, 0x401010, FLAG, 4));
	if (buffer_after_flag)
		access_(f, acc(PA, PA, EVF_WRITE, 0x401000, BUF, 8));
	access_(f, acc(PB, PB, EVF_READ, 0x402000, FLAG, 4));
	access_(f, acc(PB, PB, RMW, 0x402008, FLAG, 4));
	access_(f, acc(PB, PB, EVF_READ, 0x402010, BUF, 8));
}

/* The driver learns the atomic flag before the first event. */
static size_t analyze_races(struct fixture *f)
{
	struct analyze_opts opts = { 0 };
	struct findings out = { 0 };
	struct trace t;
	size_t i, races = 0;

	memset(&t, 0, sizeof(t));
	t.events = f->stream;
	t.nr_events = f->nr_stream;
	assert_int_equal(analyze_trace(&t, &opts, &out), 0);
	for (i = 0; i < out.nr; i++)
		races += out.items[i].kind == FINDING_DATA_RACE;
	findings__clear(&out);
	return races;
}

static void test_release_store_acquire_load_flag_hands_buffer_over(void **state)
{
	struct fixture *f = *state;

	flag_handoff(f, false);
	assert_int_equal(analyze_races(f), 0);
}

static void test_buffer_written_after_the_flag_races(void **state)
{
	struct fixture *f = *state;

	flag_handoff(f, true);
	assert_int_equal(analyze_races(f), 1);
}

/* Atomic from the first event on: the plain flag store came before any xchg. */
static void test_analyze_trace_knows_atomics_from_the_start(void **state)
{
	struct fixture *f = *state;

	flag_handoff(f, false);
	/* fed one at a time, the flag was data until PB's xchg: it and the buffer race */
	assert_int_equal(f->out.nr, 2);
	assert_int_equal(analyze_races(f), 0);
}

/* Writer: seq++ (lock xadd), data, seq++; the reader: seq, data, seq. */
static void test_seqlock_reader_after_writer_is_clean(void **state)
{
	struct fixture *f = *state;
	int round;

	for (round = 0; round < 2; round++) {
		access_(f, acc(PA, PA, RMW, 0x401000, SEQ, 4));
		access_(f, acc(PA, PA, EVF_WRITE, 0x401010, BUF, 8));
		access_(f, acc(PA, PA, EVF_WRITE, 0x401018, BUF + 8, 8));
		access_(f, acc(PA, PA, RMW, 0x401020, SEQ, 4));
		access_(f, acc(PB, PB, EVF_READ, 0x402000, SEQ, 4));
		access_(f, acc(PB, PB, EVF_READ, 0x402010, BUF, 16));
		access_(f, acc(PB, PB, EVF_READ, 0x402020, SEQ, 4));
	}
	assert_int_equal(f->out.nr, 0);
	assert_int_equal(analyze_races(f), 0);
}

/* A seqlock writer's section: seq++ (lock xadd), the data, seq++. */
static void seq_write_begin(struct fixture *f)
{
	access_(f, acc(PA, PA, RMW, 0x401000, SEQ, 4));
}

static void seq_write_data(struct fixture *f)
{
	access_(f, acc(PA, PA, EVF_WRITE, 0x401010, BUF, 8));
}

static void seq_write_end(struct fixture *f)
{
	access_(f, acc(PA, PA, RMW, 0x401020, SEQ, 4));
}

static void seq_read_seq(struct fixture *f, __u64 ip)
{
	access_(f, acc(PB, PB, EVF_READ, ip, SEQ, 4));
}

static void seq_read_data(struct fixture *f)
{
	access_(f, acc(PB, PB, EVF_READ, 0x402010, BUF, 8));
}

/*
 * The reader's copy overlaps the writer's update (the sequence moves
 * while it copies), its read after the write or before it: the reader
 * throws the copy away, no race either way.
 */
static void test_seqlock_copy_overlapping_an_update_is_thrown_away(void **state)
{
	struct fixture *f = *state;

	/* one update first: fed one at a time, the sequence is atomic from then on */
	seq_write_begin(f);
	seq_write_data(f);
	seq_write_end(f);
	seq_read_seq(f, 0x402000);
	seq_write_begin(f);
	seq_write_data(f);
	seq_read_data(f);		/* after the write */
	seq_read_seq(f, 0x402020);
	seq_write_end(f);
	seq_read_seq(f, 0x402000);
	seq_read_data(f);		/* before the next write */
	seq_write_begin(f);
	seq_write_data(f);
	seq_write_end(f);
	seq_read_seq(f, 0x402020);
	assert_int_equal(f->out.nr, 0);
	assert_int_equal(analyze_races(f), 0);
}

/*
 * The reader's load saw the odd sequence (the trap of its real first load,
 * after the writer's closing write, reached the trace late): no race.
 */
static void test_seqlock_copy_after_an_odd_sequence_is_no_race(void **state)
{
	struct fixture *f = *state;

	seq_write_begin(f);
	seq_read_seq(f, 0x402000);
	seq_write_data(f);
	seq_read_data(f);
	seq_write_end(f);
	seq_read_seq(f, 0x402020);
	seq_write_begin(f);
	seq_read_seq(f, 0x402000);
	seq_read_data(f);		/* this time the read first */
	seq_write_data(f);
	seq_write_end(f);
	/* an update is known by the writer's next RMW: the whole trace is needed */
	assert_int_equal(analyze_races(f), 0);
}

/*
 * A flag stored with a release store, then the message: the reader that
 * saw the flag is not excused (the flag's store begins no update).
 */
static void test_copy_after_a_flag_is_not_excused(void **state)
{
	struct fixture *f = *state;

	seq_write_begin(f);
	seq_write_end(f);
	access_(f, acc(PA, PA, EVF_WRITE, 0x401030, SEQ, 4));
	seq_read_seq(f, 0x402000);
	seq_write_data(f);
	seq_read_data(f);
	assert_int_equal(analyze_races(f), 1);
}

/* A reader that copies without the sequence races with the update. */
static void test_seqlock_copy_without_the_sequence_races(void **state)
{
	struct fixture *f = *state;

	seq_write_begin(f);
	seq_write_data(f);
	seq_read_data(f);
	seq_write_end(f);
	assert_int_equal(f->out.nr, 1);
	assert_int_equal(analyze_races(f), 1);
}

/* A thrown-away copy excuses only the writer's update, not a third thread's write. */
static void test_seqlock_copy_still_races_with_a_plain_writer(void **state)
{
	struct fixture *f = *state;

	seq_read_seq(f, 0x402000);
	seq_write_begin(f);
	access_(f, acc(300, 300, EVF_WRITE, 0x403010, BUF, 8));
	seq_read_data(f);
	seq_read_seq(f, 0x402020);
	assert_int_equal(f->out.nr, 1);
	assert_int_equal(f->out.items[0].accesses[0].tid, PB);
}

/* The last reference frees: every owner's writes come before the free. */
static void test_refcount_drop_to_zero_orders_the_free(void **state)
{
	struct fixture *f = *state;

	access_(f, acc(PA, PA, EVF_WRITE, 0x401000, OBJ, 8));
	access_(f, acc(PA, PA, RMW, 0x401010, REFCOUNT, 4));	/* 2 -> 1 */
	access_(f, acc(PB, PB, EVF_WRITE, 0x402000, OBJ + 8, 8));
	access_(f, acc(PB, PB, RMW, 0x402010, REFCOUNT, 4));	/* 1 -> 0 */
	/* free() writes the object over */
	access_(f, acc(PB, PB, EVF_WRITE, 0x402020, OBJ, 16));
	assert_int_equal(f->out.nr, 0);
	assert_int_equal(analyze_races(f), 0);
}

/* Two loads of an atomic variable order nothing between the two readers. */
static void test_loads_of_an_atomic_do_not_order_readers(void **state)
{
	struct fixture *f = *state;

	access_(f, acc(300, 300, RMW, 0x403000, FLAG, 4));
	access_(f, acc(PA, PA, EVF_WRITE, 0x401000, BUF, 8));
	access_(f, acc(PA, PA, EVF_READ, 0x401010, FLAG, 4));
	access_(f, acc(PB, PB, EVF_READ, 0x402000, FLAG, 4));
	access_(f, acc(PB, PB, EVF_WRITE, 0x402010, BUF, 8));
	assert_int_equal(f->out.nr, 1);
	/* a write of the flag after PA's load is after PA's buffer write */
	access_(f, acc(300, 300, EVF_WRITE, 0x403010, FLAG, 4));
	access_(f, acc(300, 300, EVF_READ, 0x403020, BUF, 4));
	assert_int_equal(f->out.nr, 2);		/* PB's write still races with it */
	assert_int_equal(f->out.items[1].accesses[1].tid, PB);
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
		T(test_plain_accesses_to_known_atomic_never_race),
		T(test_plain_accesses_before_first_atomic_are_data_in_a_stream),
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
		cmocka_unit_test(test_rmw_release_recorded_before_it_orders_the_next_loader),
		T(test_analyze_trace_reports_race_unless_piped),
		T(test_neighbouring_bytes_of_one_word_do_not_race),
		T(test_overlapping_accesses_of_different_sizes_race),
		T(test_wide_access_races_in_every_word_it_spans),
		T(test_write_supersedes_only_its_bytes),
		T(test_test_and_set_spinlock_orders_counter),
		T(test_thread_skipping_the_spinlock_races),
		T(test_release_reported_after_the_winning_exchange_orders),
		T(test_release_long_after_an_exchange_does_not_order),
		T(test_late_release_orders_no_third_thread),
		T(test_release_store_acquire_load_flag_hands_buffer_over),
		T(test_buffer_written_after_the_flag_races),
		T(test_analyze_trace_knows_atomics_from_the_start),
		T(test_seqlock_reader_after_writer_is_clean),
		T(test_seqlock_copy_overlapping_an_update_is_thrown_away),
		T(test_seqlock_copy_after_an_odd_sequence_is_no_race),
		T(test_copy_after_a_flag_is_not_excused),
		T(test_seqlock_copy_without_the_sequence_races),
		T(test_seqlock_copy_still_races_with_a_plain_writer),
		T(test_refcount_drop_to_zero_orders_the_free),
		T(test_loads_of_an_atomic_do_not_order_readers),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
