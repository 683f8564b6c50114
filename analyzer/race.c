// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Data race detection on watched words (race.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "identity.h"
#include "race.h"

/* One remembered access: when in the hb order, and what a report shows. */
struct race_access {
	struct hb_epoch ep;
	__u32 proc;			/* hb process incarnation */
	struct finding_access info;
};

/*
 * One word. writes: the last plain write and the atomic writes since, with
 * the plain writes concurrent with those (atomic accesses race with nobody,
 * so they supersede nothing). reads: the reads since, at most one per
 * thread, none ordered before another kept access of the same list.
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
};

struct racedet *racedet__new(struct hb *hb)
{
	struct racedet *rd = calloc(1, sizeof(*rd));

	if (!rd)
		goto err;
	rd->hb = hb;
	rd->word_index = keymap__new();
	rd->reported = keymap__new();
	if (!rd->word_index || !rd->reported)
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
	keymap__free(rd->word_index);
	keymap__free(rd->reported);
	free(rd);
}

size_t racedet__nr_words(const struct racedet *rd)
{
	return rd->nr_words;
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

static int array_reserve(void **items, size_t *cap, size_t nr, size_t elem)
{
	size_t ncap;
	void *p;

	if (nr < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	p = realloc(*items, ncap * elem);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = ncap;
	return 0;
}

static struct ipcrace_key word_key(const struct ipcrace_event *e)
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

static int word_get(struct racedet *rd, const struct ipcrace_key *k, size_t *out)
{
	__u64 v;
	int err;

	if (keymap__get(rd->word_index, k, &v)) {
		*out = v;
		return 0;
	}
	err = array_reserve((void **)&rd->words, &rd->cap_words, rd->nr_words,
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
	return a->info.flags & EVF_WRITE;
}

static bool access_is_atomic(const struct race_access *a)
{
	return a->info.flags & EVF_ATOMIC;
}

/* Where the code is: the stack when there is one, else the exact ip. */
static __u64 access_location(const struct race_access *a)
{
	return a->info.stack_id ? a->info.stack_id : a->info.ip;
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

static bool access_conflicts(const struct racedet *rd, const struct race_access *prev,
			     const struct race_access *cur)
{
	if (!access_is_write(prev) && !access_is_write(cur))
		return false;
	/*
	 * A word some access updates with a LOCK-prefixed or XCHG instruction
	 * is an atomic variable: on x86 its C11 loads and stores (even
	 * seq_cst loads, and relaxed/release stores) are plain moves that
	 * look exactly like unsynchronized accesses. Only plain/plain pairs
	 * are reported (README "Limits").
	 */
	if (access_is_atomic(prev) || access_is_atomic(cur))
		return false;
	return !access_ordered(rd, prev, cur);
}

static int report(struct racedet *rd, size_t word, const struct ipcrace_event *e,
		  const struct race_access *cur, const struct race_access *prev,
		  struct findings *out)
{
	__u64 x = access_location(cur), y = access_location(prev);
	struct ipcrace_key seen = {
		.space = KEY_NONE, .a = word, .b = x < y ? x : y, .c = x < y ? y : x,
	};
	struct finding f;
	__u64 one;
	int err;

	if (keymap__get(rd->reported, &seen, &one))
		return 0;
	err = keymap__set(rd->reported, &seen, 1);
	if (err)
		return err;
	memset(&f, 0, sizeof(f));
	f.kind = FINDING_DATA_RACE;
	f.object.key = word_key(e);
	f.object.addr = e->addr;
	f.object.size = e->arg1;
	f.object.pid = e->pid;
	f.object.obj = OBJ_MEMORY;
	f.accesses[0] = cur->info;
	f.accesses[1] = prev->info;
	f.nr_accesses = 2;
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
 * Drops from list what later accesses cannot race with without racing with
 * cur first: stale accesses, and those ordered before cur.
 */
static void list_prune(const struct racedet *rd, const struct ipcrace_key *k,
		       const struct race_access *cur, struct race_access *list, size_t *nr)
{
	size_t i, kept = 0;

	for (i = 0; i < *nr; i++) {
		if (access_stale(&list[i], cur, k) || access_ordered(rd, &list[i], cur))
			continue;
		list[kept++] = list[i];
	}
	*nr = kept;
}

static int list_append(struct race_access **list, size_t *nr, size_t *cap,
		       const struct race_access *a)
{
	int err = array_reserve((void **)list, cap, *nr, sizeof(**list));

	if (err)
		return err;
	(*list)[(*nr)++] = *a;
	return 0;
}

static void access_fill(const struct ipcrace_event *e, struct hb_epoch ep, __u32 proc,
			const struct finding_object *locks, size_t nr_locks,
			struct race_access *a)
{
	memset(a, 0, sizeof(*a));
	a->ep = ep;
	a->proc = proc;
	a->info.ts = e->ts;
	a->info.stack_id = e->stack_id;
	a->info.ip = e->arg0;
	a->info.pid = e->pid;
	a->info.tid = e->tid;
	a->info.flags = e->flags & (EVF_READ | EVF_WRITE | EVF_ATOMIC);
	memcpy(a->info.comm, e->comm, sizeof(a->info.comm));
	if (nr_locks > FINDING_MAX_LOCKS)
		nr_locks = FINDING_MAX_LOCKS;
	if (nr_locks)
		memcpy(a->info.locks_held, locks, nr_locks * sizeof(*locks));
	a->info.nr_locks = nr_locks;
}

int racedet__access(struct racedet *rd, const struct ipcrace_event *access_event,
		    const struct finding_object *locks_held, size_t nr_locks,
		    struct findings *out)
{
	const struct ipcrace_event *e = access_event;
	struct ipcrace_key k;
	struct race_access cur;
	struct race_word *w;
	struct hb_epoch ep;
	size_t word;
	int err;

	if (e->type != EV_MEM_ACCESS)
		return 0;
	/* makes the thread known with its pid; idempotent for an access */
	err = hb__event(rd->hb, e);
	if (err)
		return err;
	ep = hb__epoch(rd->hb, e->tid);
	if (ep.thread == HB_THREAD_NONE)
		return -ENOMEM;
	k = word_key(e);
	/* the lock library's own accesses to its lock: its protocol, not data */
	if (hb__sync_word(rd->hb, &k))
		return 0;
	access_fill(e, ep, hb__thread_process(rd->hb, ep.thread), locks_held, nr_locks,
		    &cur);
	err = word_get(rd, &k, &word);
	if (err)
		return err;
	w = &rd->words[word];

	err = check_list(rd, word, e, &k, &cur, w->writes, w->nr_writes, out);
	if (!err && access_is_write(&cur))
		err = check_list(rd, word, e, &k, &cur, w->reads, w->nr_reads, out);
	if (err)
		return err;

	if (access_is_write(&cur)) {
		/*
		 * FastTrack: a plain write supersedes what came before (a later
		 * access racing with an older one races with it too). An atomic
		 * one does not: it raced with nobody, so the plain accesses
		 * concurrent with it must still be checked against later ones.
		 */
		if (access_is_atomic(&cur)) {
			list_prune(rd, &k, &cur, w->writes, &w->nr_writes);
			list_prune(rd, &k, &cur, w->reads, &w->nr_reads);
		} else {
			w->nr_writes = 0;
			w->nr_reads = 0;
		}
		return list_append(&w->writes, &w->nr_writes, &w->cap_writes, &cur);
	}
	list_prune(rd, &k, &cur, w->reads, &w->nr_reads);
	return list_append(&w->reads, &w->nr_reads, &w->cap_reads, &cur);
}
