/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Deferred lock acquisitions. A blocking lock of a mutex kind that cannot
 * fail is recorded without a return probe (one trap less a call): its
 * EV_LOCK_ATTEMPT carries EVF_ACQUIRE_DEFERRED and no EV_LOCK_ACQUIRED
 * follows. The acquisition is known done at the thread's next event: the
 * lock call cannot have returned before it, and the holder's release was
 * emitted (at its unlock's entry) before the lock became free, so in
 * stream order that release precedes the event as it would precede a
 * return probe's EV_LOCK_ACQUIRED. lock_defer turns the stream back into
 * the one with return probes: it makes the EV_LOCK_ACQUIRED (result 0,
 * the attempt's object, stack and time) that the detectors must see just
 * before that next event.
 *
 * Not the next event: what the lock call itself emits while it waits, its
 * futex waits and wakes on the lock's words and accesses to them (a watched
 * or probed mutex word). An exit right after an interrupted futex wait on
 * the lock (the thread was killed while it waited: exit_group, a fatal
 * signal) is no acquisition; any other exit is. At the end of the stream
 * a pending acquisition is dropped, as a return never seen would be.
 *
 * An acquisition pending when events were lost (EVF_AFTER_LOSS) is still
 * made, for the order it gives, but flagged EVF_DEFERRED_SPANS_LOSS: its
 * release may have been lost too, so lockstate keeps it as maybe released.
 *
 * Not known here: a signal handler that runs while the thread waits and
 * emits an event of its own completes the acquisition too early (more
 * order than there was, never less: the wait's release still comes first,
 * a later holder's release is then missed).
 */
#ifndef IPCRACE_LOCK_DEFER_H
#define IPCRACE_LOCK_DEFER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "../bpf/events.h"

/*
 * On an EV_LOCK_ACQUIRED made here only (never in a trace): the attempt
 * was pending across lost events.
 */
#define EVF_DEFERRED_SPANS_LOSS (1u << 31)

/* Bytes from a deferred lock's address its own waits and accesses touch (pthread_mutex_t). */
#define LOCK_DEFER_OBJECT_BYTES 40

struct lock_defer;

struct lock_defer *lock_defer__new(void);
void lock_defer__free(struct lock_defer *ld);

/*
 * Event e (its key normalized) comes next in the stream. Returns true when
 * it completes its thread's deferred acquisition: *acquired is then the
 * EV_LOCK_ACQUIRED to hand to the detectors before e. A deferred attempt
 * e becomes its thread's pending acquisition. Returns false without
 * touching *acquired otherwise. -ENOMEM is returned as false with the
 * attempt left unrecorded (as a lost return); lock_defer__failures counts
 * those.
 */
bool lock_defer__event(struct lock_defer *ld, const struct ipcrace_event *e,
		       struct ipcrace_event *acquired);
/*
 * The same without a copy: the EV_LOCK_ACQUIRED made, valid until the
 * next call of any lock_defer function, or NULL.
 */
const struct ipcrace_event *lock_defer__next(struct lock_defer *ld, const struct ipcrace_event *e);

/*
 * Release e comes next, of a lock its thread does not hold in a trace whose
 * lock history is whole (lockstate__release_unheld). When exactly one other
 * thread has an acquisition of that lock pending, the lock was free for
 * it: that thread holds it now, and true returns *acquired, to hand to the
 * detectors before e (the misuse then names the holder, as with return
 * probes). Two pending: which one has it is unknown, none is made.
 */
bool lock_defer__unheld_release(struct lock_defer *ld, const struct ipcrace_event *e,
				struct ipcrace_event *acquired);

/*
 * An edge of a sampling gap of process pid (EV_LOCK_GAP): its threads'
 * pending acquisitions span it as they would a loss (their release may
 * be unseen): flagged EVF_DEFERRED_SPANS_LOSS when made.
 */
void lock_defer__gap(struct lock_defer *ld, __u32 pid);

/* Deferred acquisitions pending now (threads waiting, or at the end: never completed). */
size_t lock_defer__pending(const struct lock_defer *ld);

/* Attempts that could not be recorded (out of memory). */
size_t lock_defer__failures(const struct lock_defer *ld);

#endif /* IPCRACE_LOCK_DEFER_H */
