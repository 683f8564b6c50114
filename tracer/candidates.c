// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>
#include <sys/uio.h>

#include "candidates.h"

#define INDEX_SIZE (CANDIDATES_MAX * 2)	/* open addressing, power of two */
#define SNAP_OBJECTS_MAX 256
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

/* --- private memory ---------------------------------------------------- */

#define PRIV_PAGE 4096ULL
/* A PROT_NONE mapping at most this big right below a stack is its guard. */
#define STACK_GUARD_MAX (1ULL << 20)

static bool map_is_anon_private_rw(const struct private_map *m)
{
	return !m->shared && !m->ino && !m->path[0] &&
	       (m->prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE);
}

static bool map_is_exe(const struct private_map *m, __u64 exe_dev, __u64 exe_ino)
{
	return m->ino && m->ino == exe_ino && m->dev == exe_dev;
}

/*
 * glibc puts a thread's stack (and its TLS and struct pthread, per thread
 * too) in an anonymous mapping right above a PROT_NONE guard of a page or
 * a few. A malloc arena is the other way round: its writable part comes
 * first, its PROT_NONE reserve (megabytes) after it.
 */
static bool map_is_thread_stack(const struct private_map *maps, size_t i)
{
	const struct private_map *g;

	if (!i)
		return false;
	g = &maps[i - 1];
	return g->end == maps[i].start && !g->shared && !g->ino && !g->path[0] && !g->prot &&
	       g->end - g->start <= STACK_GUARD_MAX;
}

enum priv_class { PRIV_SKIP, PRIV_EXE, PRIV_HEAP, PRIV_ANON, PRIV_CLASSES };

static enum priv_class classify(const struct private_map *maps, size_t i, __u64 exe_dev,
				__u64 exe_ino)
{
	const struct private_map *m = &maps[i], *prev = i ? &maps[i - 1] : NULL;

	if (m->shared || !(m->prot & PROT_WRITE) || !(m->prot & PROT_READ))
		return PRIV_SKIP;
	if (map_is_exe(m, exe_dev, exe_ino))
		return PRIV_EXE;
	if (!strcmp(m->path, "[heap]"))
		return PRIV_HEAP;
	if (!map_is_anon_private_rw(m) || map_is_thread_stack(maps, i))
		return PRIV_SKIP;
	/* an anonymous mapping right after a file's is that file's .bss */
	if (prev && prev->end == m->start && prev->ino)
		return map_is_exe(prev, exe_dev, exe_ino) ? PRIV_EXE : PRIV_SKIP;
	return PRIV_ANON;
}

size_t private_regions__pick(const struct private_map *maps, size_t nr, __u64 exe_dev,
			     __u64 exe_ino, struct private_range *out, size_t max)
{
	size_t n = 0;

	for (int cls = PRIV_EXE; cls < PRIV_CLASSES; cls++) {
		for (size_t i = 0; i < nr && n < max; i++) {
			if (classify(maps, i, exe_dev, exe_ino) != (enum priv_class)cls)
				continue;
			out[n].start = maps[i].start;
			out[n].end = maps[i].end;
			n++;
		}
	}
	return n;
}

struct priv_region {
	__u32 pid;
	__u64 start;
	__u64 len;		/* bytes kept: whole pages */
	__u64 *prev;		/* copy at the last read */
	__u8 *valid;		/* per page: prev holds a copy */
	bool every_tick;	/* read whole at every diff, not in turn */
};

struct private_snapshots {
	struct priv_region *regs;
	size_t nr, cap;
	size_t tick_bytes, kept_max, region_max, kept;
	/*
	 * Regions read whole at every diff, up to this many bytes in all:
	 * the first ones of each process (its globals, a small heap), so a
	 * word they hold is counted at every change, not once a round, and
	 * outweighs a big buffer's words seen changing once.
	 */
	size_t every_tick_max;
	size_t cur;		/* region the next diff starts in */
	__u64 cur_off;		/* ... and where in it */
	__u64 *buf;		/* one read, tick_bytes */
};

static size_t round_pages(size_t n)
{
	return n & ~(PRIV_PAGE - 1);
}

struct private_snapshots *private_snapshots__new(size_t tick_bytes, size_t kept_bytes,
						 size_t region_bytes)
{
	struct private_snapshots *ps;

	tick_bytes = round_pages(tick_bytes);
	if (!tick_bytes) {
		errno = EINVAL;
		return NULL;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		goto err;
	ps->tick_bytes = tick_bytes;
	ps->every_tick_max = round_pages(tick_bytes / 4);
	ps->kept_max = round_pages(kept_bytes);
	ps->region_max = round_pages(region_bytes);
	ps->buf = malloc(tick_bytes);
	if (!ps->buf)
		goto err_free;
	return ps;

err_free:
	free(ps);
err:
	errno = ENOMEM;
	return NULL;
}

static void region_release(struct priv_region *r)
{
	free(r->prev);
	free(r->valid);
	r->prev = NULL;
	r->valid = NULL;
}

void private_snapshots__free(struct private_snapshots *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->nr; i++)
		region_release(&ps->regs[i]);
	free(ps->regs);
	free(ps->buf);
	free(ps);
}

size_t private_snapshots__kept(const struct private_snapshots *ps)
{
	return ps->kept;
}

bool private_snapshots__has(const struct private_snapshots *ps, __u32 pid)
{
	for (size_t i = 0; i < ps->nr; i++)
		if (ps->regs[i].pid == pid)
			return true;
	return false;
}

/* Gives r (already holding old's buffers, or none) room for len bytes. */
static int region_resize(struct priv_region *r, __u64 len)
{
	size_t old_pages = r->len / PRIV_PAGE, pages = len / PRIV_PAGE;
	__u64 *prev;
	__u8 *valid;

	if (r->prev && r->len == len)
		return 0;
	prev = realloc(r->prev, len);
	if (!prev)
		return -ENOMEM;
	r->prev = prev;
	valid = realloc(r->valid, pages);
	if (!valid)
		return -ENOMEM;
	r->valid = valid;
	if (pages > old_pages)
		memset(valid + old_pages, 0, pages - old_pages);
	r->len = len;
	return 0;
}

int private_snapshots__set(struct private_snapshots *ps, __u32 pid,
			   const struct private_range *ranges, size_t nr)
{
	struct priv_region *fresh = NULL;
	size_t others = 0, every = 0, avail, n = 0, kept = 0, i, j;
	int err = 0;

	for (i = 0; i < ps->nr; i++) {
		if (ps->regs[i].pid == pid)
			continue;
		others += ps->regs[i].len;
		every += ps->regs[i].every_tick ? ps->regs[i].len : 0;
	}
	avail = others < ps->kept_max ? ps->kept_max - others : 0;
	if (nr) {
		fresh = calloc(nr, sizeof(*fresh));
		if (!fresh)
			return -ENOMEM;
	}
	for (i = 0; i < nr && avail; i++) {
		__u64 len = ranges[i].end - ranges[i].start;
		struct priv_region *r = &fresh[n];

		if (len > ps->region_max)
			len = ps->region_max;
		if (len > avail)
			len = avail;
		len = round_pages(len);
		if (!len)
			continue;
		r->pid = pid;
		r->start = ranges[i].start;
		/* the same region as before keeps its copy */
		for (j = 0; j < ps->nr; j++) {
			struct priv_region *old = &ps->regs[j];

			if (old->pid == pid && old->start == r->start && old->prev) {
				*r = *old;
				old->prev = NULL;
				old->valid = NULL;
				break;
			}
		}
		if (region_resize(r, len)) {
			region_release(r);
			memset(r, 0, sizeof(*r));
			err = -ENOMEM;
			continue;
		}
		/* in priority order: the first regions that fit */
		r->every_tick = every + len <= ps->every_tick_max;
		if (r->every_tick)
			every += len;
		else
			every = ps->every_tick_max;
		avail -= len;
		n++;
	}
	/* drop pid's old regions, then append its new ones */
	for (i = 0, j = 0; i < ps->nr; i++) {
		if (ps->regs[i].pid == pid) {
			region_release(&ps->regs[i]);
			continue;
		}
		ps->regs[j++] = ps->regs[i];
	}
	ps->nr = j;
	if (ps->nr + n > ps->cap) {
		size_t cap = ps->nr + n + 16;
		struct priv_region *grown = realloc(ps->regs, cap * sizeof(*grown));

		if (!grown) {
			for (i = 0; i < n; i++)
				region_release(&fresh[i]);
			n = 0;
			err = -ENOMEM;
		} else {
			ps->regs = grown;
			ps->cap = cap;
		}
	}
	if (n)
		memcpy(ps->regs + ps->nr, fresh, n * sizeof(*fresh));
	ps->nr += n;
	for (i = 0; i < ps->nr; i++)
		kept += ps->regs[i].len;
	ps->kept = kept;
	if (ps->cur >= ps->nr) {
		ps->cur = 0;
		ps->cur_off = 0;
	}
	free(fresh);
	return err;
}

void private_snapshots__drop(struct private_snapshots *ps, __u32 pid)
{
	private_snapshots__set(ps, pid, NULL, 0);
}

/* Compares words [off, off + got) of r with the bytes just read. */
static long region_compare(struct private_snapshots *ps, struct priv_region *r, __u64 off,
			   size_t got, struct candidates *cs)
{
	struct ipcrace_key key = { .space = KEY_PRIVATE, .a = r->pid };
	const __u64 *now = ps->buf;
	__u64 *prev = r->prev + off / 8;
	long changed = 0;

	for (size_t p = 0; p < got / PRIV_PAGE; p++) {
		size_t page = off / PRIV_PAGE + p, w0 = p * (PRIV_PAGE / 8);

		if (!r->valid[page]) {
			/* first sight of the page: nothing to compare with */
			memcpy(prev + w0, now + w0, PRIV_PAGE);
			r->valid[page] = 1;
			continue;
		}
		if (!memcmp(prev + w0, now + w0, PRIV_PAGE))
			continue;
		for (size_t w = w0; w < w0 + PRIV_PAGE / 8; w++) {
			if (prev[w] == now[w])
				continue;
			prev[w] = now[w];
			key.b = r->start + off + w * 8;
			candidates__bump(cs, &key, 8);
			changed++;
		}
	}
	return changed;
}

/*
 * Reads [off, off + len) of r (len at most tick_bytes) and compares it.
 * Returns how far the read moved: len, or past the first page that could
 * not be read (unmapped since the maps were read), or to the region's end
 * when its process is gone (its exit drops it).
 */
static __u64 region_read(struct private_snapshots *ps, struct priv_region *r, __u64 off,
			 __u64 len, struct candidates *cs, long *changed)
{
	struct iovec local = { .iov_base = ps->buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)(r->start + off), .iov_len = len };
	ssize_t got = process_vm_readv(r->pid, &local, 1, &remote, 1, 0);

	if (got < 0 && errno == ESRCH)
		return r->len - off;
	if (got < 0)
		got = 0;
	got = round_pages(got);
	*changed += region_compare(ps, r, off, got, cs);
	return (__u64)got < len ? (__u64)got + PRIV_PAGE : len;
}

long private_snapshots__diff(struct private_snapshots *ps, struct candidates *cs)
{
	size_t left = ps->tick_bytes, first;
	__u64 first_off;
	long changed = 0;

	if (!ps->nr)
		return 0;
	/* the small, most useful regions: whole, every time */
	for (size_t i = 0; i < ps->nr; i++) {
		struct priv_region *r = &ps->regs[i];

		if (!r->every_tick)
			continue;
		for (__u64 off = 0; off < r->len;)
			off += region_read(ps, r, off, r->len - off, cs, &changed);
		left -= r->len < left ? r->len : left;
	}
	/* the others in turn, from where the last diff stopped */
	if (ps->cur >= ps->nr || ps->cur_off >= ps->regs[ps->cur].len ||
	    ps->regs[ps->cur].every_tick) {
		ps->cur = ps->cur + 1 < ps->nr ? ps->cur + 1 : 0;
		ps->cur_off = 0;
	}
	first = ps->cur;
	first_off = ps->cur_off;
	while (left) {
		struct priv_region *r = &ps->regs[ps->cur];
		__u64 end = r->len, step = 0;

		if (!r->every_tick) {
			/* once round all regions is enough: stop where this diff began */
			if (ps->cur == first && ps->cur_off < first_off)
				end = first_off;
			step = end - ps->cur_off;
			if (step > left)
				step = left;
			step = region_read(ps, r, ps->cur_off, step, cs, &changed);
			left -= step < left ? step : left;
		}
		ps->cur_off += step;
		if (r->every_tick || ps->cur_off >= r->len) {
			ps->cur_off = 0;
			ps->cur = (ps->cur + 1) % ps->nr;
		}
		if (ps->cur == first && ps->cur_off == first_off)
			break;
	}
	return changed;
}
