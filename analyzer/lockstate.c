// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Held locks per thread and lock-order edges (lockstate.h); the misuse
 * findings are lockmisuse.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "identity.h"
#include "lock_defer.h"
#include "lockstate_internal.h"

struct lockstate *lockstate__new(struct lockgraph *g)
{
	struct lockstate *ls;

	ls = calloc(1, sizeof(*ls));
	if (!ls)
		goto err;
	ls->graph = g;
	ls->thread_index = keymap__new();
	if (!ls->thread_index)
		goto err_free;
	ls->owners = keymap__new();
	if (!ls->owners)
		goto err_free;
	ls->known_since = keymap__new();
	if (!ls->known_since)
		goto err_free;
	ls->signalling = keymap__new();
	if (!ls->signalling)
		goto err_free;
	return ls;

err_free:
	lockstate__free(ls);
err:
	errno = ENOMEM;
	return NULL;
}

void lockstate__free(struct lockstate *ls)
{
	size_t i;

	if (!ls)
		return;
	for (i = 0; i < ls->nr_threads; i++) {
		free(ls->threads[i].held);
		keymap__free(ls->threads[i].tried);
	}
	free(ls->threads);
	keymap__free(ls->thread_index);
	keymap__free(ls->owners);
	keymap__free(ls->known_since);
	keymap__free(ls->gap_pids);
	free(ls->open_gaps);
	keymap__free(ls->signalling);
	free(ls->deferred);
	free(ls->scratch);
	free(ls);
}

/* --- what an object is ------------------------------------------------------- */

/* A bit per object kind, tested on every lock event. */
#define LOCK_OBJS ((1u << OBJ_MUTEX) | (1u << OBJ_RWLOCK) | (1u << OBJ_SPIN) | (1u << OBJ_SEM) | \
		   (1u << OBJ_SYSV_SEM) | (1u << OBJ_FLOCK) | (1u << OBJ_FCNTL_LOCK))
_Static_assert(OBJ_KIND_MAX <= 32, "object kinds are bits of a word");

static bool obj_is_lock(__u16 obj)
{
	return obj < 32 && (LOCK_OBJS >> obj & 1);
}

/* The locks with an owner thread: misuse of these is a bug. */
static bool obj_is_owned_lock(__u16 obj)
{
	return obj == OBJ_MUTEX || obj == OBJ_RWLOCK || obj == OBJ_SPIN;
}

static bool obj_is_sem(__u16 obj)
{
	return obj == OBJ_SEM || obj == OBJ_SYSV_SEM;
}

/* The lock was taken: 0, or EOWNERDEAD from a robust mutex whose owner died. */
static bool acquire_succeeded(const struct ipcrace_event *e)
{
	return e->result == 0 || (e->obj == OBJ_MUTEX && e->result == EOWNERDEAD);
}

/* Taking it again while holding it counts one more level. */
static bool acquire_nests(const struct ipcrace_event *e)
{
	switch (e->obj) {
	case OBJ_MUTEX:
		return mutex_is_recursive(e->arg0);
	case OBJ_RWLOCK:
		return e->flags & EVF_READ;
	case OBJ_SEM:
	case OBJ_SYSV_SEM:
		return true;
	default:
		return false;	/* spin, file locks: one unlock frees them */
	}
}

/* Only one thread can hold it: a second holder means we missed a release. */
static bool acquire_exclusive(const struct ipcrace_event *e)
{
	return e->obj == OBJ_MUTEX || e->obj == OBJ_SPIN ||
	       (e->obj == OBJ_RWLOCK && !(e->flags & EVF_READ));
}

/* An owner asking again for a lock it holds blocks forever or fails. */
static bool attempt_self_deadlocks(const struct ipcrace_event *e, const struct held_lock *h)
{
	switch (e->obj) {
	case OBJ_MUTEX:
		return !mutex_is_recursive(e->arg0);
	case OBJ_SPIN:
		return true;
	case OBJ_RWLOCK:
		/* read after read nests; anything involving the write side does not */
		return !(e->flags & EVF_READ) || !(h->flags & EVF_READ);
	default:
		return false;
	}
}

/* --- threads ----------------------------------------------------------------- */

static struct ipcrace_key thread_key(__u32 tid)
{
	struct ipcrace_key k = { .a = tid, .space = KEY_NONE };

	return k;
}

__attribute__((noinline)) static struct lock_thread *thread_lookup(const struct lockstate *ls,
								   __u32 tid)
{
	struct ipcrace_key k = thread_key(tid);
	__u64 idx;

	return keymap__get(ls->thread_index, &k, &idx) ? &ls->threads[idx] : NULL;
}

static inline struct lock_thread *thread_find(const struct lockstate *ls, __u32 tid)
{
	/* the last thread first: a race check, a release's misuse check follow its event */
	if (ls->last_valid && ls->last_tid == tid)
		return &ls->threads[ls->last_idx];
	return thread_lookup(ls, tid);
}

/* A thread first seen at e. NULL on -ENOMEM. */
static struct lock_thread *thread_add(struct lockstate *ls, const struct ipcrace_event *e)
{
	struct ipcrace_key k = thread_key(e->tid);
	struct lock_thread *t;
	size_t cap;

	if (ls->nr_threads == ls->cap_threads) {
		cap = ls->cap_threads ? ls->cap_threads * 2 : 16;
		t = realloc(ls->threads, cap * sizeof(*t));
		if (!t)
			return NULL;
		ls->threads = t;
		ls->cap_threads = cap;
	}
	if (keymap__set(ls->thread_index, &k, ls->nr_threads))
		return NULL;
	t = &ls->threads[ls->nr_threads++];
	memset(t, 0, sizeof(*t));
	t->tid = e->tid;
	/* first seen after a loss, or a gap of its process: what it took before is unknown */
	t->gates_unknown = ls->losses != 0 || (ls->gaps && lock_thread_after_gap(ls, e->pid));
	return t;
}

/* thread_get for another thread than the last one. */
__attribute__((noinline)) static struct lock_thread *thread_switch(struct lockstate *ls,
								   const struct ipcrace_event *e)
{
	struct lock_thread *t = thread_find(ls, e->tid);

	if (!t)
		t = thread_add(ls, e);
	if (!t)
		return NULL;
	ls->last_valid = true;
	ls->last_tid = e->tid;
	ls->last_idx = t - ls->threads;
	return t;
}

/* The thread of e, created on its first event. NULL on -ENOMEM. */
static inline struct lock_thread *thread_get(struct lockstate *ls, const struct ipcrace_event *e)
{
	struct lock_thread *t;

	/* threads are never removed: an index stays that thread's */
	if (ls->last_valid && ls->last_tid == e->tid)
		t = &ls->threads[ls->last_idx];
	else if (!(t = thread_switch(ls, e)))
		return NULL;
	/* a tid is unique while alive; pid and comm may change (exec) */
	t->pid = e->pid;
	memcpy(t->comm, e->comm, sizeof(t->comm));
	return t;
}

static inline struct held_lock *held_find(const struct lock_thread *t,
					  const struct ipcrace_key *k)
{
	size_t i;

	for (i = 0; i < t->nr_held; i++)
		if (ipcrace_key__equal(&t->held[i].obj.key, k))
			return &t->held[i];
	return NULL;
}

__attribute__((noinline)) static __u64 *owner_lookup(struct lockstate *ls,
						     const struct ipcrace_key *k)
{
	ls->last_owner = keymap__ref(ls->owners, k);
	ls->last_owner_key = *k;
	return ls->last_owner;
}

/* The owner of lock k in place, NULL when it never had one. */
static inline __u64 *owner_ref(struct lockstate *ls, const struct ipcrace_key *k)
{
	if (ls->last_owner && ipcrace_key__equal(&ls->last_owner_key, k))
		return ls->last_owner;
	return owner_lookup(ls, k);
}


/* Lock k has an owner now: tid + 1. 0 or -ENOMEM. */
static int owner_set(struct lockstate *ls, const struct ipcrace_key *k, __u32 tid)
{
	__u64 *owner = owner_ref(ls, k);

	if (owner) {
		*owner = (__u64)tid + 1;
		return 0;
	}
	/* an insert may move every slot */
	ls->last_owner = NULL;
	return keymap__set(ls->owners, k, (__u64)tid + 1);
}

static void owner_clear(struct lockstate *ls, const struct ipcrace_key *k, __u32 tid)
{
	__u64 *owner = owner_ref(ls, k);

	if (owner && *owner == (__u64)tid + 1)
		*owner = 0;
}

static inline void held_remove(struct lockstate *ls, struct lock_thread *t, struct held_lock *h)
{
	size_t i = h - t->held;

	owner_clear(ls, &h->obj.key, t->tid);
	/* most often the last one taken: nothing to move */
	if (i + 1 < t->nr_held)
		memmove(&t->held[i], &t->held[i + 1], (t->nr_held - i - 1) * sizeof(*h));
	t->nr_held--;
}

static void thread_drop_locks(struct lockstate *ls, struct lock_thread *t)
{
	while (t->nr_held)
		held_remove(ls, t, &t->held[t->nr_held - 1]);
	t->pending = false;
}

/* The holds of lock key other threads may have left in events lost. */
static void held_drop_maybe_released(struct lockstate *ls, const struct lock_thread *t,
				     const struct ipcrace_key *key)
{
	struct held_lock *h;
	size_t i;

	for (i = 0; i < ls->nr_threads; i++) {
		if (&ls->threads[i] == t)
			continue;
		h = held_find(&ls->threads[i], key);
		if (h && h->maybe_released)
			held_remove(ls, &ls->threads[i], h);
	}
}

size_t lockstate__held(const struct lockstate *ls, __u32 tid, struct finding_object *out,
		       size_t max)
{
	const struct lock_thread *t = thread_find(ls, tid);
	size_t i;

	size_t n = 0;

	if (!t)
		return 0;
	for (i = 0; i < t->nr_held; i++) {
		if (t->held[i].maybe_released)
			continue;
		if (n < max)
			out[n] = t->held[i].obj;
		n++;
	}
	return n;
}


/* --- events ------------------------------------------------------------------ */

/* Edges held -> requested for a blocking attempt, with every held lock a gate candidate. */
static int attempt_add_edges(struct lockstate *ls, const struct lock_thread *t,
			     const struct ipcrace_event *e, const struct ipcrace_key *key)
{
	struct finding_edge edge;
	size_t i;
	int err;

	if (!t->nr_held)
		return 0;
	if (t->nr_held > ls->cap_scratch) {
		struct ipcrace_key *s = realloc(ls->scratch, t->nr_held * sizeof(*s));

		if (!s)
			return -ENOMEM;
		ls->scratch = s;
		ls->cap_scratch = t->nr_held;
	}
	for (i = 0; i < t->nr_held; i++)
		ls->scratch[i] = t->held[i].obj.key;

	memset(&edge, 0, sizeof(edge));
	edge.lock = lockstate__object_of(e, key);
	lock_thread__fill_access(t, e, e->stack_id, &edge.who);
	for (i = 0; i < t->nr_held; i++) {
		/* maybe released: a gate candidate above, but no edge it may not have */
		if (t->held[i].maybe_released)
			continue;
		edge.held = t->held[i].obj;
		edge.held_stack_id = t->held[i].stack_id;
		err = lockgraph__add_edge(ls->graph, &edge, ls->scratch, t->nr_held,
					  !t->gates_unknown);
		if (err)
			return err;
	}
	return 0;
}

static int on_attempt(struct lockstate *ls, struct lock_thread *t,
		      const struct ipcrace_event *e, const struct ipcrace_key *key,
		      struct findings *out)
{
	struct held_lock *h;
	struct finding_object lock;

	if (t->call_open) {
		int err;

		if (!t->tried && !(t->tried = keymap__new()))
			return -ENOMEM;
		err = keymap__set(t->tried, key, 1);
		if (err)
			return err;
	}
	t->pending = true;
	t->pending_key = *key;
	h = held_find(t, key);
	/*
	 * A try never blocks: the owner trying its own lock gets EBUSY (or,
	 * recursive, one more level, counted at the acquisition), never a
	 * self-deadlock, so it is no double lock.
	 */
	if (h && (e->flags & EVF_TRY))
		return 0;
	/* asking again for a lock maybe released in events lost: it was */
	if (h && !h->maybe_released) {
		/* no edge to itself; recursion is fine, self-deadlock is reported */
		if (!attempt_self_deadlocks(e, h))
			return 0;
		lock = lockstate__object_of(e, key);
		return lockmisuse__report(out, FINDING_DOUBLE_LOCK, t, e, &lock, e->stack_id, t, h);
	}
	/* a try never blocks: the trylock back-off pattern must stay clean */
	if ((e->flags & EVF_TRY) || !t->nr_held)
		return 0;
	return attempt_add_edges(ls, t, e, key);
}

/*
 * t takes exclusive lock key: forgets a stale holder other than t (its
 * release was not seen), and t owns it.
 */
static int owner_take(struct lockstate *ls, const struct lock_thread *t,
		      const struct ipcrace_key *key)
{
	__u64 *owner = owner_ref(ls, key);
	struct lock_thread *prev;
	struct held_lock *h;

	if (owner && *owner && *owner != (__u64)t->tid + 1) {
		prev = thread_find(ls, *owner - 1);
		h = prev ? held_find(prev, key) : NULL;
		/* clears *owner, in place: the slot stays where it is */
		if (h)
			held_remove(ls, prev, h);
	}
	if (owner) {
		*owner = (__u64)t->tid + 1;
		return 0;
	}
	return owner_set(ls, key, t->tid);
}

/* An exclusive acquisition: t owns the lock, and its state is known from here. */
static int exclusive_take(struct lockstate *ls, struct lock_thread *t,
			  const struct ipcrace_event *e, const struct ipcrace_key *key)
{
	int err;

	/* readers that left in events lost are gone (no owner for them) */
	if ((ls->losses || ls->gaps) && e->obj == OBJ_RWLOCK)
		held_drop_maybe_released(ls, t, key);
	err = owner_take(ls, t, key);
	return err ? err : lock_known_take(ls, t, key);
}

static int on_acquired(struct lockstate *ls, struct lock_thread *t,
		       const struct ipcrace_event *e, const struct ipcrace_key *key)
{
	struct held_lock *h;
	bool answered;
	int err;

	/* without an attempt (pthread_cond_wait) it is still an acquisition */
	answered = t->pending && ipcrace_key__equal(&t->pending_key, key);
	t->pending = false;
	if (!acquire_succeeded(e))
		return 0;
	h = held_find(t, key);
	if (h && h->maybe_released) {
		/* its release was lost: this is a fresh acquisition */
		held_remove(ls, t, h);
		h = NULL;
	}
	if (h) {
		if (answered && acquire_nests(e))
			h->depth++;
		return 0;
	}
	if (acquire_exclusive(e)) {
		err = exclusive_take(ls, t, e, key);
		if (err)
			return err;
	}
	if (t->nr_held == t->cap_held) {
		size_t cap = t->cap_held ? t->cap_held * 2 : 8;

		h = realloc(t->held, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		t->held = h;
		t->cap_held = cap;
	}
	/* field by field: a memset of the whole hold cost more than the rest */
	h = &t->held[t->nr_held++];
	h->obj = lockstate__object_of(e, key);
	h->stack_id = e->stack_id;
	h->ts = e->ts;
	h->depth = 1;
	h->flags = e->flags & (EVF_READ | EVF_WRITE);
	/* deferred across a loss (lock_defer.h): its release may be among the lost */
	h->maybe_released = e->flags & EVF_DEFERRED_SPANS_LOSS;
	return 0;
}

static int on_release(struct lockstate *ls, struct lock_thread *t,
		      const struct ipcrace_event *e, const struct ipcrace_key *key,
		      struct findings *out)
{
	struct lock_thread *holder = NULL;
	struct held_lock *h, *hh = NULL;
	struct finding_object lock;
	__u64 owner;
	bool open;

	h = held_find(t, key);
	if (h) {
		/* maybe released already: nobody knows its depth, it is free now */
		if (h->maybe_released || --h->depth == 0)
			held_remove(ls, t, h);
		if (!t->nr_held)
			t->gates_unknown = false;
		return 0;
	}
	/* a post by a thread not holding it: the semaphore signals, it is no lock */
	if (obj_is_sem(e->obj)) {
		int err = keymap__set(ls->signalling, key, 1);

		return err ? err : lockgraph__mark_signalling(ls->graph, key);
	}
	/* glibc's pthread_spin_unlock is pthread_spin_init: maybe no release at all */
	if (!obj_is_owned_lock(e->obj) || (e->flags & EVF_MAYBE_INIT))
		return 0;
	/*
	 * The first stray release of a thread that was blocked in a lock call
	 * when the recording began: maybe of the lock that call returned with
	 * (the last one it took, so the first it releases).
	 */
	open = open_call_took(t, key);
	open_call_close(t);
	/* its acquisition may be one of the events lost */
	if (lock_hold_maybe_lost(ls, t, e, key) || open)
		return 0;
	if (keymap__get(ls->owners, key, &owner) && owner) {
		holder = thread_find(ls, owner - 1);
		hh = holder ? held_find(holder, key) : NULL;
	}
	lock = lockstate__object_of(e, key);
	return lockmisuse__report(out, FINDING_UNLOCK_NOT_HELD, t, e, &lock, e->stack_id,
				  holder, hh);
}

static int on_thread_exit(struct lockstate *ls, const struct ipcrace_event *e,
			  struct findings *out)
{
	struct lock_thread *t = thread_find(ls, e->tid);
	bool group_dead = e->flags & EVF_GROUP_DEAD;
	size_t i;
	int err;

	if (t) {
		for (i = 0; i < t->nr_held; i++) {
			const struct held_lock *h = &t->held[i];

			if (!obj_is_owned_lock(h->obj.obj) || h->maybe_released)
				continue;
			/* private memory dies with the process: nobody can wait on it */
			if (group_dead && h->obj.key.space == KEY_PRIVATE)
				continue;
			if (h->obj.key.space == KEY_PRIVATE)
				err = lockmisuse__exit_held_private(ls, t, e, h, out);
			else	/* shared memory, a file: other processes can wait */
				err = lockmisuse__report(out, FINDING_LOCK_HELD_AT_EXIT, t, e, &h->obj,
							 h->stack_id, NULL, NULL);
			if (err)
				return err;
		}
		t->exited = true;
		/* the holder is gone: a robust mutex can be taken with EOWNERDEAD */
		thread_drop_locks(ls, t);
	}
	if (group_dead) {
		/* exits we missed: the process is gone, and its file locks with it */
		for (i = 0; i < ls->nr_threads; i++) {
			if (ls->threads[i].pid != e->pid)
				continue;
			thread_drop_locks(ls, &ls->threads[i]);
			ls->threads[i].exited = true;
		}
	}
	return 0;
}

/*
 * A thread seen being created holds nothing, even after a loss. (A fork
 * child's copies of the parent's held locks are not its own holds.)
 */
static int on_spawn(struct lockstate *ls, const struct ipcrace_event *e)
{
	struct ipcrace_event child = *e;
	struct lock_thread *t;

	child.pid = e->arg0;
	child.tid = e->arg1;
	t = thread_find(ls, child.tid);
	if (t && t->nr_held)
		return 0;	/* a reused tid still holding: leave it to its exit */
	t = thread_get(ls, &child);
	if (!t)
		return -ENOMEM;
	t->gates_unknown = false;
	t->history_known = true;
	open_call_close(t);
	t->exited = false;
	return 0;
}

/* exec: a new program, which has taken no lock yet */
static int on_exec(struct lockstate *ls, const struct ipcrace_event *e)
{
	struct lock_thread *t = thread_get(ls, e);

	if (!t)
		return -ENOMEM;
	t->history_known = true;
	open_call_close(t);
	return 0;
}

/* The events of threads and processes (lockstate__on_event does the lock calls). */
static int on_lifecycle(struct lockstate *ls, const struct ipcrace_event *e,
			struct findings *out)
{
	switch (e->type) {
	case EV_EXIT:
		return on_thread_exit(ls, e, out);
	case EV_FORK:
	case EV_THREAD_SPAWN:
		return on_spawn(ls, e);
	case EV_EXEC:
		return on_exec(ls, e);
	default:
		/*
		 * EV_LOCK_DESTROY: destroying a held lock is a bug without a
		 * finding kind yet; the others are for the other detectors.
		 */
		return 0;
	}
}

int lockstate__on_event(struct lockstate *ls, const struct ipcrace_event *e,
			const struct ipcrace_key *key, struct findings *out)
{
	struct lock_thread *t;
	int err;

	if (ls->nr_deferred) {
		err = lockmisuse__on_event(ls, e, out);
		if (err)
			return err;
	}
	if (e->type < EV_LOCK_ATTEMPT || e->type > EV_LOCK_RELEASE)
		return on_lifecycle(ls, e, out);
	if (key->space == KEY_NONE || !obj_is_lock(e->obj))
		return 0;
	/* its process's gap is open: some of its lock calls are not in the stream */
	if (ls->nr_open_gaps && lock_gap_open(ls, e->pid))
		return 0;
	t = thread_get(ls, e);
	if (!t)
		return -ENOMEM;
	if (!t->history_judged)
		judge_history(ls, t);
	switch (e->type) {
	case EV_LOCK_ATTEMPT:
		return on_attempt(ls, t, e, key, out);
	case EV_LOCK_ACQUIRED:
		return on_acquired(ls, t, e, key);
	default:
		return on_release(ls, t, e, key, out);
	}
}

int lockstate__on_acquired_release(struct lockstate *ls, const struct ipcrace_event *acq,
				   const struct ipcrace_event *rel, const struct ipcrace_key *key,
				   struct findings *out)
{
	struct lock_thread *t = thread_find(ls, rel->tid);
	int err;

	/*
	 * The usual way when the thread holds the lock already (a recursive
	 * mutex, a semaphore taken twice), is new, or it is no lock.
	 */
	if (!t || key->space == KEY_NONE || !obj_is_lock(acq->obj) || held_find(t, key) ||
	    (ls->nr_open_gaps && lock_gap_open(ls, rel->pid))) {
		err = lockstate__on_event(ls, acq, key, out);
		return err ? err : lockstate__on_event(ls, rel, key, out);
	}
	if (ls->nr_deferred) {
		err = lockmisuse__on_event(ls, acq, out);
		if (!err)
			err = lockmisuse__on_event(ls, rel, out);
		if (err)
			return err;
	}
	/* as the release's thread_get leaves it */
	t = thread_get(ls, rel);
	if (!t)
		return -ENOMEM;
	if (!t->history_judged)
		judge_history(ls, t);
	/* on_acquired, but for the hold its release removes at once */
	t->pending = false;
	if (acquire_exclusive(acq)) {
		err = exclusive_take(ls, t, acq, key);
		if (err)
			return err;
	}
	/* on_release: held_remove of that hold */
	owner_clear(ls, key, t->tid);
	if (!t->nr_held)
		t->gates_unknown = false;
	return 0;
}

/*
 * The same lock twice in one thread's list: the same identity, or the same
 * address in the same process (one object, whatever two events resolved
 * its identity to).
 */
static bool held_same_lock(const struct finding_object *a, const struct finding_object *b)
{
	return ipcrace_key__equal(&a->key, &b->key) ||
	       (a->addr && a->addr == b->addr && a->pid == b->pid);
}

/* Drops signalling semaphores and repeats from a "locks held" list. */
static void held_list_clean(const struct lockstate *ls, struct finding_object *v, __u32 *nr)
{
	size_t i, j, n = 0, max = *nr < FINDING_MAX_LOCKS ? *nr : FINDING_MAX_LOCKS;
	__u64 val;

	for (i = 0; i < max; i++) {
		if (obj_is_sem(v[i].obj) && keymap__get(ls->signalling, &v[i].key, &val))
			continue;
		for (j = 0; j < n; j++)
			if (held_same_lock(&v[j], &v[i]))
				break;
		if (j < n)
			continue;
		v[n++] = v[i];
	}
	*nr = n;
}

int lockstate__finish(struct lockstate *ls, struct findings *out)
{
	size_t i, k;
	int err;

	err = lockmisuse__finish(ls, out);
	if (err)
		return err;
	for (i = 0; i < out->nr; i++) {
		struct finding *f = &out->items[i];

		for (k = 0; k < f->nr_accesses && k < 2; k++)
			held_list_clean(ls, f->accesses[k].locks_held, &f->accesses[k].nr_locks);
		for (k = 0; k < f->nr_cycle; k++)
			held_list_clean(ls, f->cycle[k].who.locks_held, &f->cycle[k].who.nr_locks);
	}
	return 0;
}

bool lockstate__release_unheld(const struct lockstate *ls, __u32 tid,
			       const struct ipcrace_key *key)
{
	const struct lock_thread *t;

	if (ls->losses || ls->start_unknown || ls->gaps)
		return false;
	t = thread_find(ls, tid);
	return !t || !held_find(t, key);
}

size_t lockstate__nr_threads(const struct lockstate *ls)
{
	return ls->nr_threads;
}

size_t lockstate__nr_held(const struct lockstate *ls)
{
	size_t i, n = 0;

	for (i = 0; i < ls->nr_threads; i++)
		n += ls->threads[i].nr_held;
	return n;
}
