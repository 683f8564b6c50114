// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Data race detection at byte granularity (race.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "crc32.h"
#include "identity.h"
#include "race.h"
#include "syncvis.h"

/*
 * Accesses wider than this are checked on their first RACE_MAX_BYTES bytes
 * only (a rep movs of a page): the rest is counted in racedet__truncated.
 */
#define RACE_MAX_BYTES 4096
#define WORD_BYTES 8

/* The locks a thread held, interned: most accesses share a few sets. */
struct race_lockset {
	struct finding_object locks[FINDING_MAX_LOCKS];
	__u32 nr;
	__u32 hash;
};

/*
 * One remembered access to one 8-byte word: when in the hb order, which of
 * the word's bytes, and what a report shows. Kept small: words hold many.
 */
struct race_access {
	struct hb_epoch ep;
	__u64 ts;
	__u64 stack_id;
	__u64 ip;
	__u64 addr;			/* where the whole access started */
	__u32 size;			/* its whole size */
	__u32 proc;			/* hb process incarnation */
	__u32 pid;
	__u32 tid;
	__u32 flags;			/* EVF_READ / EVF_WRITE */
	__u32 lockset;			/* index in rd->locksets */
	__u32 gap_edges;		/* rd->gap_edges when it was made */
	char comm[IPCRACE_COMM_LEN];
	__u8 mask;			/* bytes of the word it covers: bit i = byte i */
};

/*
 * One word (8 bytes, aligned in its object). writes: plain writes not yet
 * covered by a later write, each on the bytes still its own; reads: the
 * reads since, none ordered before a later read of the same bytes.
 */
struct race_word {
	struct race_access *writes;
	size_t nr_writes;
	size_t cap_writes;
	struct race_access *reads;
	size_t nr_reads;
	size_t cap_reads;
};

struct racedet {
	struct hb *hb;
	struct race_word *words;
	size_t nr_words;
	size_t cap_words;
	struct keymap *word_index;	/* word key -> words[] */
	struct keymap *reported;	/* (word, location pair) -> 1 */
	struct race_lockset *locksets;
	size_t nr_locksets;
	size_t cap_locksets;
	struct keymap *lockset_index;	/* hash, first lock -> locksets[] (chained by c) */
	size_t truncated;
	/*
	 * Sampling gaps (racedet__gap): edges seen so far, the processes
	 * whose gap is open now, and the latest edge (a candidate's reason).
	 * reported's value for a pair reported as a sampled candidate is
	 * its index in out + 2 (1: a finding).
	 */
	__u32 gap_edges;
	__u32 *open_gaps;
	size_t nr_open_gaps;
	size_t cap_open_gaps;
	__u32 last_gap_pid;
	__u64 last_gap_ts;
};

struct racedet *racedet__new(struct hb *hb)
{
	struct racedet *rd = calloc(1, sizeof(*rd));

	if (!rd)
		goto err;
	rd->hb = hb;
	rd->word_index = keymap__new();
	rd->reported = keymap__new();
	rd->lockset_index = keymap__new();
	if (!rd->word_index || !rd->reported || !rd->lockset_index)
		goto err_free;
	return rd;
err_free:
	racedet__free(rd);
err:
	errno = ENOMEM;
	return NULL;
}

void racedet__free(struct racedet *rd)
{
	size_t i;

	if (!rd)
		return;
	for (i = 0; i < rd->nr_words; i++) {
		free(rd->words[i].writes);
		free(rd->words[i].reads);
	}
	free(rd->words);
	free(rd->locksets);
	keymap__free(rd->word_index);
	keymap__free(rd->reported);
	keymap__free(rd->lockset_index);
	free(rd->open_gaps);
	free(rd);
}

size_t racedet__nr_words(const struct racedet *rd)
{
	return rd->nr_words;
}

size_t racedet__truncated(const struct racedet *rd)
{
	return rd->truncated;
}

void racedet__forget(struct racedet *rd)
{
	size_t i;

	/* the arrays stay allocated: the same words are likely accessed again */
	for (i = 0; i < rd->nr_words; i++) {
		rd->words[i].nr_writes = 0;
		rd->words[i].nr_reads = 0;
	}
}

/* Is pid's gap open? Its index in open_gaps, or nr_open_gaps. */
static size_t gap_find(const struct racedet *rd, __u32 pid)
{
	size_t i;

	for (i = 0; i < rd->nr_open_gaps && rd->open_gaps[i] != pid; i++)
		;
	return i;
}

int racedet__gap(struct racedet *rd, const struct ipcrace_event *e)
{
	size_t i = gap_find(rd, e->pid);
	int err;

	if (e->type == EV_EXIT) {
		/* a process gone in its gap: nothing of it is unseen after its exit */
		if (!(e->flags & EVF_GROUP_DEAD) || i == rd->nr_open_gaps)
			return 0;
	} else if (e->type != EV_LOCK_GAP) {
		return 0;
	}
	rd->gap_edges++;
	rd->last_gap_pid = e->pid;
	rd->last_gap_ts = e->ts;
	if (e->type == EV_LOCK_GAP && e->arg0 == LOCK_GAP_BEGIN) {
		if (i < rd->nr_open_gaps)
			return 0;
		err = array__reserve(&rd->open_gaps, &rd->cap_open_gaps, rd->nr_open_gaps + 1,
				     sizeof(*rd->open_gaps));
		if (err)
			return err;
		rd->open_gaps[rd->nr_open_gaps++] = e->pid;
		return 0;
	}
	/* an end (or an exit) closes the gap; an end without its begin counts as an edge */
	if (i < rd->nr_open_gaps)
		rd->open_gaps[i] = rd->open_gaps[--rd->nr_open_gaps];
	return 0;
}

/* May synchronization unseen in a sampling gap order prev before now? */
static bool gap_between(const struct racedet *rd, const struct race_access *prev)
{
	return rd->nr_open_gaps || prev->gap_edges != rd->gap_edges;
}

/* --- locksets ---------------------------------------------------------------- */

/* The index of the set locks[0..nr), added if new. Index 0 is the empty set. */
static int lockset_intern(struct racedet *rd, const struct finding_object *locks, size_t nr,
			  __u32 *out)
{
	struct race_lockset *ls;
	struct ipcrace_key k = { .space = KEY_NONE };
	size_t bytes = nr * sizeof(*locks);
	__u64 v;
	__u32 hash;
	int err;

	if (!rd->nr_locksets) {
		err = array__reserve(&rd->locksets, &rd->cap_locksets, 1,
				     sizeof(*rd->locksets));
		if (err)
			return err;
		memset(&rd->locksets[0], 0, sizeof(rd->locksets[0]));
		rd->nr_locksets = 1;
	}
	if (!nr) {
		*out = 0;
		return 0;
	}
	hash = ipcrace_crc32(0, locks, bytes);
	k.a = hash;
	/* collisions chain through c: the n-th set with this hash */
	for (k.c = 0; keymap__get(rd->lockset_index, &k, &v); k.c++) {
		ls = &rd->locksets[v];
		if (ls->nr == nr && !memcmp(ls->locks, locks, bytes)) {
			*out = v;
			return 0;
		}
	}
	err = array__reserve(&rd->locksets, &rd->cap_locksets, rd->nr_locksets + 1,
			     sizeof(*rd->locksets));
	if (err)
		return err;
	err = keymap__set(rd->lockset_index, &k, rd->nr_locksets);
	if (err)
		return err;
	ls = &rd->locksets[rd->nr_locksets];
	memset(ls, 0, sizeof(*ls));
	memcpy(ls->locks, locks, bytes);
	ls->nr = nr;
	ls->hash = hash;
	*out = rd->nr_locksets++;
	return 0;
}

/* --- words ------------------------------------------------------------------- */

/* The access's key, to the byte (the report's object). */
static struct ipcrace_key access_key(const struct ipcrace_event *e)
{
	struct ipcrace_key k = e->key;

	if (k.space == KEY_NONE) {
		/* as identity__event_key: private to the process, never merged */
		k.space = KEY_PRIVATE;
		k.a = e->pid;
		k.b = e->addr;
		k.c = 0;
	}
	k.__pad = 0;
	return k;
}

/* The byte offset a key names: in the object (KEY_FILE) or the address space. */
static __u64 *key_offset(struct ipcrace_key *k)
{
	return k->space == KEY_PRIVATE ? &k->b : &k->c;
}

static int word_get(struct racedet *rd, const struct ipcrace_key *k, size_t *out)
{
	__u64 v;
	int err;

	if (keymap__get(rd->word_index, k, &v)) {
		*out = v;
		return 0;
	}
	err = array__reserve(&rd->words, &rd->cap_words, rd->nr_words + 1,
			     sizeof(*rd->words));
	if (err)
		return err;
	err = keymap__set(rd->word_index, k, rd->nr_words);
	if (err)
		return err;
	memset(&rd->words[rd->nr_words], 0, sizeof(rd->words[0]));
	*out = rd->nr_words++;
	return 0;
}

static bool access_is_write(const struct race_access *a)
{
	return a->flags & EVF_WRITE;
}

/* Where the code is: the stack when there is one, else the exact ip. */
static __u64 access_location(const struct race_access *a)
{
	return a->stack_id ? a->stack_id : a->ip;
}

/*
 * Private memory of another incarnation of the pid (reused, or before an
 * exec) is other memory: its accesses are forgotten, never compared.
 */
static bool access_stale(const struct race_access *prev, const struct race_access *cur,
			 const struct ipcrace_key *k)
{
	return k->space == KEY_PRIVATE && prev->proc != cur->proc;
}

/* prev can no longer matter once it is ordered before cur (or is cur's thread). */
static bool access_ordered(const struct racedet *rd, const struct race_access *prev,
			   const struct race_access *cur)
{
	return prev->ep.thread == cur->ep.thread ||
	       hb__ordered_before_thread(rd->hb, prev->ep, cur->ep.thread);
}

/* Two accesses to one byte at least, one a write, not ordered. */
static bool access_conflicts(const struct racedet *rd, const struct race_access *prev,
			     const struct race_access *cur)
{
	if (!(prev->mask & cur->mask))
		return false;
	if (!access_is_write(prev) && !access_is_write(cur))
		return false;
	/* a seqlock reader's copy that overlapped a write is thrown away (hb.h) */
	if (!access_is_write(prev) && hb__read_discarded(rd->hb, prev->ep, cur->ep))
		return false;
	if (!access_is_write(cur) && hb__read_discarded(rd->hb, cur->ep, prev->ep))
		return false;
	return !access_ordered(rd, prev, cur);
}

static void finding_access_fill(const struct racedet *rd, const struct race_access *a,
				struct finding_access *out)
{
	const struct race_lockset *ls = &rd->locksets[a->lockset];

	memset(out, 0, sizeof(*out));
	out->ts = a->ts;
	out->stack_id = a->stack_id;
	out->ip = a->ip;
	out->pid = a->pid;
	out->tid = a->tid;
	out->flags = a->flags;
	memcpy(out->comm, a->comm, sizeof(out->comm));
	out->nr_locks = ls->nr;
	memcpy(out->locks_held, ls->locks, ls->nr * sizeof(ls->locks[0]));
}

/*
 * One report per pair of code locations and word where the access starts
 * (an access over several words is one report).
 */
static int report(struct racedet *rd, size_t word, const struct ipcrace_event *e,
		  const struct race_access *cur, const struct race_access *prev,
		  struct findings *out)
{
	__u64 x = access_location(cur), y = access_location(prev);
	struct ipcrace_key seen = {
		.space = KEY_NONE, .a = word, .b = x < y ? x : y, .c = x < y ? y : x,
	};
	bool sampled = gap_between(rd, prev);
	struct finding f;
	__u64 v, idx = (__u64)-1;
	int err;

	if (keymap__get(rd->reported, &seen, &v)) {
		/* a sampled candidate made a finding by a pair with no gap between */
		if (v < 2 || sampled || v - 2 >= out->nr ||
		    out->items[v - 2].status != FINDING_CANDIDATE ||
		    out->items[v - 2].unseen.why != SYNCVIS_SAMPLED)
			return 0;
		idx = v - 2;
	}
	err = keymap__set(rd->reported, &seen, sampled ? out->nr + 2 : 1);
	if (err)
		return err;
	memset(&f, 0, sizeof(f));
	f.kind = FINDING_DATA_RACE;
	f.object.key = access_key(e);
	f.object.addr = e->addr;
	f.object.size = e->arg1;
	f.object.pid = e->pid;
	f.object.obj = OBJ_MEMORY;
	finding_access_fill(rd, cur, &f.accesses[0]);
	finding_access_fill(rd, prev, &f.accesses[1]);
	f.nr_accesses = 2;
	if (sampled) {
		f.status = FINDING_CANDIDATE;
		f.unseen = (struct finding_unseen){
			.ts = rd->last_gap_ts, .why = SYNCVIS_SAMPLED, .pid = rd->last_gap_pid,
		};
	}
	if (idx != (__u64)-1) {
		out->items[idx] = f;
		return 0;
	}
	return findings__add(out, &f);
}

/* Reports cur against every conflicting access of list (skips stale ones). */
static int check_list(struct racedet *rd, size_t word, const struct ipcrace_event *e,
		      const struct ipcrace_key *k, const struct race_access *cur,
		      const struct race_access *list, size_t nr, struct findings *out)
{
	size_t i;
	int err;

	for (i = 0; i < nr; i++) {
		if (access_stale(&list[i], cur, k) || !access_conflicts(rd, &list[i], cur))
			continue;
		err = report(rd, word, e, cur, &list[i], out);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Takes from each access of list the bytes cur covers, when a later access
 * cannot race with it there without racing with cur first: a write covers
 * them all (what raced with it was reported), a read those ordered before
 * it. Stale accesses go; an access left with no byte goes.
 */
static void list_cover(const struct racedet *rd, const struct ipcrace_key *k,
		       const struct race_access *cur, bool all, struct race_access *list,
		       size_t *nr)
{
	size_t i, kept = 0;

	for (i = 0; i < *nr; i++) {
		if (access_stale(&list[i], cur, k))
			continue;
		if (all || access_ordered(rd, &list[i], cur))
			list[i].mask &= ~cur->mask;
		if (list[i].mask)
			list[kept++] = list[i];
	}
	*nr = kept;
}

static int list_append(struct race_access **list, size_t *nr, size_t *cap,
		       const struct race_access *a)
{
	int err = array__reserve_min(list, cap, *nr + 1, sizeof(**list), 4);

	if (err)
		return err;
	(*list)[(*nr)++] = *a;
	return 0;
}

/*
 * One word's share of an access: check it, then remember it. *first: the
 * word the access starts in (set by its first word), for deduplication.
 */
static int word_access(struct racedet *rd, const struct ipcrace_key *word_key,
		       const struct ipcrace_event *e, const struct race_access *cur,
		       size_t *first, struct findings *out)
{
	struct race_word *w;
	size_t word;
	int err;

	err = word_get(rd, word_key, &word);
	if (err)
		return err;
	if (*first == (size_t)-1)
		*first = word;
	w = &rd->words[word];
	err = check_list(rd, *first, e, word_key, cur, w->writes, w->nr_writes, out);
	if (!err && access_is_write(cur))
		err = check_list(rd, *first, e, word_key, cur, w->reads, w->nr_reads, out);
	if (err)
		return err;
	if (access_is_write(cur)) {
		/* FastTrack: a write supersedes what came before, on its bytes */
		list_cover(rd, word_key, cur, true, w->writes, &w->nr_writes);
		list_cover(rd, word_key, cur, true, w->reads, &w->nr_reads);
		return list_append(&w->writes, &w->nr_writes, &w->cap_writes, cur);
	}
	list_cover(rd, word_key, cur, false, w->reads, &w->nr_reads);
	return list_append(&w->reads, &w->nr_reads, &w->cap_reads, cur);
}

static int access_fill(struct racedet *rd, const struct ipcrace_event *e, struct hb_epoch ep,
		       const struct finding_object *locks, size_t nr_locks,
		       struct race_access *a)
{
	a->ep = ep;
	a->proc = hb__thread_process(rd->hb, ep.thread);
	a->ts = e->ts;
	a->stack_id = e->stack_id;
	a->ip = e->arg0;
	a->addr = e->addr;
	a->size = e->arg1;
	a->pid = e->pid;
	a->tid = e->tid;
	a->flags = e->flags & (EVF_READ | EVF_WRITE);
	a->gap_edges = rd->gap_edges;
	memcpy(a->comm, e->comm, sizeof(a->comm));
	if (nr_locks > FINDING_MAX_LOCKS)
		nr_locks = FINDING_MAX_LOCKS;
	return lockset_intern(rd, locks, nr_locks, &a->lockset);
}

int racedet__access(struct racedet *rd, const struct ipcrace_event *access_event,
		    const struct finding_object *locks_held, size_t nr_locks,
		    struct findings *out)
{
	const struct ipcrace_event *e = access_event;
	struct ipcrace_key k, w;
	struct race_access cur;
	struct hb_epoch ep;
	__u64 start, end, base;
	size_t first = (size_t)-1;
	int err;

	if (e->type != EV_MEM_ACCESS)
		return 0;
	/* makes the thread known with its pid */
	err = hb__event(rd->hb, e);
	if (err)
		return err;
	ep = hb__epoch(rd->hb, e->tid);
	if (ep.thread == HB_THREAD_NONE)
		return -ENOMEM;
	k = access_key(e);
	/*
	 * The lock library's own accesses to its lock, and every access to an
	 * atomic variable (an atomic RMW, or a plain load or store of a
	 * variable known to be atomic: C11 atomics compile to plain moves),
	 * are synchronization, not data (hb.h).
	 */
	if ((e->flags & (EVF_ATOMIC | EVF_RELAXED)) || hb__atomic_location(rd->hb, &k) || hb__sync_word(rd->hb, &k))
		return 0;
	err = access_fill(rd, e, ep, locks_held, nr_locks, &cur);
	if (err)
		return err;
	start = *key_offset(&k);
	end = start + (e->arg1 ? e->arg1 : 1);
	if (end - start > RACE_MAX_BYTES) {
		end = start + RACE_MAX_BYTES;
		rd->truncated++;
	}
	for (base = start & ~(__u64)(WORD_BYTES - 1); base < end && !err; base += WORD_BYTES) {
		__u64 lo = start > base ? start - base : 0;
		__u64 hi = end - base < WORD_BYTES ? end - base : WORD_BYTES;

		cur.mask = (__u8)(((1u << hi) - 1) & ~((1u << lo) - 1));
		w = k;
		*key_offset(&w) = base;
		err = word_access(rd, &w, e, &cur, &first, out);
	}
	return err;
}
