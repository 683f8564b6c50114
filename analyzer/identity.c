// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Identity normalization, key helpers and the key map (identity.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "identity.h"

static int cmp_u64(__u64 x, __u64 y)
{
	return x < y ? -1 : x > y;
}

int ipcrace_key__cmp(const struct ipcrace_key *x, const struct ipcrace_key *y)
{
	int r;

	r = cmp_u64(x->space, y->space);
	if (!r)
		r = cmp_u64(x->a, y->a);
	if (!r)
		r = cmp_u64(x->b, y->b);
	if (!r)
		r = cmp_u64(x->c, y->c);
	return r;
}

/* splitmix64 finalizer: cheap, and spreads the low-entropy fields (pids, inodes). */
static __u64 mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static __u64 rotl64(__u64 x, int r)
{
	return x << r | x >> (64 - r);
}

/*
 * One finalizer over the fields each multiplied by its own odd constant
 * and rotated apart: the products are independent (they run in parallel),
 * and the finalizer spreads them over the low bits the tables index by.
 */
static inline __u64 key_hash(const struct ipcrace_key *k)
{
	__u64 h = k->a * 0x9e3779b97f4a7c15ULL;

	h += rotl64(k->b * 0xc2b2ae3d27d4eb4fULL, 21);
	h += rotl64(k->c * 0x165667b19e3779f9ULL, 42);
	h += (__u64)k->space * 0x27d4eb2f165667c5ULL;
	return mix64(h);
}

__u64 ipcrace_key__hash(const struct ipcrace_key *k)
{
	return key_hash(k);
}

/* --- mapping index -------------------------------------------------------- */

struct identity {
	/* pointers into the trace, sorted by (pid, ts, start): a snapshot is a run */
	const struct trace_mapping **maps;
	size_t nr;
	const struct trace *trace;	/* for the process tree */
};

static int mapping_cmp(const void *pa, const void *pb)
{
	const struct trace_mapping *a = *(const struct trace_mapping *const *)pa;
	const struct trace_mapping *b = *(const struct trace_mapping *const *)pb;
	int r;

	r = cmp_u64(a->pid, b->pid);
	if (!r)
		r = cmp_u64(a->ts, b->ts);
	if (!r)
		r = cmp_u64(a->start, b->start);
	return r;
}

struct identity *identity__new(const struct trace *t)
{
	struct identity *id;
	size_t i;

	id = calloc(1, sizeof(*id));
	if (!id)
		goto err;
	id->trace = t;
	if (t && t->nr_mappings) {
		id->maps = calloc(t->nr_mappings, sizeof(*id->maps));
		if (!id->maps)
			goto err_free_id;
		for (i = 0; i < t->nr_mappings; i++)
			id->maps[i] = &t->mappings[i];
		id->nr = t->nr_mappings;
		qsort(id->maps, id->nr, sizeof(*id->maps), mapping_cmp);
	}
	return id;

err_free_id:
	free(id);
err:
	errno = ENOMEM;
	return NULL;
}

void identity__free(struct identity *id)
{
	if (!id)
		return;
	free(id->maps);
	free(id);
}

/* The mapping of one snapshot [lo, hi) holding addr, or NULL. */
static const struct trace_mapping *snapshot_find(const struct identity *id, size_t lo,
						 size_t hi, __u64 addr)
{
	const struct trace_mapping *m;

	/* last mapping starting at or below addr */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (id->maps[mid]->start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	m = id->maps[lo];
	return m->start <= addr && addr < m->end ? m : NULL;
}

static void key_from_mapping(const struct trace_mapping *m, __u32 pid, __u64 addr,
			     struct ipcrace_key *out)
{
	memset(out, 0, sizeof(*out));
	if ((m->flags & MAPF_SHARED) && m->ino) {
		out->space = KEY_FILE;
		out->a = m->dev;
		out->b = m->ino;
		out->c = m->pgoff + (addr - m->start);
	} else {
		out->space = KEY_PRIVATE;
		out->a = pid;
		out->b = addr;
	}
}

/* The mapping of pid holding addr best describing time ts, or NULL. */
static const struct trace_mapping *mapping_of(const struct identity *id, __u32 pid, __u64 addr,
					      __u64 ts)
{
	const struct trace_mapping *current = NULL, *later = NULL, *stale = NULL, *m;
	size_t lo = 0, hi, i, run_end;

	hi = id->nr;
	while (lo < hi) {		/* first mapping of pid */
		size_t mid = lo + (hi - lo) / 2;

		if (id->maps[mid]->pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < id->nr && id->maps[i]->pid == pid; i = run_end) {
		__u64 snap_ts = id->maps[i]->ts;

		for (run_end = i; run_end < id->nr && id->maps[run_end]->pid == pid &&
				  id->maps[run_end]->ts == snap_ts; run_end++)
			;
		m = snapshot_find(id, i, run_end, addr);
		if (snap_ts <= ts) {
			/*
			 * The last snapshot at or before ts describes the
			 * address space then; an older one holding addr is a
			 * last resort (it may have been unmapped since).
			 */
			current = m;
			if (m)
				stale = m;
		} else if (m) {
			later = m;
			break;
		}
	}
	return current ? current : later ? later : stale;
}

/* How far up the process tree a layout is looked for. */
#define IDENTITY_MAX_ANCESTORS 8

int identity__resolve(const struct identity *id, __u32 pid, __u64 addr, __u64 ts,
		      struct ipcrace_key *out)
{
	const struct trace_mapping *m = NULL;
	const struct trace_process *p;
	__u32 who = pid;
	int depth;

	if (!id || !id->nr)
		return -ENOENT;
	/*
	 * A forked child that exited before its own /proc/PID/maps was read
	 * has its parent's layout (shared mappings included); private words
	 * stay the child's own: the key keeps its pid.
	 */
	for (depth = 0; depth <= IDENTITY_MAX_ANCESTORS && who; depth++) {
		m = mapping_of(id, who, addr, ts);
		if (m)
			break;
		p = id->trace ? trace__find_process(id->trace, who) : NULL;
		who = p && p->ppid != who ? p->ppid : 0;
	}
	if (!m)
		return -ENOENT;
	key_from_mapping(m, pid, addr, out);
	return 0;
}

/*
 * Objects named by the user address of a word. The others (file locks, SysV
 * IDs, channels) have keys only BPF can build: an address means nothing.
 */
static bool obj_named_by_address(__u16 obj)
{
	switch (obj) {
	case OBJ_NONE:		/* memory accesses may come without a kind */
	case OBJ_MUTEX:
	case OBJ_RWLOCK:
	case OBJ_SPIN:
	case OBJ_SEM:
	case OBJ_FUTEX:
	case OBJ_MEMORY:
	case OBJ_COND:
	case OBJ_BARRIER:
	case OBJ_ONCE:
	case OBJ_GUARD:
		return true;
	default:
		return false;
	}
}

bool identity__event_needs_mappings(const struct ipcrace_event *e)
{
	if (e->key.space != KEY_NONE && !(e->flags & EVF_KEY_UNRESOLVED))
		return false;
	return e->addr && obj_named_by_address(e->obj);
}

void identity__event_key(const struct identity *id, const struct ipcrace_event *e,
			 struct ipcrace_key *out)
{
	if (e->key.space != KEY_NONE && !(e->flags & EVF_KEY_UNRESOLVED)) {
		*out = e->key;
		out->__pad = 0;
		return;
	}
	memset(out, 0, sizeof(*out));
	if (!e->addr || !obj_named_by_address(e->obj))
		return;
	if (identity__resolve(id, e->pid, e->addr, e->ts, out) == 0)
		return;
	out->space = KEY_PRIVATE;
	out->a = e->pid;
	out->b = e->addr;
}

/* --- key map ---------------------------------------------------------------- */

struct keymap_slot {
	struct ipcrace_key key;		/* key.__pad = 1 marks a used slot */
	__u64 val;
};

struct keymap {
	struct keymap_slot *slots;
	size_t cap;			/* power of two, or 0 */
	size_t nr;
};

struct keymap *keymap__new(void)
{
	struct keymap *m = calloc(1, sizeof(*m));

	if (!m)
		errno = ENOMEM;
	return m;
}

void keymap__free(struct keymap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static struct keymap_slot *keymap_slot(const struct keymap *m, const struct ipcrace_key *k)
{
	size_t mask = m->cap - 1, i = key_hash(k) & mask;

	while (m->slots[i].key.__pad && !ipcrace_key__equal(&m->slots[i].key, k))
		i = (i + 1) & mask;
	return &m->slots[i];
}

bool keymap__get(const struct keymap *m, const struct ipcrace_key *k, __u64 *val)
{
	const struct keymap_slot *s;

	if (!m->cap)
		return false;
	s = keymap_slot(m, k);
	if (!s->key.__pad)
		return false;
	*val = s->val;
	return true;
}

__u64 *keymap__ref(struct keymap *m, const struct ipcrace_key *k)
{
	struct keymap_slot *s;

	if (!m->cap)
		return NULL;
	s = keymap_slot(m, k);
	return s->key.__pad ? &s->val : NULL;
}

static int keymap_grow(struct keymap *m)
{
	struct keymap old = *m;
	size_t i;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	for (i = 0; i < old.cap; i++)
		if (old.slots[i].key.__pad)
			*keymap_slot(m, &old.slots[i].key) = old.slots[i];
	free(old.slots);
	return 0;
}

int keymap__set(struct keymap *m, const struct ipcrace_key *k, __u64 val)
{
	struct keymap_slot *s;
	int err;

	/* keep the load at most 1/2 so probes stay short */
	if ((m->nr + 1) * 2 > m->cap) {
		err = keymap_grow(m);
		if (err)
			return err;
	}
	s = keymap_slot(m, k);
	if (!s->key.__pad) {
		s->key = *k;
		s->key.__pad = 1;
		m->nr++;
	}
	s->val = val;
	return 0;
}

size_t keymap__size(const struct keymap *m)
{
	return m->nr;
}
