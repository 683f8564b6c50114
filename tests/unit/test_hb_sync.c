// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Happens-before edges of barriers, pthread_once, C++ static-init guards
 * and connect/accept (hb_sync.c), on synthetic event streams.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/hb.h"

#define PID 100
#define T1 101
#define T2 102
#define T3 103

struct fixture {
	struct hb *hb;
};

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->hb = hb__new();
	if (!f->hb) {
		test_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	hb__free(f->hb);
	test_free(f);
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
	return e;
}

static struct ipcrace_key shm_key(__u64 off)
{
	struct ipcrace_key k = { .a = 0x801, .b = 4242, .c = off, .space = KEY_FILE };

	return k;
}

static struct ipcrace_event obj_ev(__u16 type, __u32 tid, __u16 obj, struct ipcrace_key k,
				   __u64 arg0, __s32 result)
{
	struct ipcrace_event e = ev(type, PID, tid);

	e.obj = obj;
	e.key = k;
	e.arg0 = arg0;
	e.result = result;
	return e;
}

static void feed(struct hb *hb, struct ipcrace_event e)
{
	assert_int_equal(hb__event(hb, &e), 0);
}

/* Threads T1..T3 of one process, started by its main thread. */
static void threads(struct hb *hb, __u32 n)
{
	struct ipcrace_event e;
	__u32 i;

	feed(hb, ev(EV_MMAP, PID, PID));
	for (i = 0; i < n; i++) {
		e = ev(EV_THREAD_SPAWN, PID, PID);
		e.arg0 = PID;
		e.arg1 = T1 + i;
		feed(hb, e);
	}
}

/* Something the thread does now: its epoch, to ask about later. */
static struct hb_epoch work(struct hb *hb, __u32 tid)
{
	struct ipcrace_event e = ev(EV_MMAP, PID, tid);

	feed(hb, e);
	return hb__epoch(hb, tid);
}

/* --- barriers ---------------------------------------------------------------- */

static void arrive(struct hb *hb, __u32 tid, __u32 count)
{
	feed(hb, obj_ev(EV_BARRIER_ARRIVE, tid, OBJ_BARRIER, shm_key(64), count, 0));
}

static void depart(struct hb *hb, __u32 tid, __s32 result)
{
	feed(hb, obj_ev(EV_BARRIER_DEPART, tid, OBJ_BARRIER, shm_key(64), 0, result));
}

static void test_barrier_every_arrival_before_every_departure(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch w1, w2, w3;

	threads(hb, 3);
	w1 = work(hb, T1);
	w2 = work(hb, T2);
	w3 = work(hb, T3);
	arrive(hb, T1, 3);
	arrive(hb, T2, 3);
	assert_false(hb__ordered_before(hb, w1, T2));
	arrive(hb, T3, 3);
	depart(hb, T3, -1);		/* PTHREAD_BARRIER_SERIAL_THREAD */
	depart(hb, T1, 0);
	depart(hb, T2, 0);
	assert_true(hb__ordered_before(hb, w1, T2));
	assert_true(hb__ordered_before(hb, w1, T3));
	assert_true(hb__ordered_before(hb, w2, T1));
	assert_true(hb__ordered_before(hb, w3, T1));
	assert_true(hb__ordered_before(hb, w3, T2));
}

/*
 * T1 leaves round 1 and arrives at round 2 before T2 has left round 1:
 * what T1 did between the rounds is not before T2's departure of round 1.
 */
static void test_barrier_rounds_stay_apart(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch between, after2;

	threads(hb, 2);
	arrive(hb, T1, 2);
	arrive(hb, T2, 2);
	depart(hb, T1, 0);
	between = work(hb, T1);
	arrive(hb, T1, 2);		/* round 2 */
	depart(hb, T2, -1);		/* still round 1 */
	assert_false(hb__ordered_before(hb, between, T2));
	after2 = work(hb, T2);
	arrive(hb, T2, 2);
	depart(hb, T2, 0);
	depart(hb, T1, -1);
	assert_true(hb__ordered_before(hb, between, T2));
	assert_true(hb__ordered_before(hb, after2, T1));
}

static void test_barrier_failed_wait_orders_nothing(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch w1;

	threads(hb, 2);
	w1 = work(hb, T1);
	arrive(hb, T1, 2);
	arrive(hb, T2, 2);
	depart(hb, T2, EINVAL);
	assert_false(hb__ordered_before(hb, w1, T2));
}

/* --- pthread_once -------------------------------------------------------------- */

static void once_enter(struct hb *hb, __u32 tid, __u64 state_word)
{
	feed(hb, obj_ev(EV_ONCE_ENTER, tid, OBJ_ONCE, shm_key(8), state_word, 0));
}

static void once_return(struct hb *hb, __u32 tid)
{
	feed(hb, obj_ev(EV_ONCE_RET, tid, OBJ_ONCE, shm_key(8), 0, 0));
}

/* The initializer's return event comes after a fast-path caller's. */
static void test_once_initializer_before_every_return(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch init, waiter_before;

	threads(hb, 3);
	waiter_before = work(hb, T3);
	once_enter(hb, T1, 0);		/* not started: T1 runs the initializer */
	once_enter(hb, T3, 1);		/* in progress: T3 waits */
	init = work(hb, T1);		/* the initializer's writes */
	once_enter(hb, T2, 2);		/* done: fast path */
	once_return(hb, T2);
	assert_true(hb__ordered_before(hb, init, T2));
	/* the waiter's past is not the initializer's */
	assert_false(hb__ordered_before(hb, waiter_before, T2));
	once_return(hb, T3);
	assert_true(hb__ordered_before(hb, init, T3));
	once_return(hb, T1);
	once_enter(hb, T2, 2);
	once_return(hb, T2);
	assert_false(hb__ordered_before(hb, waiter_before, T1));
}

/* --- signals ---------------------------------------------------------------------- */

static struct ipcrace_event signal_ev(__u16 type, __u32 tid, __u32 target, __u32 sig, __u64 how)
{
	struct ipcrace_key k = { .space = KEY_PRIVATE, .a = target, .b = sig };
	struct ipcrace_event e = obj_ev(type, tid, OBJ_SIGNAL, k, sig, 0);

	e.arg1 = how;
	e.addr = target;
	return e;
}

/* sigaction before a handler's run in another thread; a later write is not */
static void test_sigaction_orders_the_handler_run(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch before, after;

	threads(hb, 2);
	before = work(hb, T1);
	feed(hb, signal_ev(EV_SIGNAL_SEND, T1, PID, 14, SIGNAL_BY_SIGACTION));
	after = work(hb, T1);
	feed(hb, signal_ev(EV_SIGNAL_DELIVER, T2, PID, 14, 0));
	assert_true(hb__ordered_before(hb, before, T2));
	assert_false(hb__ordered_before(hb, after, T2));
}

/* a kill of one signal orders its handler, not another signal's */
static void test_kill_orders_that_signal_only(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch sent;

	threads(hb, 2);
	sent = work(hb, T1);
	feed(hb, signal_ev(EV_SIGNAL_SEND, T1, PID, 10, SIGNAL_BY_KILL));
	feed(hb, signal_ev(EV_SIGNAL_DELIVER, T2, PID, 12, 0));
	assert_false(hb__ordered_before(hb, sent, T2));
	feed(hb, signal_ev(EV_SIGNAL_DELIVER, T2, PID, 10, 0));
	assert_true(hb__ordered_before(hb, sent, T2));
}

/* --- C++ static-initialization guards ------------------------------------------------ */

static void test_guard_release_orders_later_acquire(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch init, late;

	threads(hb, 2);
	feed(hb, obj_ev(EV_GUARD_ACQUIRE_RET, T1, OBJ_GUARD, shm_key(16), 0, 1));
	init = work(hb, T1);
	feed(hb, obj_ev(EV_GUARD_RELEASE, T1, OBJ_GUARD, shm_key(16), 0, 0));
	late = work(hb, T1);
	feed(hb, obj_ev(EV_GUARD_ACQUIRE_RET, T2, OBJ_GUARD, shm_key(16), 0, 0));
	assert_true(hb__ordered_before(hb, init, T2));
	assert_false(hb__ordered_before(hb, late, T2));
}

static void test_guard_acquire_that_initializes_orders_nothing(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch w1;

	threads(hb, 2);
	w1 = work(hb, T1);
	/* T1 initializes, throws (__cxa_guard_abort: no release); T2 tries again */
	feed(hb, obj_ev(EV_GUARD_ACQUIRE_RET, T1, OBJ_GUARD, shm_key(16), 0, 1));
	feed(hb, obj_ev(EV_GUARD_ACQUIRE_RET, T2, OBJ_GUARD, shm_key(16), 0, 1));
	assert_false(hb__ordered_before(hb, w1, T2));
}

/* --- connect / accept ------------------------------------------------------------------ */

static struct ipcrace_key unix_conn(__u64 sock)
{
	struct ipcrace_key k = { .a = sock, .c = CHANKEY_CONNECT_UNIX, .space = KEY_FILE };

	return k;
}

static struct ipcrace_key inet_conn(__u64 listener, __u64 connector)
{
	struct ipcrace_key k = {
		.a = listener, .b = connector, .c = CHANKEY_CONNECT_INET, .space = KEY_FILE,
	};

	return k;
}

static struct ipcrace_key inet_stream(__u64 rx, __u64 tx)
{
	struct ipcrace_key k = { .a = rx, .b = tx, .c = CHANKEY_INET_STREAM, .space = KEY_FILE };

	return k;
}

static void test_unix_connect_orders_accept(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch before, after;

	threads(hb, 3);
	before = work(hb, T1);
	feed(hb, obj_ev(EV_CHAN_CONNECT, T1, OBJ_SOCKET, unix_conn(0xffff1000), 5, 0));
	after = work(hb, T1);
	/* another connection's accept learns nothing */
	feed(hb, obj_ev(EV_CHAN_ACCEPT, T3, OBJ_SOCKET, unix_conn(0xffff2000), 6, 0));
	assert_false(hb__ordered_before(hb, before, T3));
	feed(hb, obj_ev(EV_CHAN_ACCEPT, T2, OBJ_SOCKET, unix_conn(0xffff1000), 6, 0));
	assert_true(hb__ordered_before(hb, before, T2));
	assert_false(hb__ordered_before(hb, after, T2));
}

#define LISTENER ((__u64)0x7f000001 << 16 | 8080)
#define CLIENT_A ((__u64)0x7f000001 << 16 | 40001)
#define CLIENT_B ((__u64)0x7f000001 << 16 | 40002)

/* The connector's port is known once connect returns: accept finds its own. */
static void test_tcp_accept_takes_its_own_connect(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch a, b;
	struct ipcrace_event opened;

	threads(hb, 3);
	a = work(hb, T1);
	feed(hb, obj_ev(EV_CHAN_CONNECT, T1, OBJ_SOCKET, inet_conn(LISTENER, 0), 5, 0));
	b = work(hb, T2);
	feed(hb, obj_ev(EV_CHAN_CONNECT, T2, OBJ_SOCKET, inet_conn(LISTENER, 0), 5, 0));
	opened = obj_ev(EV_CHAN_OPEN, T2, OBJ_SOCKET, inet_stream(CLIENT_B, LISTENER), 5, 0);
	opened.arg1 = (__u64)-1;
	feed(hb, opened);
	opened = obj_ev(EV_CHAN_OPEN, T1, OBJ_SOCKET, inet_stream(CLIENT_A, LISTENER), 5, 0);
	opened.arg1 = (__u64)-1;
	feed(hb, opened);
	feed(hb, obj_ev(EV_CHAN_ACCEPT, T3, OBJ_SOCKET, inet_conn(LISTENER, CLIENT_B), 7, 0));
	assert_true(hb__ordered_before(hb, b, T3));
	assert_false(hb__ordered_before(hb, a, T3));
}

/* accept before connect returned: a single waiting connect is that one. */
static void test_tcp_accept_before_connect_returns(void **state)
{
	struct hb *hb = ((struct fixture *)*state)->hb;
	struct hb_epoch a;

	threads(hb, 3);
	a = work(hb, T1);
	feed(hb, obj_ev(EV_CHAN_CONNECT, T1, OBJ_SOCKET, inet_conn(LISTENER, 0), 5, 0));
	feed(hb, obj_ev(EV_CHAN_ACCEPT, T3, OBJ_SOCKET, inet_conn(LISTENER + 1, CLIENT_A), 7, 0));
	assert_false(hb__ordered_before(hb, a, T3));	/* another listener */
	feed(hb, obj_ev(EV_CHAN_ACCEPT, T2, OBJ_SOCKET, inet_conn(LISTENER, CLIENT_A), 7, 0));
	assert_true(hb__ordered_before(hb, a, T2));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_barrier_every_arrival_before_every_departure),
		T(test_barrier_rounds_stay_apart),
		T(test_barrier_failed_wait_orders_nothing),
		T(test_once_initializer_before_every_return),
		T(test_sigaction_orders_the_handler_run),
		T(test_kill_orders_that_signal_only),
		T(test_guard_release_orders_later_acquire),
		T(test_guard_acquire_that_initializes_orders_nothing),
		T(test_unix_connect_orders_accept),
		T(test_tcp_accept_takes_its_own_connect),
		T(test_tcp_accept_before_connect_returns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
