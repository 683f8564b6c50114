/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lockstate's state, shared by its three files: lockstate.c replays who
 * holds what and adds lock-order edges; lockmisuse.c makes the misuse
 * findings (double lock, unlock not held, held at exit) and settles the
 * exits whose finding depends on what the process does next;
 * lockstate_history.c keeps what losses and attach mode leave unknown.
 * Nothing outside these three files includes it.
 */
#ifndef IPCRACE_LOCKSTATE_INTERNAL_H
#define IPCRACE_LOCKSTATE_INTERNAL_H

#include "lockstate.h"

struct held_lock {
	struct finding_object obj;	/* as the acquiring thread saw it */
	__u64 stack_id;			/* where it was acquired */
	__u64 ts;
	__u32 depth;			/* recursive mutex, rwlock read, semaphore */
	__u32 flags;			/* EVF_READ / EVF_WRITE */
	/*
	 * Held when events were lost: its release may be one of them. Still a
	 * gate candidate (it may be held), but no edge source, no double lock,
	 * not held at exit, not shown as held (it may not be).
	 */
	bool maybe_released;
};

struct lock_thread {
	__u32 tid;
	__u32 pid;
	char comm[IPCRACE_COMM_LEN];
	struct held_lock *held;		/* in acquisition order */
	size_t nr_held;
	size_t cap_held;
	/*
	 * Events were lost since this thread last held nothing: it may hold
	 * locks whose acquisition is among them, so the edges it adds know
	 * no gates. Cleared when a release leaves it holding nothing known.
	 */
	bool gates_unknown;
	/* the attempt its next EV_LOCK_ACQUIRED answers, if any */
	bool pending;
	struct ipcrace_key pending_key;
	/*
	 * Seen being born (fork, thread spawn) or exec'ing: whatever it holds,
	 * the trace saw it take. A thread first seen otherwise existed before
	 * the recording (attach mode) and may hold locks taken before it.
	 */
	bool history_known;
	bool history_judged;		/* its first lock event checked that */
	/*
	 * History unknown: it may have been inside a lock call (blocked in
	 * pthread_mutex_lock, pthread_cond_wait, ...) when its probes came,
	 * whose return takes a lock the trace never sees taken. One such
	 * acquisition at most, of a lock it has not tried since (tried: lock
	 * key -> 1, while call_open): the first release of a lock it does not
	 * hold uses it up.
	 */
	bool call_open;
	struct keymap *tried;
	bool exited;
};

/*
 * A private lock still held when its thread exited while the rest of the
 * process went on: a finding only if another thread of the process runs
 * after it (it could wait on the lock), not when the process is exiting
 * as a whole (exit_group kills the other threads one by one).
 */
struct deferred_exit {
	struct finding f;
	__u32 pid;
	__u32 tid;
};

struct lockstate {
	struct lockgraph *graph;
	struct lock_thread *threads;
	size_t nr_threads;
	size_t cap_threads;
	struct keymap *thread_index;	/* synthetic key (tid) -> thread index */
	/* the last thread_get: consecutive events mostly share a thread */
	bool last_valid;
	__u32 last_tid;
	size_t last_idx;
	struct keymap *owners;		/* exclusive lock key -> owner tid + 1, 0: none */
	/*
	 * The last owner looked up, in place: one lock is taken and released
	 * over and over. Only owner_ref's inserts move the map's slots.
	 */
	struct ipcrace_key last_owner_key;
	__u64 *last_owner;
	/*
	 * Losses so far (lockstate__forget). known_since: exclusive lock key
	 * -> KNOWN(epoch at its first exclusive acquisition after the last
	 * loss, that acquirer's tid + 1, or 0 once another thread took it).
	 */
	__u32 losses;
	/*
	 * A process's sampling gap was seen (lockstate__forget_process):
	 * releases are judged against known_since as after a loss.
	 * gap_pids: the processes that had one (pid -> 1), NULL before.
	 */
	bool gaps;
	struct keymap *gap_pids;
	/* processes whose gap is open now: their lock events are not replayed */
	__u32 *open_gaps;
	size_t nr_open_gaps, cap_open_gaps;
	/*
	 * known_since's clock: losses, and the first lock event of every
	 * process with history before the trace (attach mode probes one
	 * process after another, so each one's recording starts at its own
	 * instant: a lock known since before it may be one it holds).
	 */
	__u32 epoch;
	struct keymap *known_since;
	/*
	 * A thread with history before the trace was seen (attach mode): for
	 * releases, the start of the trace is a loss (judge_history).
	 */
	bool start_unknown;
	struct keymap *signalling;	/* semaphores posted by non-holders: signals */
	struct deferred_exit *deferred;
	size_t nr_deferred;
	size_t cap_deferred;
	struct ipcrace_key *scratch;	/* gate keys of one attempt */
	size_t cap_scratch;
};

#define KNOWN(losses, tid1)	((__u64)(losses) << 32 | (tid1))
#define KNOWN_LOSSES(v)		((__u32)((v) >> 32))
#define KNOWN_TID1(v)		((__u32)(v))

static inline struct finding_object lockstate__object_of(const struct ipcrace_event *e,
						       const struct ipcrace_key *key)
{
	struct finding_object o = {
		.key = *key,
		.addr = e->addr,
		.pid = e->pid,
		.obj = e->obj,
	};

	return o;
}

static inline bool mutex_is_recursive(__u64 kind)
{
	return (kind & MUTEX_KIND_TYPE_MASK) == MUTEX_KIND_RECURSIVE;
}

/* lockstate_history.c: losses, threads from before the trace, known locks */
int lock_known_take(struct lockstate *ls, const struct lock_thread *t,
		    const struct ipcrace_key *key);
bool lock_hold_maybe_lost(const struct lockstate *ls, const struct lock_thread *t,
			  const struct ipcrace_event *e, const struct ipcrace_key *key);
bool open_call_took(const struct lock_thread *t, const struct ipcrace_key *key);
void open_call_close(struct lock_thread *t);
void judge_history(struct lockstate *ls, struct lock_thread *t);
/* Has process pid had a sampling gap (its threads may hold locks unseen)? */
bool lock_thread_after_gap(const struct lockstate *ls, __u32 pid);
/* Is process pid between the begin and the end of a gap? */
bool lock_gap_open(const struct lockstate *ls, __u32 pid);

/* An access of thread t at event e: where, who, and the locks it holds known. */
void lock_thread__fill_access(const struct lock_thread *t, const struct ipcrace_event *e,
			      __u64 stack_id, struct finding_access *a);

/*
 * Reports misuse by thread t at event e, once per (kind, lock, stack).
 * accesses[1], when holder and h are set, is where the lock was acquired.
 */
int lockmisuse__report(struct findings *out, enum finding_kind kind,
		       const struct lock_thread *t, const struct ipcrace_event *e,
		       const struct finding_object *lock, __u64 stack_id,
		       const struct lock_thread *holder, const struct held_lock *h);

/* Thread t exits holding private lock h: a finding now, or deferred. */
int lockmisuse__exit_held_private(struct lockstate *ls, const struct lock_thread *t,
				  const struct ipcrace_event *e, const struct held_lock *h,
				  struct findings *out);

/* Settles the deferred exits event e decides (any event, ls->nr_deferred set). */
int lockmisuse__on_event(struct lockstate *ls, const struct ipcrace_event *e,
			 struct findings *out);

/* The trace's end: the deferred exits of processes still alive are findings. */
int lockmisuse__finish(struct lockstate *ls, struct findings *out);

#endif /* IPCRACE_LOCKSTATE_INTERNAL_H */
