// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Vector clocks and the happens-before order on synthetic event streams.
 * Every edge kind is checked three ways: an access before the release is
 * ordered before the acquirer, an access after the release is not, and the
 * failed form of the acquire creates no edge.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/hb.h"
#include "analyzer/vclock.h"

/* Two processes, one thread each, that never met before the edge under test. */
#define PA 100
#define PB 200

/* --- vector clocks ----------------------------------------------------------- */

static void test_vclock_missing_components_read_zero(void **state)
{
	struct vclock vc = VCLOCK_INIT;

	(void)state;
	assert_int_equal(vclock__get(&vc, 0), 0);
	assert_int_equal(vclock__set(&vc, 5, 0), 0);
	assert_int_equal(vc.len, 0);		/* a zero needs no room */
	assert_int_equal(vclock__set(&vc, 5, 7), 0);
	assert_int_equal(vclock__get(&vc, 5), 7);
	assert_int_equal(vclock__get(&vc, 4), 0);
	assert_int_equal(vclock__get(&vc, 1000), 0);
	vclock__fini(&vc);
	vclock__fini(NULL);
}

static void test_vclock_join_takes_componentwise_max(void **state)
{
	struct vclock a = VCLOCK_INIT, b = VCLOCK_INIT;

	(void)state;
	vclock__set(&a, 0, 3);
	vclock__set(&a, 1, 1);
	vclock__set(&b, 1, 4);
	vclock__set(&b, 40, 2);		/* grows a on join */
	assert_int_equal(vclock__join(&a, &b), 0);
	assert_int_equal(vclock__get(&a, 0), 3);
	assert_int_equal(vclock__get(&a, 1), 4);
	assert_int_equal(vclock__get(&a, 40), 2);
	assert_int_equal(vclock__get(&b, 0), 0);	/* src untouched */
	vclock__fini(&a);
	vclock__fini(&b);
}

static void test_vclock_compare_orders_and_detects_concurrency(void **state)
{
	struct vclock a = VCLOCK_INIT, b = VCLOCK_INIT;

	(void)state;
	assert_int_equal(vclock__compare(&a, &b), VCLOCK_EQUAL);
	vclock__set(&a, 0, 1);
	assert_int_equal(vclock__compare(&a, &b), VCLOCK_AFTER);
	assert_int_equal(vclock__compare(&b, &a), VCLOCK_BEFORE);
	vclock__set(&b, 3, 1);
	assert_int_equal(vclock__compare(&a, &b), VCLOCK_CONCURRENT);
	assert_false(vclock__leq(&a, &b));
	vclock__join(&b, &a);
	assert_true(vclock__leq(&a, &b));
	assert_int_equal(vclock__compare(&a, &b), VCLOCK_BEFORE);
	/* trailing zeros do not make clocks differ */
	vclock__set(&a, 3, 1);
	vclock__set(&a, 9, 1);
	vclock__set(&a, 9, 0);
	assert_int_equal(vclock__compare(&a, &b), VCLOCK_EQUAL);
	vclock__fini(&a);
	vclock__fini(&b);
}

static void test_vclock_copy_and_tick(void **state)
{
	struct vclock a = VCLOCK_INIT, b = VCLOCK_INIT;

	(void)state;
	vclock__set(&a, 2, 5);
	vclock__set(&b, 7, 9);
	assert_int_equal(vclock__copy(&b, &a), 0);
	assert_int_equal(vclock__get(&b, 7), 0);
	assert_int_equal(vclock__get(&b, 2), 5);
	assert_int_equal(vclock__tick(&b, 2), 0);
	assert_int_equal(vclock__get(&b, 2), 6);
	assert_int_equal(vclock__get(&a, 2), 5);
	vclock__set(&b, 2, UINT32_MAX);
	assert_int_equal(vclock__tick(&b, 2), -EOVERFLOW);
	vclock__fini(&a);
	vclock__fini(&b);
}

static void test_vclock_ids_are_distinct(void **state)
{
	struct vclock_ids ids = { 0 };
	__u32 x, y;

	(void)state;
	assert_int_equal(vclock_ids__alloc(&ids, &x), 0);
	assert_int_equal(vclock_ids__alloc(&ids, &y), 0);
	assert_int_not_equal(x, y);
	ids.nr = UINT32_MAX;
	assert_int_equal(vclock_ids__alloc(&ids, &x), -EOVERFLOW);
}

/* --- event helpers ----------------------------------------------------------- */

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

static struct ipcrace_key file_key(__u64 ino, __u64 off)
{
	struct ipcrace_key k = { .a = 0x801, .b = ino, .c = off, .space = KEY_FILE };

	return k;
}

static struct ipcrace_event obj_ev(__u16 type, __u32 who, __u16 obj, struct ipcrace_key k,
				   __s32 result)
{
	struct ipcrace_event e = ev(type, who, who);

	e.obj = obj;
	e.key = k;
	e.result = result;
	return e;
}

static void feed(struct hb *hb, struct ipcrace_event e)
{
	assert_int_equal(hb__event(hb, &e), 0);
}

/* Makes a thread known with an event that orders nothing. */
static void hello(struct hb *hb, __u32 pid, __u32 tid)
{
	feed(hb, ev(EV_MMAP, pid, tid));
}

/*
 * The edge check: PA (after pre[]) releases, PB acquires. The access before
 * the release must be ordered before PB iff want_edge; the access after the
 * release never is; nothing is ordered before PB's acquire.
 */
static void check_edge(const struct ipcrace_event *pre, size_t nr_pre,
		       struct ipcrace_event rel, struct ipcrace_event acq, bool want_edge)
{
	struct hb *hb = hb__new();
	struct hb_epoch before, after;
	size_t i;

	assert_non_null(hb);
	hello(hb, PA, PA);
	hello(hb, PB, PB);
	for (i = 0; i < nr_pre; i++)
		feed(hb, pre[i]);
	before = hb__epoch(hb, PA);
	assert_false(hb__ordered_before(hb, before, PB));
	feed(hb, rel);
	after = hb__epoch(hb, PA);
	assert_true(hb__ordered_before(hb, before, PA));	/* program order */
	assert_false(hb__ordered_before(hb, before, PB));	/* not yet acquired */
	feed(hb, acq);
	if (want_edge)
		assert_true(hb__ordered_before(hb, before, PB));
	else
		assert_false(hb__ordered_before(hb, before, PB));
	assert_false(hb__ordered_before(hb, after, PB));
	hb__free(hb);
}

static void check_lock(__u16 obj, struct ipcrace_key k, __s32 fail_result)
{
	check_edge(NULL, 0, obj_ev(EV_LOCK_RELEASE, PA, obj, k, 0),
		   obj_ev(EV_LOCK_ACQUIRED, PB, obj, k, 0), true);
	check_edge(NULL, 0, obj_ev(EV_LOCK_RELEASE, PA, obj, k, 0),
		   obj_ev(EV_LOCK_ACQUIRED, PB, obj, k, fail_result), false);
	/* another lock orders nothing */
	check_edge(NULL, 0, obj_ev(EV_LOCK_RELEASE, PA, obj, k, 0),
		   obj_ev(EV_LOCK_ACQUIRED, PB, obj, file_key(999, 0), 0), false);
}

/* --- locks ------------------------------------------------------------------- */

static void test_mutex_unlock_orders_later_lock(void **state)
{
	(void)state;
	check_lock(OBJ_MUTEX, file_key(10, 64), EBUSY);
	check_lock(OBJ_MUTEX, file_key(10, 64), ETIMEDOUT);
}

static void test_robust_mutex_eownerdead_still_acquires(void **state)
{
	(void)state;
	check_edge(NULL, 0, obj_ev(EV_LOCK_RELEASE, PA, OBJ_MUTEX, file_key(10, 0), 0),
		   obj_ev(EV_LOCK_ACQUIRED, PB, OBJ_MUTEX, file_key(10, 0), EOWNERDEAD), true);
}

static void test_spinlock_unlock_orders_later_lock(void **state)
{
	(void)state;
	check_lock(OBJ_SPIN, file_key(11, 8), EBUSY);
}

static void test_posix_sem_post_orders_later_wait(void **state)
{
	(void)state;
	check_lock(OBJ_SEM, file_key(12, 0), -1);
}

static void test_sysv_sem_op_orders_later_wait(void **state)
{
	struct ipcrace_key k = { .a = 32769, .b = 2, .space = KEY_SYSV_SEM };

	(void)state;
	check_lock(OBJ_SYSV_SEM, k, -EAGAIN);
	/* another semaphore of the same set is another object */
	k.b = 3;
	check_edge(NULL, 0, obj_ev(EV_LOCK_RELEASE, PA, OBJ_SYSV_SEM, k, 0),
		   obj_ev(EV_LOCK_ACQUIRED, PB, OBJ_SYSV_SEM,
			  (struct ipcrace_key){ .a = 32769, .b = 2, .space = KEY_SYSV_SEM }, 0),
		   false);
}

static void test_file_locks_unlock_orders_later_lock(void **state)
{
	(void)state;
	check_lock(OBJ_FLOCK, file_key(13, 0), -EWOULDBLOCK);
	check_lock(OBJ_FCNTL_LOCK, file_key(14, 0), -EAGAIN);
}

static void test_rwlock_write_unlock_orders_reader(void **state)
{
	struct ipcrace_key k = file_key(20, 0);
	struct ipcrace_event pre = obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_RWLOCK, k, 0);
	struct ipcrace_event rd = obj_ev(EV_LOCK_ACQUIRED, PB, OBJ_RWLOCK, k, 0);

	(void)state;
	pre.flags = EVF_WRITE;
	rd.flags = EVF_READ;
	check_edge(&pre, 1, obj_ev(EV_LOCK_RELEASE, PA, OBJ_RWLOCK, k, 0), rd, true);
	rd.result = EBUSY;
	rd.flags |= EVF_TRY;
	check_edge(&pre, 1, obj_ev(EV_LOCK_RELEASE, PA, OBJ_RWLOCK, k, 0), rd, false);
}

static void test_rwlock_readers_do_not_order_each_other(void **state)
{
	struct ipcrace_key k = file_key(21, 0);
	struct ipcrace_event pre = obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_RWLOCK, k, 0);
	struct ipcrace_event acq = obj_ev(EV_LOCK_ACQUIRED, PB, OBJ_RWLOCK, k, 0);

	(void)state;
	pre.flags = EVF_READ;
	acq.flags = EVF_READ;
	check_edge(&pre, 1, obj_ev(EV_LOCK_RELEASE, PA, OBJ_RWLOCK, k, 0), acq, false);
	/* but a writer waits for the readers */
	acq.flags = EVF_WRITE;
	check_edge(&pre, 1, obj_ev(EV_LOCK_RELEASE, PA, OBJ_RWLOCK, k, 0), acq, true);
}

/* A thread holding the lock for reading twice frees the read side twice. */
static void test_rwlock_unlock_side_follows_latest_hold(void **state)
{
	struct ipcrace_key k = file_key(22, 0);
	struct ipcrace_event pre[3];
	struct ipcrace_event acq = obj_ev(EV_LOCK_ACQUIRED, PB, OBJ_RWLOCK, k, 0);

	(void)state;
	pre[0] = obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_RWLOCK, k, 0);
	pre[0].flags = EVF_READ;
	pre[1] = pre[0];
	pre[2] = obj_ev(EV_LOCK_RELEASE, PA, OBJ_RWLOCK, k, 0);
	acq.flags = EVF_READ;
	check_edge(pre, 3, obj_ev(EV_LOCK_RELEASE, PA, OBJ_RWLOCK, k, 0), acq, false);
	/* after the reads, a write hold: its release orders readers */
	pre[0].flags = EVF_WRITE;
	pre[1] = pre[2];	/* release of the write hold */
	pre[2] = obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_RWLOCK, k, 0);
	pre[2].flags = EVF_WRITE;
	check_edge(pre, 3, obj_ev(EV_LOCK_RELEASE, PA, OBJ_RWLOCK, k, 0), acq, true);
}

/*
 * One thread taking and releasing one lock over and over (hb.c's last_lock
 * path, no join at its own reacquisition): each release still orders what
 * came before it, and only that, before another thread's acquisition.
 */
static void test_lock_pairs_of_one_thread_order_the_last_release(void **state)
{
	struct ipcrace_key k = file_key(23, 0);
	struct hb *hb = hb__new();
	struct hb_epoch first, last, after;
	int i;

	(void)state;
	assert_non_null(hb);
	hello(hb, PA, PA);
	hello(hb, PB, PB);
	first = hb__epoch(hb, PA);
	for (i = 0; i < 5; i++) {
		feed(hb, obj_ev(EV_LOCK_ATTEMPT, PA, OBJ_MUTEX, k, 0));
		feed(hb, obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_MUTEX, k, 0));
		last = hb__epoch(hb, PA);
		feed(hb, obj_ev(EV_LOCK_RELEASE, PA, OBJ_MUTEX, k, 0));
	}
	after = hb__epoch(hb, PA);
	assert_false(hb__ordered_before(hb, first, PB));
	feed(hb, obj_ev(EV_LOCK_ACQUIRED, PB, OBJ_MUTEX, k, 0));
	assert_true(hb__ordered_before(hb, first, PB));
	assert_true(hb__ordered_before(hb, last, PB));
	assert_false(hb__ordered_before(hb, after, PB));
	hb__free(hb);
}

/*
 * A thread that reacquires a lock another thread released since its own
 * release learns that thread's history: the join is skipped only when its
 * own release was the last.
 */
static void test_lock_reacquired_after_another_release_joins(void **state)
{
	struct ipcrace_key k = file_key(24, 0);
	struct hb *hb = hb__new();
	struct hb_epoch b_before, b_after;

	(void)state;
	assert_non_null(hb);
	hello(hb, PA, PA);
	hello(hb, PB, PB);
	feed(hb, obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_MUTEX, k, 0));
	feed(hb, obj_ev(EV_LOCK_RELEASE, PA, OBJ_MUTEX, k, 0));
	feed(hb, obj_ev(EV_LOCK_ACQUIRED, PB, OBJ_MUTEX, k, 0));
	b_before = hb__epoch(hb, PB);
	feed(hb, obj_ev(EV_LOCK_RELEASE, PB, OBJ_MUTEX, k, 0));
	b_after = hb__epoch(hb, PB);
	assert_false(hb__ordered_before(hb, b_before, PA));
	feed(hb, obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_MUTEX, k, 0));
	assert_true(hb__ordered_before(hb, b_before, PA));
	assert_false(hb__ordered_before(hb, b_after, PA));
	/* and its own reacquisition after that changes nothing */
	feed(hb, obj_ev(EV_LOCK_RELEASE, PA, OBJ_MUTEX, k, 0));
	feed(hb, obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_MUTEX, k, 0));
	assert_true(hb__ordered_before(hb, b_before, PA));
	assert_false(hb__ordered_before(hb, b_after, PA));
	hb__free(hb);
}

/* The same key as a mutex, then read-locked: the readers' releases order no reader. */
static void test_lock_taken_as_rwlock_after_mutex_pairs(void **state)
{
	struct ipcrace_key k = file_key(25, 0);
	struct ipcrace_event rd = obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_RWLOCK, k, 0);
	struct ipcrace_event pre[3];

	(void)state;
	rd.flags = EVF_READ;
	pre[0] = obj_ev(EV_LOCK_ACQUIRED, PA, OBJ_MUTEX, k, 0);
	pre[1] = obj_ev(EV_LOCK_RELEASE, PA, OBJ_MUTEX, k, 0);
	pre[2] = rd;
	rd.pid = rd.tid = PB;
	check_edge(pre, 3, obj_ev(EV_LOCK_RELEASE, PA, OBJ_RWLOCK, k, 0), rd, false);
}

/* --- channels and futexes ------------------------------------------------------ */

static struct ipcrace_event recv_ev(__u16 obj, struct ipcrace_key k, __s32 result, __u64 bytes)
{
	struct ipcrace_event e = obj_ev(EV_CHAN_RECV, PB, obj, k, result);

	e.arg0 = bytes;
	return e;
}

static void check_channel(__u16 obj, struct ipcrace_key k)
{
	struct ipcrace_event snd = obj_ev(EV_CHAN_SEND, PA, obj, k, 0);
	struct ipcrace_key other = k;

	snd.arg0 = 8;
	check_edge(NULL, 0, snd, recv_ev(obj, k, 8, 8), true);
	check_edge(NULL, 0, snd, recv_ev(obj, k, 0, 0), false);		/* EOF */
	check_edge(NULL, 0, snd, recv_ev(obj, k, -EAGAIN, 0), false);
	other.b++;
	check_edge(NULL, 0, snd, recv_ev(obj, other, 8, 8), false);
}

static void test_pipe_write_orders_read_with_data(void **state)
{
	(void)state;
	check_channel(OBJ_PIPE, file_key(4000, 0));
	check_channel(OBJ_FIFO, file_key(4001, 0));
}

static void test_socket_send_orders_recv_with_data(void **state)
{
	struct ipcrace_key k = { .a = 0xffff888012345678ull, .c = CHANKEY_UNIX,
				 .space = KEY_FILE };

	(void)state;
	check_channel(OBJ_SOCKET, k);
}

static void test_mq_send_orders_receive(void **state)
{
	(void)state;
	check_channel(OBJ_MQ, file_key(4002, 0));
}

static void test_sysv_msg_send_orders_receive(void **state)
{
	struct ipcrace_key k = { .a = 65536, .space = KEY_SYSV_MSG };

	(void)state;
	check_channel(OBJ_SYSV_MSG, k);
}

static void test_eventfd_write_orders_read(void **state)
{
	struct ipcrace_key k = { .b = 0xffff888000abc000ull, .c = CHANKEY_EVENTFD,
				 .space = KEY_FILE };

	(void)state;
	check_channel(OBJ_EVENTFD, k);
}

static void test_unresolved_channel_orders_nothing(void **state)
{
	struct ipcrace_key none = { 0 };
	struct ipcrace_event snd = obj_ev(EV_CHAN_SEND, PA, OBJ_SOCKET, none, 0);
	struct ipcrace_event rcv = recv_ev(OBJ_SOCKET, none, 8, 8);

	(void)state;
	snd.flags = rcv.flags = EVF_KEY_UNRESOLVED;
	check_edge(NULL, 0, snd, rcv, false);
}

static void test_futex_wake_orders_wait_returning_zero(void **state)
{
	struct ipcrace_key k = file_key(30, 128);

	(void)state;
	check_edge(NULL, 0, obj_ev(EV_FUTEX_WAKE, PA, OBJ_FUTEX, k, 0),
		   obj_ev(EV_FUTEX_WAIT_RET, PB, OBJ_FUTEX, k, 0), true);
	check_edge(NULL, 0, obj_ev(EV_FUTEX_WAKE, PA, OBJ_FUTEX, k, 0),
		   obj_ev(EV_FUTEX_WAIT_RET, PB, OBJ_FUTEX, k, -EAGAIN), false);
	check_edge(NULL, 0, obj_ev(EV_FUTEX_WAKE, PA, OBJ_FUTEX, k, 0),
		   obj_ev(EV_FUTEX_WAIT_RET, PB, OBJ_FUTEX, k, -ETIMEDOUT), false);
}

/* A mutex and the futex word inside it share a key but are two objects. */
static void test_futex_and_lock_on_one_word_stay_apart(void **state)
{
	struct ipcrace_key k = file_key(31, 0);

	(void)state;
	check_edge(NULL, 0, obj_ev(EV_FUTEX_WAKE, PA, OBJ_FUTEX, k, 0),
		   obj_ev(EV_LOCK_ACQUIRED, PB, OBJ_MUTEX, k, 0), false);
}

/* --- processes and threads ----------------------------------------------------- */

static struct ipcrace_event spawn_ev(__u16 type, __u32 pid, __u32 tid, __u32 child_pid,
				     __u32 child_tid)
{
	struct ipcrace_event e = ev(type, pid, tid);

	e.arg0 = child_pid;
	e.arg1 = child_tid;
	return e;
}

static void check_spawn(bool fork)
{
	struct hb *hb = hb__new();
	__u32 cpid = fork ? PB : PA, ctid = PB;
	struct hb_epoch before, after, child;

	assert_non_null(hb);
	hello(hb, PA, PA);
	before = hb__epoch(hb, PA);
	feed(hb, spawn_ev(fork ? EV_FORK : EV_THREAD_SPAWN, PA, PA, cpid, ctid));
	after = hb__epoch(hb, PA);
	hello(hb, cpid, ctid);
	child = hb__epoch(hb, ctid);
	assert_true(hb__ordered_before(hb, before, ctid));
	assert_false(hb__ordered_before(hb, after, ctid));
	/* and the child's own work is not ordered before the parent */
	assert_false(hb__ordered_before(hb, child, PA));
	assert_true(hb__thread_process(hb, before.thread) ==
		    hb__thread_process(hb, child.thread) ? !fork : fork);
	hb__free(hb);
}

static void test_fork_orders_parent_before_child(void **state)
{
	(void)state;
	check_spawn(true);
}

static void test_thread_spawn_orders_creator_before_thread(void **state)
{
	(void)state;
	check_spawn(false);
}

static void test_reap_orders_child_exit_before_waiter(void **state)
{
	struct hb *hb = hb__new();
	struct ipcrace_event reap = ev(EV_WAIT_REAPED, PA, PA);
	struct ipcrace_event ex = ev(EV_EXIT, PB, PB);
	struct hb_epoch child, thread2;

	(void)state;
	assert_non_null(hb);
	hello(hb, PA, PA);
	feed(hb, spawn_ev(EV_FORK, PA, PA, PB, PB));
	feed(hb, spawn_ev(EV_THREAD_SPAWN, PB, PB, PB, PB + 1));
	thread2 = hb__epoch(hb, PB + 1);
	feed(hb, ev(EV_EXIT, PB, PB + 1));
	child = hb__epoch(hb, PB);
	ex.flags = EVF_GROUP_DEAD;
	feed(hb, ex);
	assert_false(hb__ordered_before(hb, child, PA));

	reap.arg0 = PB + 7;			/* some other child */
	feed(hb, reap);
	assert_false(hb__ordered_before(hb, child, PA));
	reap.arg0 = PB;
	reap.result = -ECHILD;
	feed(hb, reap);
	assert_false(hb__ordered_before(hb, child, PA));
	reap.result = PB;
	feed(hb, reap);
	assert_true(hb__ordered_before(hb, child, PA));
	assert_true(hb__ordered_before(hb, thread2, PA));	/* every thread's exit */
	hb__free(hb);
}

static void check_join(bool exit_before_join, __s32 join_result, __u64 joined, bool want)
{
	struct hb *hb = hb__new();
	struct ipcrace_event create = ev(EV_THREAD_CREATE_RET, PA, PA);
	struct ipcrace_event join = ev(EV_THREAD_JOIN_RET, PA, PA);
	struct hb_epoch in_thread, creator_after;

	assert_non_null(hb);
	hello(hb, PA, PA);
	feed(hb, spawn_ev(EV_THREAD_SPAWN, PA, PA, PA, PA + 1));
	create.arg0 = 0x7f0000001000ull;
	feed(hb, create);
	creator_after = hb__epoch(hb, PA);
	hello(hb, PA, PA + 1);
	in_thread = hb__epoch(hb, PA + 1);
	if (exit_before_join)
		feed(hb, ev(EV_EXIT, PA, PA + 1));
	assert_false(hb__ordered_before(hb, in_thread, PA));
	join.arg0 = joined;
	join.result = join_result;
	feed(hb, join);
	if (want)
		assert_true(hb__ordered_before(hb, in_thread, PA));
	else
		assert_false(hb__ordered_before(hb, in_thread, PA));
	assert_false(hb__ordered_before(hb, creator_after, PA + 1));
	hb__free(hb);
}

static void test_pthread_join_orders_thread_before_joiner(void **state)
{
	(void)state;
	check_join(true, 0, 0x7f0000001000ull, true);
	/* the kernel wakes the joiner before the exit tracepoint fires */
	check_join(false, 0, 0x7f0000001000ull, true);
	check_join(true, ESRCH, 0x7f0000001000ull, false);
	check_join(true, 0, 0x7f0000009000ull, false);	/* another pthread_t */
}

static void test_unannounced_thread_starts_with_empty_clock(void **state)
{
	struct hb *hb = hb__new();
	struct hb_epoch a;

	(void)state;
	assert_non_null(hb);
	hello(hb, PA, PA);
	a = hb__epoch(hb, PA);
	hello(hb, PA, PA + 5);			/* attach mode: never announced */
	assert_false(hb__ordered_before(hb, a, PA + 5));
	assert_false(hb__ordered_before(hb, a, 4242));	/* never seen at all */
	assert_int_equal(hb__thread_of(hb, 4242), HB_THREAD_NONE);
	hb__free(hb);
}

static void test_reused_tid_is_a_new_thread(void **state)
{
	struct hb *hb = hb__new();
	struct hb_epoch old, fresh;

	(void)state;
	assert_non_null(hb);
	hello(hb, PA, PA + 1);			/* a thread of PA */
	old = hb__epoch(hb, PA + 1);
	feed(hb, ev(EV_EXIT, PA, PA + 1));
	/* PB, unrelated, spawns a thread that gets the same tid */
	hello(hb, PB, PB);
	feed(hb, spawn_ev(EV_THREAD_SPAWN, PB, PB, PB, PA + 1));
	fresh = hb__epoch(hb, PA + 1);
	assert_int_not_equal(old.thread, fresh.thread);
	assert_false(hb__ordered_before(hb, old, PA + 1));
	hb__free(hb);
}

/* A → mutex → B → pipe → C: order is transitive across kinds and processes. */
static void test_edges_compose_transitively(void **state)
{
	struct hb *hb = hb__new();
	struct ipcrace_key m = file_key(50, 0), p = file_key(51, 0);
	struct ipcrace_event snd = obj_ev(EV_CHAN_SEND, PB, OBJ_PIPE, p, 0);
	struct ipcrace_event rcv = obj_ev(EV_CHAN_RECV, 300, OBJ_PIPE, p, 1);
	struct hb_epoch a;

	(void)state;
	assert_non_null(hb);
	hello(hb, PA, PA);
	hello(hb, PB, PB);
	hello(hb, 300, 300);
	a = hb__epoch(hb, PA);
	feed(hb, obj_ev(EV_LOCK_RELEASE, PA, OBJ_MUTEX, m, 0));
	feed(hb, obj_ev(EV_LOCK_ACQUIRED, PB, OBJ_MUTEX, m, 0));
	assert_false(hb__ordered_before(hb, a, 300));
	feed(hb, snd);
	feed(hb, rcv);
	assert_true(hb__ordered_before(hb, a, 300));
	hb__free(hb);
}

/* An exec is a new process incarnation; its threads keep their clocks. */
static void test_exec_starts_new_incarnation(void **state)
{
	struct hb *hb = hb__new();
	struct hb_epoch before, after;
	__u32 proc;

	(void)state;
	assert_non_null(hb);
	hello(hb, PA, PA);
	before = hb__epoch(hb, PA);
	proc = hb__thread_process(hb, before.thread);
	feed(hb, ev(EV_EXEC, PA, PA));
	after = hb__epoch(hb, PA);
	assert_int_equal(before.thread, after.thread);
	assert_true(hb__ordered_before(hb, before, PA));
	assert_int_not_equal(proc, hb__thread_process(hb, after.thread));
	hb__free(hb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vclock_missing_components_read_zero),
		cmocka_unit_test(test_vclock_join_takes_componentwise_max),
		cmocka_unit_test(test_vclock_compare_orders_and_detects_concurrency),
		cmocka_unit_test(test_vclock_copy_and_tick),
		cmocka_unit_test(test_vclock_ids_are_distinct),
		cmocka_unit_test(test_mutex_unlock_orders_later_lock),
		cmocka_unit_test(test_robust_mutex_eownerdead_still_acquires),
		cmocka_unit_test(test_spinlock_unlock_orders_later_lock),
		cmocka_unit_test(test_posix_sem_post_orders_later_wait),
		cmocka_unit_test(test_sysv_sem_op_orders_later_wait),
		cmocka_unit_test(test_file_locks_unlock_orders_later_lock),
		cmocka_unit_test(test_rwlock_write_unlock_orders_reader),
		cmocka_unit_test(test_rwlock_readers_do_not_order_each_other),
		cmocka_unit_test(test_rwlock_unlock_side_follows_latest_hold),
		cmocka_unit_test(test_pipe_write_orders_read_with_data),
		cmocka_unit_test(test_socket_send_orders_recv_with_data),
		cmocka_unit_test(test_mq_send_orders_receive),
		cmocka_unit_test(test_sysv_msg_send_orders_receive),
		cmocka_unit_test(test_eventfd_write_orders_read),
		cmocka_unit_test(test_unresolved_channel_orders_nothing),
		cmocka_unit_test(test_futex_wake_orders_wait_returning_zero),
		cmocka_unit_test(test_futex_and_lock_on_one_word_stay_apart),
		cmocka_unit_test(test_fork_orders_parent_before_child),
		cmocka_unit_test(test_thread_spawn_orders_creator_before_thread),
		cmocka_unit_test(test_reap_orders_child_exit_before_waiter),
		cmocka_unit_test(test_pthread_join_orders_thread_before_joiner),
		cmocka_unit_test(test_unannounced_thread_starts_with_empty_clock),
		cmocka_unit_test(test_reused_tid_is_a_new_thread),
		cmocka_unit_test(test_edges_compose_transitively),
		cmocka_unit_test(test_exec_starts_new_incarnation),
		cmocka_unit_test(test_lock_pairs_of_one_thread_order_the_last_release),
		cmocka_unit_test(test_lock_reacquired_after_another_release_joins),
		cmocka_unit_test(test_lock_taken_as_rwlock_after_mutex_pairs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
