/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Who holds which lock, per thread, replayed from the event stream in order:
 * acquisition stacks, recursion depth, exclusive owners. From it come the
 * lock-order edges (fed to a lockgraph) and the misuse findings: double
 * lock, unlock of a lock not held, lock held when its thread exits.
 *
 * Locks are mutexes, rwlocks, spinlocks, file locks, and semaphores while a
 * thread waits and posts them like a lock (DESIGN.md, "Lock order").
 */
#ifndef IPCRACE_LOCKSTATE_H
#define IPCRACE_LOCKSTATE_H

#include <stddef.h>
#include "findings.h"
#include "lockgraph.h"

/* glibc's pthread_mutex_t __kind (EV_LOCK_* arg0 for OBJ_MUTEX) */
#define MUTEX_KIND_TYPE_MASK	0x3u
#define MUTEX_KIND_RECURSIVE	0x1u
#define MUTEX_KIND_ERRORCHECK	0x2u
#define MUTEX_KIND_ROBUST	0x10u
#define MUTEX_KIND_PSHARED	0x80u

struct lockstate;

/* g receives the lock-order edges; it must outlive the lockstate. */
struct lockstate *lockstate__new(struct lockgraph *g);
void lockstate__free(struct lockstate *ls);

/*
 * Replays one event; key is the normalized identity of its object
 * (identity__event_key). Only EV_LOCK_*, EV_EXIT, EV_EXEC, thread and
 * process creation matter, and for deferred exits any event's thread.
 * Misuse findings are appended to out, once per (kind, lock, stack):
 *
 * - lock-held-at-exit: a lock in shared memory (a KEY_FILE identity) held
 *   when its thread exits; a private one only when another thread of the
 *   process was waiting for it or runs after the exit (not when the whole
 *   process exits, nor at its last thread's exit).
 * - unlock-not-held: only for a lock whose whole history the trace saw: not
 *   after events were lost, nor, when the trace began after threads that
 *   may hold locks (attach mode), before an exclusive acquisition of it.
 *
 * 0 or a negative errno.
 */
int lockstate__on_event(struct lockstate *ls, const struct ipcrace_event *e,
			const struct ipcrace_key *key, struct findings *out);

/*
 * An acquisition a deferred attempt made (lock_defer.h), acq, then the
 * event that made it: rel, that thread's release of that lock (same pid,
 * tid, object kind and key). The same as lockstate__on_event of acq and
 * then of rel, without the hold that rel ends at once (most lock pairs).
 */
int lockstate__on_acquired_release(struct lockstate *ls, const struct ipcrace_event *acq,
				   const struct ipcrace_event *rel, const struct ipcrace_key *key,
				   struct findings *out);

/*
 * Events were lost just before the next one (EVF_AFTER_LOSS): what each
 * thread holds is unknown from here on. Drops every thread's held locks
 * (no double lock, no lock held at exit rests on an acquisition from
 * before the loss) and marks every lock uncertain: a release by a thread
 * not holding it is not reported, its acquisition may have been lost,
 * until an exclusive acquisition (one that excludes all other holders)
 * makes its state known again. Lock-order edges already recorded stay:
 * they were observed.
 */
void lockstate__forget(struct lockstate *ls);

/*
 * An edge of a sampling gap of process e->pid (EV_LOCK_GAP, begin or
 * end; or its exit, EV_EXIT with EVF_GROUP_DEAD, which ends an open gap):
 * its lock calls in between are partly unseen, so its lock events in
 * between are not replayed at all (a release seen of a lock taken unseen,
 * a lock taken again after an unseen release, an edge from a hold ended
 * unseen would all be wrong). At each edge, lockstate__forget for pid's
 * threads alone: their holds maybe released, their next edges without
 * gates, a pending attempt dropped, a lock call maybe open (its first
 * release of a lock it does not hold and has not tried since is no
 * finding: that call may have returned with it, unseen); and, for every lock, a release by a
 * thread not holding it is no finding until an exclusive acquisition
 * after this edge (pid's threads may have taken any lock in the gap, and
 * a lock another thread's acquisition made known may have passed to them
 * since). A thread of pid first seen after the edge may hold locks taken
 * in the gap: its first edges know no gates either. Lock-order edges seen
 * outside the gap stay findings. 0 or -ENOMEM.
 */
int lockstate__gap(struct lockstate *ls, const struct ipcrace_event *e);

/*
 * The end of the stream: settles the private locks held at a thread's exit
 * whose process was still running (a finding when another thread of it was
 * alive), then cleans the "locks held" lists of every finding in out (from
 * any detector, lock cycles included): semaphores that turned out to signal
 * (posted by threads not holding them) are no held locks, and each lock is
 * listed once. Call it after every other detector has added its findings.
 * 0 or a negative errno.
 */
int lockstate__finish(struct lockstate *ls, struct findings *out);

/*
 * The locks thread tid holds now, first acquired first, at most max of
 * them copied to out. Returns how many it holds (may exceed max).
 */
size_t lockstate__held(const struct lockstate *ls, __u32 tid, struct finding_object *out,
		       size_t max);

/*
 * Is thread tid's release of lock key that of a lock it does not hold, in
 * a trace whose whole lock history is known (no events lost, no thread
 * from before the trace)? A lock release's misuse, or a wrong guess.
 */
bool lockstate__release_unheld(const struct lockstate *ls, __u32 tid,
			       const struct ipcrace_key *key);

/* Live state, for memory accounting: threads and locks held by them now. */
size_t lockstate__nr_threads(const struct lockstate *ls);
size_t lockstate__nr_held(const struct lockstate *ls);

#endif /* IPCRACE_LOCKSTATE_H */
