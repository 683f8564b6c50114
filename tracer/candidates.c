// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "candidates.h"

#define INDEX_SIZE (CANDIDATES_MAX * 2)	/* open addressing, power of two */
#define EXCLUDED_MIN 256		/* slots of the excluded-word set at first */

/* Open addressing, at most half full; space KEY_NONE marks a free slot. */
struct word_set {
	struct ipcrace_key *keys;
	size_t size;			/* power of two, 0 before the first add */
	size_t nr;
};

struct candidates {
	struct candidate items[CANDIDATES_MAX];
	size_t nr;
	size_t nr_private;		/* KEY_PRIVATE among items */
	__s32 index[INDEX_SIZE];	/* -1 empty, else position in items */
	struct word_set excluded;	/* words of lock objects: never candidates */
};

struct candidates *candidates__new(void)
{
	struct candidates *cs = calloc(1, sizeof(*cs));

	if (!cs) {
		errno = ENOMEM;
		return NULL;
	}
	memset(cs->index, 0xff, sizeof(cs->index));
	return cs;
}

void candidates__free(struct candidates *cs)
{
	if (!cs)
		return;
	free(cs->excluded.keys);
	free(cs);
}

/* A 64-bit finalizer: every input bit reaches the low bits the index uses. */
static __u64 mix64(__u64 k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	return k ^ (k >> 33);
}

/*
 * The words of one object differ only in their offset, by multiples of 8:
 * a hash that kept them apart only by adding the offset left them in long
 * runs of the index (4 probes for a word not there, against 1.4 now; the
 * snapshot differ asks for every word it sees change).
 */
static __u64 key_hash(const struct ipcrace_key *k)
{
	return mix64(k->a ^ mix64(k->b ^ mix64(k->c + k->space)));
}

static bool key_eq(const struct ipcrace_key *x, const struct ipcrace_key *y)
{
	return x->space == y->space && x->a == y->a && x->b == y->b && x->c == y->c;
}

static bool word_set_has(const struct word_set *ws, const struct ipcrace_key *k);

/* The word's position in the list, added (nothing counted) if new; -ENOSPC when full. */
static int find_or_add(struct candidates *cs, const struct ipcrace_key *key, __u32 len)
{
	size_t slot = key_hash(key) & (INDEX_SIZE - 1);
	struct candidate *c;

	for (;; slot = (slot + 1) & (INDEX_SIZE - 1)) {
		__s32 i = cs->index[slot];

		if (i < 0)
			break;
		if (key_eq(&cs->items[i].key, key))
			return i;
	}
	if (cs->nr == CANDIDATES_MAX ||
	    (key->space == KEY_PRIVATE && cs->nr_private == CANDIDATES_PRIVATE_MAX))
		return -ENOSPC;
	c = &cs->items[cs->nr];
	memset(c, 0, sizeof(*c));
	c->key = *key;
	c->len = len;
	cs->index[slot] = cs->nr;
	cs->nr_private += key->space == KEY_PRIVATE;
	return cs->nr++;
}

int candidates__bump(struct candidates *cs, const struct ipcrace_key *key, __u32 len)
{
	int i;

	if (cs->excluded.nr && word_set_has(&cs->excluded, key))
		return 0;
	i = find_or_add(cs, key, len);
	if (i < 0)
		return i;
	cs->items[i].changes++;
	return 0;
}

int candidates__guess(struct candidates *cs, const struct ipcrace_key *key, __u32 len)
{
	int i;

	if (cs->excluded.nr && word_set_has(&cs->excluded, key))
		return -EPERM;
	i = find_or_add(cs, key, len);
	if (i >= 0)
		cs->items[i].picks++;
	return i;
}

/* weight() counts changes up to this */
#define CHANGES_WEIGHED 1024

int candidates__promote(struct candidates *cs, const struct ipcrace_key *key, __u32 len)
{
	int i;

	if (cs->excluded.nr && word_set_has(&cs->excluded, key))
		return -EPERM;
	i = find_or_add(cs, key, len);
	if (i < 0)
		return i;
	if (cs->items[i].changes < CHANGES_WEIGHED)
		cs->items[i].changes = CHANGES_WEIGHED;
	return 0;
}

/* Keeps the items keep() accepts, in order, and rebuilds the index. */
static void candidates_filter(struct candidates *cs,
			      bool (*keep)(const struct candidate *c, const void *arg),
			      const void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < cs->nr; i++) {
		const struct candidate *c = &cs->items[i];

		if (!keep(c, arg))
			continue;
		cs->items[n++] = *c;
	}
	if (n == cs->nr)
		return;
	/* open addressing has no deletion: rebuild the index */
	cs->nr = n;
	cs->nr_private = 0;
	memset(cs->index, 0xff, sizeof(cs->index));
	for (size_t i = 0; i < n; i++) {
		size_t slot = key_hash(&cs->items[i].key) & (INDEX_SIZE - 1);

		while (cs->index[slot] >= 0)
			slot = (slot + 1) & (INDEX_SIZE - 1);
		cs->index[slot] = i;
		cs->nr_private += cs->items[i].key.space == KEY_PRIVATE;
	}
}

static bool not_unchanged_word(const struct candidate *c, const void *arg)
{
	const struct ipcrace_key *k = arg;

	return c->changes || !key_eq(&c->key, k);
}

void candidates__drop_unchanged(struct candidates *cs, const struct ipcrace_key *key)
{
	candidates_filter(cs, not_unchanged_word, key);
}

static bool not_of_pid(const struct candidate *c, const void *arg)
{
	return !(c->key.space == KEY_PRIVATE && c->key.a == *(const __u32 *)arg);
}

static bool word_set_remove_pid(struct word_set *ws, __u32 pid);

void candidates__forget_pid(struct candidates *cs, __u32 pid)
{
	candidates_filter(cs, not_of_pid, &pid);
	/* a later process with this pid has other lock objects */
	word_set_remove_pid(&cs->excluded, pid);
}

/* --- lock objects ---------------------------------------------------------- */

/* The 8-byte word holding byte off of the object at k, as a word key. */
static struct ipcrace_key word_of(const struct ipcrace_key *k, __u64 off)
{
	struct ipcrace_key w = { .space = k->space, .a = k->a };

	if (k->space == KEY_PRIVATE) {
		w.b = (k->b + off) & ~7ULL;
	} else {
		w.b = k->b;
		w.c = (k->c + off) & ~7ULL;
	}
	return w;
}

static bool word_set_has(const struct word_set *ws, const struct ipcrace_key *k)
{
	struct ipcrace_key w = word_of(k, 0);

	if (!ws->size)
		return false;
	for (size_t slot = key_hash(&w) & (ws->size - 1);; slot = (slot + 1) & (ws->size - 1)) {
		if (ws->keys[slot].space == KEY_NONE)
			return false;
		if (key_eq(&ws->keys[slot], &w))
			return true;
	}
}

static void word_set_put(struct word_set *ws, const struct ipcrace_key *w)
{
	size_t slot = key_hash(w) & (ws->size - 1);

	while (ws->keys[slot].space != KEY_NONE) {
		if (key_eq(&ws->keys[slot], w))
			return;
		slot = (slot + 1) & (ws->size - 1);
	}
	ws->keys[slot] = *w;
	ws->nr++;
}

/* Rehashes into size slots, leaving out the private words of drop_pid (0: none). */
static int word_set_rehash(struct word_set *ws, size_t size, __u32 drop_pid)
{
	struct ipcrace_key *old = ws->keys;
	size_t old_size = ws->size;

	ws->keys = calloc(size, sizeof(*ws->keys));
	if (!ws->keys) {
		ws->keys = old;
		return -ENOMEM;
	}
	ws->size = size;
	ws->nr = 0;
	for (size_t i = 0; i < old_size; i++) {
		const struct ipcrace_key *k = &old[i];

		if (k->space == KEY_NONE || (drop_pid && k->space == KEY_PRIVATE && k->a == drop_pid))
			continue;
		word_set_put(ws, k);
	}
	free(old);
	return 0;
}

static int word_set_add(struct word_set *ws, const struct ipcrace_key *w)
{
	if ((ws->nr + 1) * 2 > ws->size) {
		size_t size = ws->size ? ws->size * 2 : EXCLUDED_MIN;

		if (size > CANDIDATES_EXCLUDED_MAX * 2)
			return -ENOSPC;
		if (word_set_rehash(ws, size, 0))
			return -ENOMEM;
	}
	word_set_put(ws, w);
	return 0;
}

static bool word_set_remove_pid(struct word_set *ws, __u32 pid)
{
	bool any = false;

	for (size_t i = 0; i < ws->size && !any; i++)
		any = ws->keys[i].space == KEY_PRIVATE && ws->keys[i].a == pid;
	/* if memory runs out the words stay excluded: a lost candidate, no more */
	return any && !word_set_rehash(ws, ws->size, pid);
}

static bool not_excluded(const struct candidate *c, const void *arg)
{
	return !word_set_has(arg, &c->key);
}

bool candidates__exclude(struct candidates *cs, const struct ipcrace_key *obj, __u64 size)
{
	struct ipcrace_key w;
	bool added = false;

	if (!size || (obj->space != KEY_FILE && obj->space != KEY_PRIVATE))
		return false;
	/* every lock call names its object: the common case is one lookup */
	if (word_set_has(&cs->excluded, obj))
		return false;
	for (__u64 off = 0; off < size + 7; off += 8) {
		/* the last step reaches the last byte: an object not 8-aligned ends in one more word */
		w = word_of(obj, off < size ? off : size - 1);
		if (word_set_has(&cs->excluded, &w))
			continue;
		if (word_set_add(&cs->excluded, &w))
			break;		/* full: the rest may still be picked, nothing worse */
		added = true;
	}
	if (added)
		candidates_filter(cs, not_excluded, &cs->excluded);
	return added;
}

bool candidates__excluded(const struct candidates *cs, const struct ipcrace_key *word)
{
	return word_set_has(&cs->excluded, word);
}

void candidates__note_write(struct candidates *cs, const struct ipcrace_key *key, __u32 pid)
{
	struct ipcrace_key w = word_of(key, 0);
	struct candidate *c;
	int i;

	if (cs->excluded.nr && word_set_has(&cs->excluded, &w))
		return;
	/* a word not in the list is seen written, not seen changing: no change counted */
	i = find_or_add(cs, &w, 8);
	if (i < 0)
		return;
	c = &cs->items[i];
	if (!c->writer)
		c->writer = pid;
	else if (c->writer != pid)
		c->multi_writer = true;
}

static int rank_cmp(const void *a, const void *b, void *arg)
{
	const struct candidates *cs = arg;
	const struct candidate *x = &cs->items[*(const size_t *)a];
	const struct candidate *y = &cs->items[*(const size_t *)b];

	if (x->multi_writer != y->multi_writer)
		return x->multi_writer ? -1 : 1;
	if (x->changes != y->changes)
		return x->changes > y->changes ? -1 : 1;
	/* qsort is not stable: list order decides */
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

size_t candidates__rank(const struct candidates *cs, __u32 space, __u32 pid, size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < cs->nr; i++) {
		const struct candidate *c = &cs->items[i];

		if (c->key.space != space || (space == KEY_PRIVATE && c->key.a != pid))
			continue;
		out[n++] = i;
	}
	qsort_r(out, n, sizeof(*out), rank_cmp, (void *)cs);
	return n;
}

size_t candidates__count(const struct candidates *cs)
{
	return cs->nr;
}

const struct candidate *candidates__get(const struct candidates *cs, size_t i)
{
	return i < cs->nr ? &cs->items[i] : NULL;
}

void watch_rng__seed(struct watch_rng *r, __u64 seed)
{
	/* splitmix64 step: nearby seeds give unrelated states, never 0 */
	__u64 z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	r->state = z ? z : 1;
}

__u64 watch_rng__next(struct watch_rng *r)
{
	__u64 x = r->state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static bool is_busy(const struct ipcrace_key *k, const struct ipcrace_key *busy, size_t nr_busy)
{
	for (size_t i = 0; i < nr_busy; i++)
		if (key_eq(k, &busy[i]))
			return true;
	return false;
}

static bool is_private(const struct candidate *c)
{
	return c->key.space == KEY_PRIVATE;
}

/*
 * Weight of a candidate: change frequency, discounted by picks so far.
 * Private memory is mostly words written once (a buffer filled, a GOT
 * entry bound lazily): there a word's weight grows with the square of
 * its changes, so the few written again and again (what threads race
 * on) are not drowned by thousands written once.
 */
static __u64 weight(const struct candidate *c)
{
	__u64 changes = c->changes < CHANGES_WEIGHED ? c->changes : CHANGES_WEIGHED;

	if (is_private(c))
		changes *= changes;
	return 1 + changes * 16 / (1 + c->picks);
}

int candidates__pick(struct candidates *cs, struct watch_rng *r,
		     const struct ipcrace_key *busy, size_t nr_busy)
{
	__u64 total[2] = { 0, 0 }, x;	/* shared, private */
	bool priv;
	size_t i;

	for (i = 0; i < cs->nr; i++)
		if (!is_busy(&cs->items[i].key, busy, nr_busy))
			total[is_private(&cs->items[i])] += weight(&cs->items[i]);
	if (!total[0] && !total[1])
		return -ENOENT;
	/*
	 * Only a list with both kinds costs a draw here, so a list of one
	 * kind gets the schedule it always had. The top bit: xorshift64*'s
	 * low bits are its weakest.
	 */
	if (total[0] && total[1])
		priv = watch_rng__next(r) >> 63;
	else
		priv = total[1] != 0;
	x = watch_rng__next(r) % total[priv];
	for (i = 0; i < cs->nr; i++) {
		__u64 w;

		if (is_private(&cs->items[i]) != priv || is_busy(&cs->items[i].key, busy, nr_busy))
			continue;
		w = weight(&cs->items[i]);
		if (x < w)
			break;
		x -= w;
	}
	cs->items[i].picks++;
	return i;
}
