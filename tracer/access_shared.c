// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The words the access probes saw shared (access_shared.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "access_shared.h"

#define INDEX_SIZE (2 * ACCESS_SHARED_MAX)	/* a power of two, half full at most */

struct word {
	struct ipcrace_key key;
	__u32 first_tid;
	bool other_thread;
	bool written;		/* by a plain (not atomic) access */
	bool atomic;		/* some access was atomic: an atomic variable, never promoted */
	bool reported;
};

struct access_shared {
	struct word *words;
	size_t nr;
	size_t untracked;
	__s32 *index;		/* open addressing over words, -1: empty */
};

struct access_shared *access_shared__new(void)
{
	struct access_shared *as = calloc(1, sizeof(*as));

	if (!as)
		goto err;
	as->words = calloc(ACCESS_SHARED_MAX, sizeof(*as->words));
	as->index = malloc(INDEX_SIZE * sizeof(*as->index));
	if (!as->words || !as->index)
		goto err_free;
	memset(as->index, 0xff, INDEX_SIZE * sizeof(*as->index));
	return as;
err_free:
	access_shared__free(as);
err:
	errno = ENOMEM;
	return NULL;
}

void access_shared__free(struct access_shared *as)
{
	if (!as)
		return;
	free(as->words);
	free(as->index);
	free(as);
}

static __u64 key_hash(const struct ipcrace_key *k)
{
	__u64 h = k->space * 0x9e3779b97f4a7c15ULL;

	h = (h ^ k->a) * 0xff51afd7ed558ccdULL;
	h = (h ^ k->b) * 0xc4ceb9fe1a85ec53ULL;
	h = (h ^ k->c) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static bool key_eq(const struct ipcrace_key *x, const struct ipcrace_key *y)
{
	return x->space == y->space && x->a == y->a && x->b == y->b && x->c == y->c;
}

/* The 8-byte word the access starts in, as the watcher names words. */
static bool word_key(const struct ipcrace_event *e, struct ipcrace_key *k)
{
	memset(k, 0, sizeof(*k));
	switch (e->key.space) {
	case KEY_FILE:
		*k = e->key;
		k->c &= ~7ULL;
		break;
	case KEY_PRIVATE:
		*k = e->key;
		k->b &= ~7ULL;
		break;
	case KEY_NONE:
		k->space = KEY_PRIVATE;
		k->a = e->pid;
		k->b = e->addr & ~7ULL;
		break;
	default:
		return false;
	}
	k->__pad = 0;
	return true;
}

static bool note_word(struct access_shared *as, const struct ipcrace_event *e,
		      struct ipcrace_key *out)
{
	struct ipcrace_key k;
	struct word *w = NULL;
	size_t slot;

	if (!word_key(e, &k))
		return false;
	for (slot = key_hash(&k) & (INDEX_SIZE - 1);; slot = (slot + 1) & (INDEX_SIZE - 1)) {
		__s32 i = as->index[slot];

		if (i < 0)
			break;
		if (key_eq(&as->words[i].key, &k)) {
			w = &as->words[i];
			break;
		}
	}
	if (!w) {
		if (as->nr == ACCESS_SHARED_MAX) {
			as->untracked++;
			return false;
		}
		as->index[slot] = as->nr;
		w = &as->words[as->nr++];
		w->key = k;
		w->first_tid = e->tid;
	}
	w->atomic |= !!(e->flags & EVF_ATOMIC);
	w->written |= (e->flags & EVF_WRITE) && !(e->flags & EVF_ATOMIC);
	w->other_thread |= w->first_tid != e->tid;
	if (w->reported || w->atomic || !w->written || !w->other_thread)
		return false;
	w->reported = true;
	*out = k;
	return true;
}

bool access_shared__note(struct access_shared *as, const struct ipcrace_event *e,
			 struct ipcrace_key *out)
{
	if (!as || e->type != EV_MEM_ACCESS || !(e->flags & EVF_PROBE))
		return false;
	return note_word(as, e, out);
}

bool access_shared__note_hit(struct access_shared *as, const struct ipcrace_event *e,
			     struct ipcrace_key *out)
{
	if (!as || e->type != EV_MEM_ACCESS || (e->flags & EVF_PROBE))
		return false;
	return note_word(as, e, out);
}

size_t access_shared__count(const struct access_shared *as)
{
	return as ? as->nr : 0;
}

size_t access_shared__untracked(const struct access_shared *as)
{
	return as ? as->untracked : 0;
}
