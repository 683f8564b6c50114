// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "candidates.h"

#define INDEX_SIZE (CANDIDATES_MAX * 2)	/* open addressing, power of two */
#define SNAP_OBJECTS_MAX 256

struct candidates {
	struct candidate items[CANDIDATES_MAX];
	size_t nr;
	__s32 index[INDEX_SIZE];	/* -1 empty, else position in items */
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
	free(cs);
}

static __u64 key_hash(const struct ipcrace_key *k)
{
	__u64 h = k->a * 0x9e3779b97f4a7c15ULL;

	h ^= k->b + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
	h ^= k->c + 0x85ebca6b0f7a9d3dULL + (h << 6) + (h >> 2);
	return h ^ (h >> 29);
}

static bool key_eq(const struct ipcrace_key *x, const struct ipcrace_key *y)
{
	return x->space == y->space && x->a == y->a && x->b == y->b && x->c == y->c;
}

int candidates__bump(struct candidates *cs, const struct ipcrace_key *key, __u32 len)
{
	size_t slot = key_hash(key) & (INDEX_SIZE - 1);
	struct candidate *c;

	for (;; slot = (slot + 1) & (INDEX_SIZE - 1)) {
		__s32 i = cs->index[slot];

		if (i < 0)
			break;
		if (key_eq(&cs->items[i].key, key)) {
			cs->items[i].changes++;
			return 0;
		}
	}
	if (cs->nr == CANDIDATES_MAX)
		return -ENOSPC;
	c = &cs->items[cs->nr];
	memset(c, 0, sizeof(*c));
	c->key = *key;
	c->len = len;
	c->changes = 1;
	cs->index[slot] = cs->nr++;
	return 0;
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

/* Weight of a candidate: change frequency, discounted by picks so far. */
static __u64 weight(const struct candidate *c)
{
	__u64 changes = c->changes < 1024 ? c->changes : 1024;

	return 1 + changes * 16 / (1 + c->picks);
}

int candidates__pick(struct candidates *cs, struct watch_rng *r,
		     const struct ipcrace_key *busy, size_t nr_busy)
{
	__u64 total = 0, x;
	size_t i;

	for (i = 0; i < cs->nr; i++)
		if (!is_busy(&cs->items[i].key, busy, nr_busy))
			total += weight(&cs->items[i]);
	if (!total)
		return -ENOENT;
	x = watch_rng__next(r) % total;
	for (i = 0; i < cs->nr; i++) {
		__u64 w;

		if (is_busy(&cs->items[i].key, busy, nr_busy))
			continue;
		w = weight(&cs->items[i]);
		if (x < w)
			break;
		x -= w;
	}
	cs->items[i].picks++;
	return i;
}

struct snap_object {
	__u64 dev;
	__u64 ino;
	__u64 pgoff;
	__u64 len;
	const __u64 *live;	/* our read-only shared mapping */
	__u64 *prev;		/* copy at the last scan */
	__u64 cursor;		/* byte offset where the next scan starts */
};

struct snapshots {
	struct snap_object objs[SNAP_OBJECTS_MAX];
	size_t nr;
	size_t per_object_bytes;
	size_t total_bytes;
	size_t next;		/* object the next diff starts with (fairness) */
};

struct snapshots *snapshots__new(size_t per_object_bytes, size_t total_bytes)
{
	struct snapshots *ss = calloc(1, sizeof(*ss));

	if (!ss) {
		errno = ENOMEM;
		return NULL;
	}
	ss->per_object_bytes = per_object_bytes & ~7UL;
	ss->total_bytes = total_bytes;
	return ss;
}

void snapshots__free(struct snapshots *ss)
{
	size_t i;

	if (!ss)
		return;
	for (i = 0; i < ss->nr; i++) {
		munmap((void *)ss->objs[i].live, ss->objs[i].len);
		free(ss->objs[i].prev);
	}
	free(ss);
}

bool snapshots__has(const struct snapshots *ss, __u64 dev, __u64 ino)
{
	for (size_t i = 0; i < ss->nr; i++)
		if (ss->objs[i].dev == dev && ss->objs[i].ino == ino)
			return true;
	return false;
}

int snapshots__add(struct snapshots *ss, __u64 dev, __u64 ino, __u64 pgoff, __u64 len, int fd)
{
	struct snap_object *o;
	void *live;

	if (snapshots__has(ss, dev, ino))
		return 0;
	if (ss->nr == SNAP_OBJECTS_MAX || !len)
		return -ENOSPC;
	live = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, pgoff);
	if (live == MAP_FAILED)
		return -errno;
	o = &ss->objs[ss->nr];
	o->prev = malloc(len);
	if (!o->prev) {
		munmap(live, len);
		return -ENOMEM;
	}
	memcpy(o->prev, live, len);
	o->dev = dev;
	o->ino = ino;
	o->pgoff = pgoff;
	o->len = len & ~7ULL;
	o->live = live;
	o->cursor = 0;
	ss->nr++;
	return 0;
}

static long diff_object(struct snap_object *o, size_t budget, struct candidates *cs)
{
	struct ipcrace_key key = { .space = KEY_FILE, .a = o->dev, .b = o->ino };
	size_t n = budget < o->len ? budget : o->len, done;
	long changed = 0;

	for (done = 0; done < n; done += 8) {
		size_t w;

		if (o->cursor >= o->len)
			o->cursor = 0;
		w = o->cursor / 8;
		if (o->live[w] != o->prev[w]) {
			o->prev[w] = o->live[w];
			key.c = o->pgoff + o->cursor;
			candidates__bump(cs, &key, 8);
			changed++;
		}
		o->cursor += 8;
	}
	return changed;
}

long snapshots__diff(struct snapshots *ss, struct candidates *cs)
{
	size_t left = ss->total_bytes, k;
	long changed = 0;

	for (k = 0; k < ss->nr && left; k++) {
		struct snap_object *o = &ss->objs[(ss->next + k) % ss->nr];
		size_t n = ss->per_object_bytes < left ? ss->per_object_bytes : left;

		changed += diff_object(o, n, cs);
		left -= n < o->len ? n : o->len;
	}
	if (ss->nr)
		ss->next = (ss->next + 1) % ss->nr;
	return changed;
}
