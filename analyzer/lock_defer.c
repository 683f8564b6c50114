// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Deferred lock acquisitions (lock_defer.h): per thread, the attempt whose
 * acquisition its next event completes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "identity.h"
#include "lock_defer.h"

struct deferred {
	struct ipcrace_event attempt;
	bool pending;
	/* its last futex wait on the lock ended without the lock (a signal) */
	bool interrupted;
	/* events were lost since the attempt: its release may be one of them */
	bool spans_loss;
};

struct lock_defer {
	struct keymap *by_tid;		/* tid -> index in slots */
	struct deferred *slots;		/* one per thread that ever deferred */
	size_t nr_slots;
	size_t cap_slots;
	size_t nr_pending;
	size_t failures;
	/* an acquisition made whose slot the next attempt took (lock_defer__next) */
	struct ipcrace_event made;
	/* the last slot found: consecutive lock events mostly share a thread */
	bool last_valid;
	__u32 last_tid;
	size_t last_idx;
};

struct lock_defer *lock_defer__new(void)
{
	struct lock_defer *ld = calloc(1, sizeof(*ld));

	if (!ld)
		goto err;
	ld->by_tid = keymap__new();
	if (!ld->by_tid)
		goto err_free;
	return ld;
err_free:
	free(ld);
err:
	errno = ENOMEM;
	return NULL;
}

void lock_defer__free(struct lock_defer *ld)
{
	if (!ld)
		return;
	keymap__free(ld->by_tid);
	free(ld->slots);
	free(ld);
}

static struct ipcrace_key tid_key(__u32 tid)
{
	struct ipcrace_key k = { .a = tid, .space = KEY_NONE };

	return k;
}

__attribute__((noinline)) static struct deferred *slot_lookup(struct lock_defer *ld, __u32 tid)
{
	struct ipcrace_key k = tid_key(tid);
	__u64 idx;

	if (!keymap__get(ld->by_tid, &k, &idx))
		return NULL;
	ld->last_valid = true;
	ld->last_tid = tid;
	ld->last_idx = idx;
	return &ld->slots[idx];
}

static inline struct deferred *slot_find(struct lock_defer *ld, __u32 tid)
{
	/* slots are never removed: an index stays that thread's */
	if (ld->last_valid && ld->last_tid == tid)
		return &ld->slots[ld->last_idx];
	return slot_lookup(ld, tid);
}

/* A slot for a thread that has none yet. NULL on -ENOMEM. */
__attribute__((noinline)) static struct deferred *slot_add(struct lock_defer *ld, __u32 tid)
{
	struct ipcrace_key k = tid_key(tid);
	struct deferred *d;

	if (ld->nr_slots == ld->cap_slots) {
		size_t cap = ld->cap_slots ? ld->cap_slots * 2 : 16;

		d = realloc(ld->slots, cap * sizeof(*d));
		if (!d)
			return NULL;
		ld->slots = d;
		ld->cap_slots = cap;
	}
	if (keymap__set(ld->by_tid, &k, ld->nr_slots))
		return NULL;
	d = &ld->slots[ld->nr_slots++];
	memset(d, 0, sizeof(*d));
	ld->last_valid = true;
	ld->last_tid = tid;
	ld->last_idx = d - ld->slots;
	return d;
}

static inline struct deferred *slot_get(struct lock_defer *ld, __u32 tid)
{
	struct deferred *d = slot_find(ld, tid);

	return d ? d : slot_add(ld, tid);
}

/* Does e fall on the words of lock attempt a, in a's process? */
static bool on_lock_words(const struct ipcrace_event *a, const struct ipcrace_event *e,
			  __u64 addr)
{
	return e->pid == a->pid && addr >= a->addr && addr - a->addr < LOCK_DEFER_OBJECT_BYTES;
}

/* An event the pending lock call itself makes while it waits: it completes nothing. */
static bool inside_lock_call(struct deferred *d, const struct ipcrace_event *e)
{
	switch (e->type) {
	case EV_FUTEX_WAIT_RET:
		if (!on_lock_words(&d->attempt, e, e->addr))
			return false;
		/* woken (0), or the word had changed (EAGAIN), or timed out: it goes on */
		d->interrupted = e->result < 0 && e->result != -EAGAIN && e->result != -ETIMEDOUT;
		return true;
	case EV_FUTEX_WAKE:
		return on_lock_words(&d->attempt, e, e->addr);
	case EV_MEM_ACCESS:
		return on_lock_words(&d->attempt, e, e->addr);
	default:
		return false;
	}
}

/* The acquisition d's attempt made, in place: d is no longer pending. */
static struct ipcrace_event *make_acquired(struct deferred *d)
{
	struct ipcrace_event *acquired = &d->attempt;

	acquired->type = EV_LOCK_ACQUIRED;
	acquired->result = 0;
	acquired->flags &= ~(EVF_ACQUIRE_DEFERRED | EVF_AFTER_LOSS);
	if (d->spans_loss)
		acquired->flags |= EVF_DEFERRED_SPANS_LOSS;
	return acquired;
}

static void mark_loss(struct lock_defer *ld)
{
	size_t i;

	for (i = 0; i < ld->nr_slots; i++)
		if (ld->slots[i].pending)
			ld->slots[i].spans_loss = true;
}

void lock_defer__gap(struct lock_defer *ld, __u32 pid)
{
	size_t i;

	for (i = 0; ld->nr_pending && i < ld->nr_slots; i++)
		if (ld->slots[i].pending && ld->slots[i].attempt.pid == pid)
			ld->slots[i].spans_loss = true;
}

const struct ipcrace_event *lock_defer__next(struct lock_defer *ld, const struct ipcrace_event *e)
{
	bool defers = e->type == EV_LOCK_ATTEMPT && (e->flags & EVF_ACQUIRE_DEFERRED);
	const struct ipcrace_event *made = NULL;
	struct deferred *d;

	if (!ld->nr_pending && !defers)
		return NULL;
	if (ld->nr_pending && (e->flags & EVF_AFTER_LOSS))
		mark_loss(ld);
	d = ld->nr_pending ? slot_find(ld, e->tid) : NULL;
	if (d && d->pending && !inside_lock_call(d, e)) {
		d->pending = false;
		ld->nr_pending--;
		/* killed while it waited for the lock: it never got it */
		if (!(e->type == EV_EXIT && d->interrupted))
			made = make_acquired(d);
	}
	if (defers) {
		/* (slots move only when d is NULL, and then nothing was made) */
		d = d ? d : slot_get(ld, e->tid);
		if (!d) {
			ld->failures++;
			return made;
		}
		/* the next attempt takes the slot of the acquisition just made */
		if (made == &d->attempt) {
			ld->made = *made;
			made = &ld->made;
		}
		d->attempt = *e;
		d->pending = true;
		d->interrupted = false;
		d->spans_loss = false;
		ld->nr_pending++;
	}
	return made;
}

bool lock_defer__event(struct lock_defer *ld, const struct ipcrace_event *e,
		       struct ipcrace_event *acquired)
{
	const struct ipcrace_event *made = lock_defer__next(ld, e);

	if (made)
		*acquired = *made;
	return made;
}

bool lock_defer__unheld_release(struct lock_defer *ld, const struct ipcrace_event *e,
				struct ipcrace_event *acquired)
{
	struct deferred *found = NULL;
	size_t i;

	for (i = 0; ld->nr_pending && i < ld->nr_slots; i++) {
		struct deferred *d = &ld->slots[i];

		if (!d->pending || d->attempt.tid == e->tid ||
		    !ipcrace_key__equal(&d->attempt.key, &e->key))
			continue;
		if (found)
			return false;
		found = d;
	}
	if (!found)
		return false;
	found->pending = false;
	ld->nr_pending--;
	*acquired = *make_acquired(found);
	return true;
}

size_t lock_defer__pending(const struct lock_defer *ld)
{
	return ld ? ld->nr_pending : 0;
}

size_t lock_defer__failures(const struct lock_defer *ld)
{
	return ld ? ld->failures : 0;
}
