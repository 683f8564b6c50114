// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Lock misuse findings (lockstate_internal.h): double lock, unlock of a
 * lock not held, lock held when its thread exits, the last settled by
 * what the rest of its process does afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "identity.h"
#include "lockstate_internal.h"

void lock_thread__fill_access(const struct lock_thread *t, const struct ipcrace_event *e,
			      __u64 stack_id, struct finding_access *a)
{
	size_t i, n = 0;

	memset(a, 0, sizeof(*a));
	a->ts = e->ts;
	a->stack_id = stack_id;
	a->pid = t->pid;
	a->tid = t->tid;
	a->flags = e->flags & (EVF_READ | EVF_WRITE);
	memcpy(a->comm, t->comm, sizeof(a->comm));
	for (i = 0; i < t->nr_held && n < FINDING_MAX_LOCKS; i++)
		if (!t->held[i].maybe_released)
			a->locks_held[n++] = t->held[i].obj;
	a->nr_locks = n;
}

static bool finding_seen(const struct findings *out, enum finding_kind kind,
			 const struct ipcrace_key *key, __u64 stack_id)
{
	size_t i;

	for (i = 0; i < out->nr; i++) {
		const struct finding *f = &out->items[i];

		if (f->kind == kind && f->accesses[0].stack_id == stack_id &&
		    ipcrace_key__equal(&f->object.key, key))
			return true;
	}
	return false;
}

/*
 * The misuse finding of thread t at event e. accesses[1], when holder is
 * set, is where the lock had been acquired.
 */
static void misuse_make(struct finding *f, enum finding_kind kind, const struct lock_thread *t,
			const struct ipcrace_event *e, const struct finding_object *lock,
			__u64 stack_id, const struct lock_thread *holder, const struct held_lock *h)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->object = *lock;
	lock_thread__fill_access(t, e, stack_id, &f->accesses[0]);
	f->nr_accesses = 1;
	if (holder && h) {
		lock_thread__fill_access(holder, e, h->stack_id, &f->accesses[1]);
		f->accesses[1].ts = h->ts;
		f->accesses[1].flags = h->flags;
		f->nr_accesses = 2;
	}
}

/* Appends f unless already reported for this lock and stack. */
static int misuse_add(struct findings *out, const struct finding *f)
{
	if (finding_seen(out, f->kind, &f->object.key, f->accesses[0].stack_id))
		return 0;
	return findings__add(out, f);
}

/* Reports misuse by thread t at event e, unless already reported (misuse_make). */
int lockmisuse__report(struct findings *out, enum finding_kind kind,
		       const struct lock_thread *t, const struct ipcrace_event *e,
		       const struct finding_object *lock, __u64 stack_id,
		       const struct lock_thread *holder, const struct held_lock *h)
{
	struct finding f;

	misuse_make(&f, kind, t, e, lock, stack_id, holder, h);
	return misuse_add(out, &f);
}

/* --- who could still wait on a lock held at exit ---------------------------------- */

/* Another thread of pid, alive as far as the trace knows, other than tid. */
static bool process_has_other_thread(const struct lockstate *ls, __u32 pid, __u32 tid,
				     const struct ipcrace_key *waiting_for)
{
	size_t i;

	for (i = 0; i < ls->nr_threads; i++) {
		const struct lock_thread *o = &ls->threads[i];

		if (o->pid != pid || o->tid == tid || o->exited)
			continue;
		if (!waiting_for ||
		    (o->pending && ipcrace_key__equal(&o->pending_key, waiting_for)))
			return true;
	}
	return false;
}

static void deferred_remove(struct lockstate *ls, size_t i)
{
	memmove(&ls->deferred[i], &ls->deferred[i + 1],
		(ls->nr_deferred - i - 1) * sizeof(ls->deferred[0]));
	ls->nr_deferred--;
}

/*
 * Thread t exits holding private lock h, its process not dead yet. A
 * thread of the process already waiting for it makes it a finding now;
 * otherwise it waits for the next event of another thread of the process
 * (deferred_on_event).
 */
int lockmisuse__exit_held_private(struct lockstate *ls, const struct lock_thread *t,
				  const struct ipcrace_event *e, const struct held_lock *h,
				  struct findings *out)
{
	struct deferred_exit *d;
	struct finding f;

	misuse_make(&f, FINDING_LOCK_HELD_AT_EXIT, t, e, &h->obj, h->stack_id, NULL, NULL);
	if (process_has_other_thread(ls, t->pid, t->tid, &h->obj.key))
		return misuse_add(out, &f);
	if (ls->nr_deferred == ls->cap_deferred) {
		size_t cap = ls->cap_deferred ? ls->cap_deferred * 2 : 8;

		d = realloc(ls->deferred, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		ls->deferred = d;
		ls->cap_deferred = cap;
	}
	d = &ls->deferred[ls->nr_deferred++];
	d->f = f;
	d->pid = t->pid;
	d->tid = t->tid;
	return 0;
}

/*
 * Settles deferred exits on event e: another thread of the process doing
 * anything but exiting was still running, so it could wait on the lock
 * (a finding); the process dying as a whole left nobody to wait (none).
 */
int lockmisuse__on_event(struct lockstate *ls, const struct ipcrace_event *e,
			 struct findings *out)
{
	bool group_dead = e->type == EV_EXIT && (e->flags & EVF_GROUP_DEAD);
	size_t i = 0;
	int err;

	while (i < ls->nr_deferred) {
		struct deferred_exit *d = &ls->deferred[i];

		if (d->pid != e->pid || (!group_dead && (e->type == EV_EXIT || e->tid == d->tid))) {
			i++;
			continue;
		}
		if (!group_dead) {
			err = misuse_add(out, &d->f);
			if (err)
				return err;
		}
		deferred_remove(ls, i);
	}
	return 0;
}
int lockmisuse__finish(struct lockstate *ls, struct findings *out)
{
	size_t i;
	int err;

	/* the trace ended with the process alive: its other threads could wait */
	for (i = 0; i < ls->nr_deferred; i++) {
		const struct deferred_exit *d = &ls->deferred[i];

		if (!process_has_other_thread(ls, d->pid, d->tid, NULL))
			continue;
		err = misuse_add(out, &d->f);
		if (err)
			return err;
	}
	ls->nr_deferred = 0;
	return 0;
}
