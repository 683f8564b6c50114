// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Synchronization visibility (syncvis.h): per process, the first reason
 * its synchronization cannot all be seen; the data races it takes part in
 * become candidates.
 */
#include <errno.h>
#include <stdlib.h>
#include "array.h"
#include "identity.h"
#include "lock_extent.h"
#include "syncvis.h"

/* A word of one process: bits for what touched it, an index for details. */
#define WORD_PROBE_ATOMIC	(1ull << 0)	/* an access probe recorded an atomic on it */
#define WORD_WATCH_ATOMIC	(1ull << 1)	/* a watchpoint hit decoded an atomic on it */
#define WORD_FUTEX		(1ull << 2)	/* a futex call named it */
#define WORD_PROBE_ACCESS	(1ull << 3)	/* an access probe recorded any access of it */
#define WORD_LOCK		(1ull << 4)	/* inside a lock object a lock call named */
#define WORD_FLAGS		0xffull
#define WORD_INDEX_SHIFT	8		/* the rest: 1 + index in sv->details, 0: none */

#define LOCK_SEEN_SLOTS		64

/* The first time a word was seen in a way that may make its process unseen. */
struct word_detail {
	struct ipcrace_key word;
	__u64 addr;		/* the instruction (atomic), the word (futex) */
	__u64 ts;
	__u32 pid;
	__u32 why;		/* SYNCVIS_WATCHED_ATOMIC or SYNCVIS_FOREIGN_FUTEX */
};

/* watch_tids: the first thread a watchpoint saw on a private word, + 1; this bit: and another */
#define WATCH_TID_OTHERS	(1ull << 63)

struct syncvis {
	struct keymap *words;		/* (pid, word) -> WORD_* | detail index */
	struct word_detail *details;
	size_t nr_details, cap_details;
	struct keymap *confirmed;	/* (word, held instruction) -> 1: a hold saw a conflict */
	struct keymap *procs;		/* pid -> 1 + index in unseen */
	struct keymap *watch_tids;	/* (pid, private word) -> WATCH_TID_* (watchpoint hits) */
	struct finding_unseen *unseen;	/* the first reason per process */
	size_t nr_unseen, cap_unseen;
	bool classified;
	/*
	 * Lock objects whose words are marked already (direct-mapped): one
	 * lock is taken and released over and over, and marking its words
	 * again is a lookup per word for nothing (marks are never cleared).
	 */
	struct lock_seen {
		struct ipcrace_key key;
		__u32 pid;
		__u16 obj;
		bool valid;
	} lock_seen[LOCK_SEEN_SLOTS];
};

struct syncvis *syncvis__new(void)
{
	struct syncvis *sv = calloc(1, sizeof(*sv));

	if (!sv)
		return NULL;
	sv->words = keymap__new();
	sv->procs = keymap__new();
	sv->confirmed = keymap__new();
	sv->watch_tids = keymap__new();
	if (!sv->words || !sv->procs || !sv->confirmed || !sv->watch_tids) {
		syncvis__free(sv);
		errno = ENOMEM;
		return NULL;
	}
	return sv;
}

void syncvis__free(struct syncvis *sv)
{
	if (!sv)
		return;
	keymap__free(sv->words);
	keymap__free(sv->procs);
	keymap__free(sv->confirmed);
	keymap__free(sv->watch_tids);
	free(sv->details);
	free(sv->unseen);
	free(sv);
}

/*
 * The word as one process sees it: its key with the pid folded into the
 * offset's top bits (shared objects larger than 1 TiB alias, which only
 * merges two words' flags).
 */
static struct ipcrace_key proc_word(__u32 pid, const struct ipcrace_key *word)
{
	struct ipcrace_key k = *word;

	k.c = (word->c & ((1ull << 40) - 1)) | ((__u64)pid << 40);
	k.__pad = 0;
	return k;
}

static struct ipcrace_key proc_key(__u32 pid)
{
	return (struct ipcrace_key){ .space = KEY_NONE, .a = pid, .b = 1 };
}

/* Records why pid is unseen, the first reason only. 0 or -ENOMEM. */
static int process_unseen(struct syncvis *sv, const struct finding_unseen *u)
{
	struct ipcrace_key k = proc_key(u->pid);
	__u64 v;
	int err;

	if (keymap__get(sv->procs, &k, &v))
		return 0;
	err = array__reserve(&sv->unseen, &sv->cap_unseen, sv->nr_unseen + 1,
			     sizeof(*sv->unseen));
	if (err)
		return err;
	sv->unseen[sv->nr_unseen] = *u;
	err = keymap__set(sv->procs, &k, sv->nr_unseen + 1);
	if (!err)
		sv->nr_unseen++;
	return err;
}

/* Sets bits on the word of pid, and keeps the first detail given. */
static int word_mark(struct syncvis *sv, __u32 pid, const struct ipcrace_key *word,
		     __u64 bits, const struct word_detail *detail)
{
	struct ipcrace_key k = proc_word(pid, word);
	__u64 v = 0;
	int err;

	keymap__get(sv->words, &k, &v);
	if (detail && !(v >> WORD_INDEX_SHIFT)) {
		err = array__reserve(&sv->details, &sv->cap_details, sv->nr_details + 1,
				     sizeof(*sv->details));
		if (err)
			return err;
		sv->details[sv->nr_details++] = *detail;
		v |= (__u64)sv->nr_details << WORD_INDEX_SHIFT;
	}
	if ((v | bits) == v)
		return 0;
	return keymap__set(sv->words, &k, v | bits);
}

static bool memory_key(const struct ipcrace_key *k)
{
	return k->space == KEY_FILE || k->space == KEY_PRIVATE;
}

/* The 8-byte word holding byte off of the object at k. */
static struct ipcrace_key object_word(const struct ipcrace_key *k, __u64 off)
{
	struct ipcrace_key w = *k;

	if (w.space == KEY_PRIVATE)
		w.b = (w.b + off) & ~7ull;
	else
		w.c = (w.c + off) & ~7ull;
	return w;
}

/*
 * A lock call (pthread, semaphore, condition variable...) named a lock
 * object: its words are a lock ipcrace knows, whoever calls futex on them.
 * Futex calls themselves name no lock (hb.c counts them as sync words).
 */
__attribute__((noinline)) static int lock_words_mark(struct syncvis *sv, const struct ipcrace_event *e,
			   struct lock_seen *seen)
{
	struct ipcrace_key w;
	__u64 size, off;
	int err = 0;

	size = lock_extent__size(e->obj);
	if (!size)
		return 0;
	for (off = 0; off < size + 7 && !err; off += 8) {
		w = object_word(&e->key, off < size ? off : size - 1);
		err = word_mark(sv, e->pid, &w, WORD_LOCK, NULL);
	}
	if (!err)
		*seen = (struct lock_seen){ .key = e->key, .pid = e->pid, .obj = e->obj, .valid = true };
	return err;
}

/* Inline in syncvis__note: most events are lock calls on a lock marked already. */
static inline int lock_words(struct syncvis *sv, const struct ipcrace_event *e)
{
	struct lock_seen *seen;

	if (e->obj == OBJ_FUTEX || !memory_key(&e->key))
		return 0;
	seen = &sv->lock_seen[(e->key.a ^ e->key.b ^ e->key.c ^ e->pid) *
			      0x9e3779b97f4a7c15ull >> 58];
	if (seen->valid && seen->pid == e->pid && seen->obj == e->obj &&
	    ipcrace_key__equal(&seen->key, &e->key))
		return 0;
	return lock_words_mark(sv, e, seen);
}

/*
 * A held access's word and instruction: a race with this access on this
 * word is confirmed. The word to 8 bytes, so that accesses of other widths
 * at it match; the instruction folded into the key's padding-free fields.
 */
static struct ipcrace_key held_key(const struct ipcrace_key *word, __u64 ip)
{
	struct ipcrace_key k = object_word(word, 0);

	k.space |= 0x100;	/* no other key of this map looks like it */
	k.a ^= ip * 0x9e3779b97f4a7c15ull;
	k.__pad = 0;
	return k;
}

/* Longest x86 instruction: a watchpoint hit's instruction ends this close before its ip. */
#define INSN_MAX 15

/*
 * Was one of the finding's accesses held while another thread wrote the
 * word? A hold names the exact instruction (it is made at an access
 * probe); an access seen by a watchpoint names the instruction after it
 * (the debug register reports the access once it ran: a thread whose
 * probe spent its budget or was detached is seen that way only), so a
 * hold at most INSN_MAX bytes before that is taken for it.
 */
static bool confirmed(const struct syncvis *sv, const struct finding *f)
{
	struct ipcrace_key k;
	__u64 one, ip;
	size_t j;

	for (j = 0; j < f->nr_accesses && j < 2; j++) {
		ip = f->accesses[j].ip;
		for (__u64 back = 0; ip && back <= INSN_MAX && back < ip; back++) {
			k = held_key(&f->object.key, ip - back);
			if (keymap__get(sv->confirmed, &k, &one))
				return true;
		}
	}
	return false;
}

/*
 * A watchpoint hit on a private word: which threads the watchpoints saw
 * touch it. Hits are few (traps are budgeted): one lookup each.
 */
static int watch_tid_note(struct syncvis *sv, const struct ipcrace_event *e,
			  const struct ipcrace_key *word)
{
	struct ipcrace_key k = proc_word(e->pid, word);
	__u64 v = 0;

	if (!keymap__get(sv->watch_tids, &k, &v))
		return keymap__set(sv->watch_tids, &k, (__u64)e->tid + 1);
	if ((v & WATCH_TID_OTHERS) || (v & ~WATCH_TID_OTHERS) == (__u64)e->tid + 1)
		return 0;
	return keymap__set(sv->watch_tids, &k, v | WATCH_TID_OTHERS);
}

/*
 * An atomic orders threads only when two touch its word: a private word
 * the watchpoints saw one thread alone touch (a thread's own libc state:
 * its cancellation flags, changed by atomics at every cancellation point)
 * orders nothing they saw. Shared words keep the rule: the other side may
 * be another process's, watched apart.
 */
static bool watched_by_one_thread(const struct syncvis *sv, const struct word_detail *d)
{
	struct ipcrace_key w = object_word(&d->word, 0);
	struct ipcrace_key k = proc_word(d->pid, &w);
	__u64 v = 0;

	if (d->word.space != KEY_PRIVATE || !keymap__get(sv->watch_tids, &k, &v))
		return false;
	return !(v & WATCH_TID_OTHERS);
}

/* syncvis__note for every event but lock calls. */
/* out of line: its frame would be every lock event's */
__attribute__((noinline)) static int note_other(struct syncvis *sv, const struct ipcrace_event *e)
{
	struct finding_unseen u;
	struct word_detail d;
	struct ipcrace_key k;

	switch (e->type) {
	case EV_CONFIRM_HOLD:
		/* the word changed while this access was held: a conflict */
		if (!e->result || !memory_key(&e->key))
			return 0;
		k = held_key(&e->key, e->arg0);
		return keymap__set(sv->confirmed, &k, 1);
	case EV_SYNC_UNSEEN:
		u = (struct finding_unseen){
			.addr = e->addr, .count = e->arg0, .ts = e->ts,
			.why = SYNCVIS_UNPROBED_CODE, .pid = e->pid,
		};
		return process_unseen(sv, &u);
	case EV_MEM_ACCESS:
		if (!memory_key(&e->key))
			return 0;
		/*
		 * By 8-byte word, as the other marks: a watchpoint names the
		 * word it watches, a probe the byte its access starts at (an
		 * atomic int at +4 of a watched word is the same one).
		 */
		k = object_word(&e->key, 0);
		if (!(e->flags & EVF_PROBE) && e->key.space == KEY_PRIVATE) {
			int err = watch_tid_note(sv, e, &k);

			if (err)
				return err;
		}
		/* shared words a probe saw accessed: a futex word that is one is seen */
		if (!(e->flags & EVF_ATOMIC))
			return (e->flags & EVF_PROBE) && e->key.space == KEY_FILE ?
			       word_mark(sv, e->pid, &k, WORD_PROBE_ACCESS, NULL) : 0;
		if (e->flags & EVF_PROBE)
			return word_mark(sv, e->pid, &k, WORD_PROBE_ATOMIC, NULL);
		d = (struct word_detail){
			.word = e->key, .addr = e->arg0, .ts = e->ts, .pid = e->pid,
			.why = SYNCVIS_WATCHED_ATOMIC,
		};
		return word_mark(sv, e->pid, &k, WORD_WATCH_ATOMIC, &d);
	case EV_FUTEX_WAKE:
	case EV_FUTEX_WAIT_RET:
		/*
		 * Shared memory only: the runtime's own futexes (a thread's
		 * tid at join, malloc's and stdio's locks) are private words.
		 */
		if (e->key.space != KEY_FILE)
			return 0;
		d = (struct word_detail){
			.word = e->key, .addr = e->addr, .ts = e->ts, .pid = e->pid,
			.why = SYNCVIS_FOREIGN_FUTEX,
		};
		k = object_word(&e->key, 0);
		return word_mark(sv, e->pid, &k, WORD_FUTEX, &d);
	default:
		return 0;
	}
}

int syncvis__note(struct syncvis *sv, const struct ipcrace_event *e)
{
	switch (e->type) {
	case EV_LOCK_ATTEMPT:
	case EV_LOCK_ACQUIRED:
	case EV_LOCK_RELEASE:
	case EV_LOCK_DESTROY:
	case EV_SYNC_OBJECT:
	case EV_BARRIER_ARRIVE:
	case EV_BARRIER_DEPART:
	case EV_ONCE_ENTER:
	case EV_ONCE_RET:
		return lock_words(sv, e);
	default:
		return note_other(sv, e);
	}
}

/* Is the word's detail a reason its process is unseen? */
static bool detail_unseen(const struct syncvis *sv, const struct hb *hb,
			  const struct word_detail *d)
{
	struct ipcrace_key w = object_word(&d->word, 0);
	struct ipcrace_key k = proc_word(d->pid, &w);
	__u64 v = 0;

	keymap__get(sv->words, &k, &v);
	switch ((enum syncvis_why)d->why) {
	case SYNCVIS_WATCHED_ATOMIC:
		/* a pthread lock's own atomic (libc's CAS) is a lock ipcrace knows */
		return !(v & (WORD_PROBE_ATOMIC | WORD_LOCK)) && !watched_by_one_thread(sv, d);
	case SYNCVIS_FOREIGN_FUTEX:
		return !(v & (WORD_PROBE_ACCESS | WORD_PROBE_ATOMIC | WORD_LOCK)) &&
		       !(hb && hb__atomic_location(hb, &d->word));
	case SYNCVIS_VISIBLE:
	case SYNCVIS_UNPROBED_CODE:
	case SYNCVIS_SAMPLED:
		break;
	}
	return false;
}

bool syncvis__process_unseen(const struct syncvis *sv, __u32 pid, struct finding_unseen *out)
{
	struct ipcrace_key k = proc_key(pid);
	__u64 v;

	if (!keymap__get(sv->procs, &k, &v) || !v || v > sv->nr_unseen)
		return false;
	if (out)
		*out = sv->unseen[v - 1];
	return true;
}

int syncvis__classify(struct syncvis *sv, const struct hb *hb, struct findings *fs)
{
	struct finding_unseen u;
	size_t i, j;
	int err;

	if (!sv->classified) {
		/* in stream order: a process's first reason is its earliest */
		for (i = 0; i < sv->nr_details; i++) {
			const struct word_detail *d = &sv->details[i];

			if (!detail_unseen(sv, hb, d))
				continue;
			u = (struct finding_unseen){
				.addr = d->addr, .ts = d->ts, .why = d->why, .pid = d->pid,
			};
			err = process_unseen(sv, &u);
			if (err)
				return err;
		}
		sv->classified = true;
	}
	for (i = 0; i < fs->nr; i++) {
		struct finding *f = &fs->items[i];

		if (f->kind != FINDING_DATA_RACE || f->status != FINDING_PREDICTED)
			continue;
		for (j = 0; j < f->nr_accesses && j < 2; j++) {
			if (syncvis__process_unseen(sv, f->accesses[j].pid, &f->unseen)) {
				f->status = confirmed(sv, f) ? FINDING_CONFIRMED : FINDING_CANDIDATE;
				break;
			}
		}
	}
	return 0;
}

const char *syncvis_why__describe(enum syncvis_why why)
{
	switch (why) {
	case SYNCVIS_VISIBLE:
		return "all its synchronization is visible";
	case SYNCVIS_UNPROBED_CODE:
		return "atomic instructions in code the access probes do not cover";
	case SYNCVIS_WATCHED_ATOMIC:
		return "an atomic seen only by a watchpoint, in code the access probes do not see";
	case SYNCVIS_FOREIGN_FUTEX:
		return "futex calls on a shared word no known lock owns and no probe saw accessed";
	case SYNCVIS_SAMPLED:
		return "its lock probes were off for a sampling window (--overhead) between the "
		       "two accesses";
	}
	return "unknown";
}

const char *syncvis_why__name(enum syncvis_why why)
{
	switch (why) {
	case SYNCVIS_VISIBLE:
		return "visible";
	case SYNCVIS_UNPROBED_CODE:
		return "unprobed-code";
	case SYNCVIS_WATCHED_ATOMIC:
		return "watched-atomic";
	case SYNCVIS_FOREIGN_FUTEX:
		return "foreign-futex";
	case SYNCVIS_SAMPLED:
		return "sampled";
	}
	return "unknown";
}
