/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The happens-before order of a trace (DESIGN.md, "Happens-before"): one
 * vector clock per thread of every traced process, one per sync object,
 * built from the events in stream order. Release-type events join the
 * thread's clock into the object's and then tick the thread (FastTrack), so
 * what the thread does after the release is not ordered before the
 * acquirer; acquire-type events that succeeded join the object's clock into
 * the thread's.
 *
 * Edges: fork / thread spawn → the child's events; exit → wait that reaped
 * the process, pthread_join; unlock → lock (mutex, spin, rwlock with readers
 * unordered among themselves, semaphores, file locks); send → receive that
 * returned data (pipes, FIFOs, sockets, mq, SysV msg, eventfd); futex wake →
 * wait that returned 0; every arrival at a barrier round → every departure
 * from it; pthread_once's initializer → every return; __cxa_guard_release →
 * a later __cxa_guard_acquire that found it done; connect → the accept that
 * took the connection (hb_sync.c).
 *
 * Threads are vector-clock indices, not tids: a tid reused after an exit is
 * a new thread. Cost per event: O(number of threads) at most.
 */
#ifndef IPCRACE_HB_H
#define IPCRACE_HB_H

#include <linux/types.h>
#include <stdbool.h>
#include "../bpf/events.h"

/* No thread: the epoch of an allocation failure, ordered before nothing. */
#define HB_THREAD_NONE ((__u32)-1)

/* "Now" in one thread: its index and its own clock component. */
struct hb_epoch {
	__u32 thread;		/* vector-clock index of a thread incarnation */
	__u32 clock;
};

struct hb;

/* NULL + errno on error. */
struct hb *hb__new(void);
void hb__free(struct hb *hb);

/*
 * Applies the edges event e takes part in, keyed by e->key (the driver
 * passes events whose key it normalized). Every event also makes its thread
 * known. 0 or a negative errno.
 */
int hb__event(struct hb *hb, const struct ipcrace_event *e);

/*
 * Now in the thread tid currently names; a tid never seen starts a thread
 * with an empty clock. { HB_THREAD_NONE, 0 } when memory runs out.
 */
struct hb_epoch hb__epoch(struct hb *hb, __u32 tid);

/* The thread tid currently names, HB_THREAD_NONE when never seen. */
__u32 hb__thread_of(const struct hb *hb, __u32 tid);

/* Is the access at `earlier` ordered before the current point of later_tid? */
bool hb__ordered_before(const struct hb *hb, struct hb_epoch earlier, __u32 later_tid);
/* The same, for a thread index (hb_epoch.thread) instead of a tid. */
bool hb__ordered_before_thread(const struct hb *hb, struct hb_epoch earlier,
			       __u32 later_thread);

/*
 * Is the word (a memory access key, KEY_FILE or KEY_PRIVATE) part of a lock
 * object a lock event named (mutex, rwlock, spinlock, POSIX semaphore,
 * condition variable, barrier, pthread_once_t)?
 * Such words are the lock library's own: the race detector skips them.
 */
bool hb__sync_word(const struct hb *hb, const struct ipcrace_key *word);

/*
 * Atomic variables (DESIGN.md, "Hand-made synchronization"). A location
 * (the key of an access's first byte) is atomic once a LOCK-prefixed or
 * XCHG access to it, or a C++ static-initialization guard event, was seen:
 * hb__event does that for the events it is given, and hb__note_atomic lets
 * a driver that holds the whole trace declare them all before the first
 * event, so that a variable is atomic for the whole run (analyze.c reads
 * the trace twice). On an atomic location an atomic RMW acquires and
 * releases, a plain store releases, a plain load acquires (x86-TSO), and
 * the race detector checks none of its accesses. 0 or a negative errno.
 */
int hb__note_atomic(struct hb *hb, const struct ipcrace_event *e);
bool hb__atomic_location(const struct hb *hb, const struct ipcrace_key *k);

/*
 * Is the plain read at epoch `read` part of a copy a seqlock reader throws
 * away, made while the plain write at epoch `write` updated the data: the
 * read right after its thread loaded an atomic variable that another
 * thread wrote before the thread's next atomic access, or whose load had
 * seen the write of an atomic variable that `write` came right after (the
 * sequence was odd)? Such a pair is no race (hb_sync.c says what it misses).
 */
bool hb__read_discarded(const struct hb *hb, struct hb_epoch read, struct hb_epoch write);

/*
 * The process incarnation a thread belongs to: it changes at fork (a pid
 * reused is another process) and at exec (a new address space). Private
 * memory of two incarnations is never the same memory. (__u32)-1 when
 * the thread is unknown.
 */
__u32 hb__thread_process(const struct hb *hb, __u32 thread);

/* Live state, for memory accounting: threads (clocks) and sync objects. */
size_t hb__nr_threads(const struct hb *hb);
size_t hb__nr_objects(const struct hb *hb);

#endif /* IPCRACE_HB_H */
