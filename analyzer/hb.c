// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The happens-before order (hb.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "hb.h"
#include "hb_internal.h"
#include "lock_extent.h"

#ifndef EOWNERDEAD
#define EOWNERDEAD 130
#endif

struct hb *hb__new(void)
{
	struct hb *hb = calloc(1, sizeof(*hb));

	if (!hb)
		goto err;
	hb->tids = keymap__new();
	hb->pids = keymap__new();
	hb->obj_index = keymap__new();
	hb->pthreads = keymap__new();
	hb->sync_words = keymap__new();
	hb->barrier_index = keymap__new();
	hb->atomics = keymap__new();
	if (!hb->tids || !hb->pids || !hb->obj_index || !hb->pthreads || !hb->sync_words ||
	    !hb->barrier_index || !hb->atomics)
		goto err_free;
	return hb;
err_free:
	hb__free(hb);
err:
	errno = ENOMEM;
	return NULL;
}

void hb__free(struct hb *hb)
{
	size_t i;

	if (!hb)
		return;
	for (i = 0; i < hb->ids.nr; i++) {
		vclock__fini(&hb->threads[i].vc);
		free(hb->threads[i].rw);
	}
	for (i = 0; i < hb->nr_procs; i++)
		vclock__fini(&hb->procs[i].exit_vc);
	for (i = 0; i < hb->nr_objs; i++) {
		vclock__fini(&hb->objs[i].vc);
		vclock__fini(&hb->objs[i].read_vc);
	}
	free(hb->threads);
	free(hb->procs);
	free(hb->objs);
	keymap__free(hb->tids);
	keymap__free(hb->pids);
	keymap__free(hb->obj_index);
	keymap__free(hb->pthreads);
	keymap__free(hb->sync_words);
	hb_sync__free(hb);
	free(hb);
}

/* --- processes ------------------------------------------------------------- */

/* A new incarnation of pid, its exit clock a copy of from's (or empty). */
int proc_new(struct hb *hb, __u32 pid, const struct hb_proc *from, __u32 *out)
{
	struct ipcrace_key k = id_key(pid, 0);
	const struct vclock *from_vc = NULL;
	struct hb_proc *p;
	size_t from_idx = from ? (size_t)(from - hb->procs) : 0;
	int err;

	err = array__reserve(&hb->procs, &hb->cap_procs, hb->nr_procs + 1,
			     sizeof(*hb->procs));
	if (err)
		return err;
	if (from)
		from_vc = &hb->procs[from_idx].exit_vc;	/* procs may have moved */
	p = &hb->procs[hb->nr_procs];
	p->pid = pid;
	vclock__init(&p->exit_vc);
	if (from_vc) {
		err = vclock__copy(&p->exit_vc, from_vc);
		if (err)
			return err;
	}
	err = keymap__set(hb->pids, &k, hb->nr_procs);
	if (err) {
		vclock__fini(&p->exit_vc);
		return err;
	}
	*out = hb->nr_procs++;
	return 0;
}

bool proc_find(const struct hb *hb, __u32 pid, __u32 *out)
{
	struct ipcrace_key k = id_key(pid, 0);
	__u64 v;

	if (!keymap__get(hb->pids, &k, &v))
		return false;
	*out = v;
	return true;
}

static int proc_get(struct hb *hb, __u32 pid, __u32 *out)
{
	if (proc_find(hb, pid, out))
		return 0;
	return proc_new(hb, pid, NULL, out);
}

/* --- threads --------------------------------------------------------------- */

/* A new thread for tid in incarnation proc: own component 1, the rest 0. */
int thread_new(struct hb *hb, __u32 tid, __u32 proc, __u32 *out)
{
	struct ipcrace_key k = id_key(tid, 0);
	struct hb_thread *t;
	__u32 idx;
	int err;

	err = array__reserve(&hb->threads, &hb->cap_threads, hb->ids.nr + 1,
			     sizeof(*hb->threads));
	if (err)
		return err;
	hb->last_tid_valid = false;
	memset(hb->tid_cache, 0, sizeof(hb->tid_cache));
	hb->last_lock.valid = false;
	err = keymap__set(hb->tids, &k, hb->ids.nr);
	if (err)
		return err;
	err = vclock_ids__alloc(&hb->ids, &idx);
	if (err)
		return err;
	t = &hb->threads[idx];
	memset(t, 0, sizeof(*t));
	vclock__init(&t->vc);
	t->tid = tid;
	t->proc = proc;
	t->spawned = HB_THREAD_NONE;
	/* epoch clock 0 means "before anything": a thread's first epoch is 1 */
	err = vclock__set(&t->vc, idx, 1);
	if (err)
		return err;
	*out = idx;
	return 0;
}

__u32 hb__thread_of(const struct hb *hb, __u32 tid)
{
	struct ipcrace_key k = id_key(tid, 0);
	__u64 v;

	/* v >= nr: the map was updated but the thread never got its index */
	return keymap__get(hb->tids, &k, &v) && v < hb->ids.nr ? (__u32)v : HB_THREAD_NONE;
}

/*
 * The thread of an event from (pid, tid). A tid never announced, or whose
 * thread exited or lived in another process (a fork or spawn event lost),
 * starts a fresh thread with an empty clock.
 */
static int thread_get(struct hb *hb, __u32 pid, __u32 tid, __u32 *out)
{
	__u32 idx, proc;
	int err;

	if (hb->last_tid_valid && hb->last_tid == tid) {
		idx = hb->last_tid_idx;
	} else {
		struct hb_tid_cached *c = &hb->tid_cache[tid & (HB_CACHE_SLOTS - 1)];

		if (!c->valid || c->tid != tid)
			*c = (struct hb_tid_cached){ true, tid, hb__thread_of(hb, tid) };
		idx = c->idx;
		hb->last_tid = tid;
		hb->last_tid_idx = idx;
		hb->last_tid_valid = true;
	}
	if (idx != HB_THREAD_NONE && !hb->threads[idx].exited &&
	    hb->procs[hb->threads[idx].proc].pid == pid) {
		*out = idx;
		return 0;
	}
	err = proc_get(hb, pid, &proc);
	if (err)
		return err;
	return thread_new(hb, tid, proc, out);
}

int hb_thread_tick(struct hb *hb, __u32 idx)
{
	return vclock__tick(&hb->threads[idx].vc, idx);
}

struct hb_epoch hb__epoch(struct hb *hb, __u32 tid)
{
	struct hb_epoch ep = { HB_THREAD_NONE, 0 };
	__u32 idx = hb__thread_of(hb, tid), proc;

	if (idx == HB_THREAD_NONE) {
		/* no event named it: guess a main thread (pid == tid) */
		if (proc_get(hb, tid, &proc) || thread_new(hb, tid, proc, &idx))
			return ep;
	}
	ep.thread = idx;
	ep.clock = vclock__get(&hb->threads[idx].vc, idx);
	return ep;
}

bool hb__ordered_before_thread(const struct hb *hb, struct hb_epoch earlier,
			       __u32 later_thread)
{
	if (earlier.thread == HB_THREAD_NONE)
		return false;
	if (later_thread >= hb->ids.nr)
		return earlier.clock == 0;
	return earlier.clock <= vclock__get(&hb->threads[later_thread].vc, earlier.thread);
}

bool hb__ordered_before(const struct hb *hb, struct hb_epoch earlier, __u32 later_tid)
{
	return hb__ordered_before_thread(hb, earlier, hb__thread_of(hb, later_tid));
}

__u32 hb__thread_process(const struct hb *hb, __u32 thread)
{
	return thread < hb->ids.nr ? hb->threads[thread].proc : (__u32)-1;
}

/* --- sync objects ---------------------------------------------------------- */

struct ipcrace_key hb_tagged_key(struct ipcrace_key k, enum hb_obj_class cls)
{
	k.space |= (__u32)cls << 16;
	k.__pad = 0;
	return k;
}

bool hb_obj_key(const struct ipcrace_event *e, enum hb_obj_class cls, struct ipcrace_key *out)
{
	*out = e->key;
	if (out->space == KEY_NONE) {
		/* a channel has no address to fall back on (unresolved sendto) */
		if (!e->addr || cls == HB_CLASS_CHAN || cls == HB_CLASS_CONNECT)
			return false;
		/* same fallback as identity__event_key: never merges two processes */
		out->space = KEY_PRIVATE;
		out->a = e->pid;
		out->b = e->addr;
		out->c = 0;
	}
	*out = hb_tagged_key(*out, cls);
	return true;
}

static unsigned obj_cache_slot(const struct ipcrace_key *k)
{
	return (k->a ^ k->b ^ k->c ^ k->space) * 0x9e3779b97f4a7c15ull >> (64 - HB_CACHE_BITS);
}

struct hb_obj *hb_obj_find(const struct hb *hb, const struct ipcrace_key *k)
{
	const struct hb_obj_cached *c = &hb->obj_cache[obj_cache_slot(k)];
	__u64 v;

	if (c->valid && ipcrace_key__equal(&c->key, k))
		return &hb->objs[c->idx];
	return keymap__get(hb->obj_index, k, &v) ? &hb->objs[v] : NULL;
}

/* hb_obj_find, remembering what it found for the next lookups. */
static struct hb_obj *obj_lookup(struct hb *hb, const struct ipcrace_key *k)
{
	struct hb_obj_cached *c = &hb->obj_cache[obj_cache_slot(k)];
	struct hb_obj *o;
	__u64 v;

	if (c->valid && ipcrace_key__equal(&c->key, k))
		return &hb->objs[c->idx];
	if (!keymap__get(hb->obj_index, k, &v))
		return NULL;
	o = &hb->objs[v];
	*c = (struct hb_obj_cached){ .valid = true, .key = *k, .idx = v };
	return o;
}

int hb_obj_get(struct hb *hb, const struct ipcrace_key *k, struct hb_obj **out)
{
	struct hb_obj *o = obj_lookup(hb, k);
	int err;

	if (!o) {
		err = array__reserve(&hb->objs, &hb->cap_objs, hb->nr_objs + 1,
				     sizeof(*hb->objs));
		if (err)
			return err;
		err = keymap__set(hb->obj_index, k, hb->nr_objs);
		if (err)
			return err;
		o = &hb->objs[hb->nr_objs++];
		vclock__init(&o->vc);
		vclock__init(&o->read_vc);
		o->vc_within = 0;
	}
	*out = o;
	return 0;
}

/* Release: the object learns everything the thread did so far; then tick. */
int hb_release(struct hb *hb, __u32 t, struct vclock *obj_vc)
{
	int err = vclock__join(obj_vc, &hb->threads[t].vc);

	return err ? err : hb_thread_tick(hb, t);
}

int hb_release_to(struct hb *hb, const struct ipcrace_event *e, __u32 t, enum hb_obj_class cls)
{
	struct ipcrace_key k;
	struct hb_obj *o;
	int err;

	if (!hb_obj_key(e, cls, &k))
		return 0;
	err = hb_obj_get(hb, &k, &o);
	return err ? err : hb_release(hb, t, &o->vc);
}

int hb_acquire_from(struct hb *hb, const struct ipcrace_event *e, __u32 t,
		    enum hb_obj_class cls)
{
	struct ipcrace_key k;
	struct hb_obj *o;

	if (!hb_obj_key(e, cls, &k))
		return 0;
	o = obj_lookup(hb, &k);
	/* nothing was ever released into it: nothing to learn */
	return o ? vclock__join(&hb->threads[t].vc, &o->vc) : 0;
}

/* --- locks ----------------------------------------------------------------- */

/* The lock was taken: 0, or EOWNERDEAD from a robust mutex whose owner died. */
static bool lock_acquired(const struct ipcrace_event *e)
{
	return e->result == 0 || e->result == EOWNERDEAD;
}

static int rw_hold_push(struct hb_thread *th, const struct ipcrace_key *k, bool write)
{
	int err;

	err = array__reserve(&th->rw, &th->cap_rw, th->nr_rw + 1, sizeof(*th->rw));
	if (err)
		return err;
	th->rw[th->nr_rw].key = *k;
	th->rw[th->nr_rw].write = write;
	th->nr_rw++;
	return 0;
}

/*
 * Which side of rwlock k the thread gives up: its latest hold of k. A lock
 * we never saw taken (attach mode) counts as written: more order, fewer
 * false reports.
 */
static bool rw_hold_pop(struct hb_thread *th, const struct ipcrace_key *k)
{
	size_t i = th->nr_rw;
	bool write;

	while (i--) {
		if (!ipcrace_key__equal(&th->rw[i].key, k))
			continue;
		write = th->rw[i].write;
		memmove(&th->rw[i], &th->rw[i + 1], (th->nr_rw - i - 1) * sizeof(*th->rw));
		th->nr_rw--;
		return write;
	}
	return true;
}

/* A lock released into o by thread t: o's clock is within t's from now on. */
static int lock_release_into(struct hb *hb, struct hb_obj *o, __u32 t)
{
	int err = vclock__join(&o->vc, &hb->threads[t].vc);

	o->vc_within = err ? 0 : t + 1;
	return err ? err : hb_thread_tick(hb, t);
}

/* A lock acquired from o by thread t (o NULL: never released). */
static int lock_acquire_from(struct hb *hb, const struct hb_obj *o, __u32 t)
{
	/* its own release was the last: it knows all of it */
	if (!o || o->vc_within == t + 1)
		return 0;
	return vclock__join(&hb->threads[t].vc, &o->vc);
}

static int lock_release(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct ipcrace_key k;
	struct hb_obj *o;
	bool write;
	int err;

	if (!hb_obj_key(e, HB_CLASS_LOCK, &k))
		return 0;
	if (e->obj != OBJ_RWLOCK) {
		err = hb_obj_get(hb, &k, &o);
		return err ? err : lock_release_into(hb, o, t);
	}
	write = rw_hold_pop(&hb->threads[t], &k);
	err = hb_obj_get(hb, &k, &o);
	if (err)
		return err;
	/* readers' releases are not in vc: no thread is known to hold all */
	o->vc_within = 0;
	return hb_release(hb, t, write ? &o->vc : &o->read_vc);
}

static int lock_acquire(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct ipcrace_key k;
	struct hb_obj *o;
	bool write;
	int err;

	if (!lock_acquired(e))
		return 0;
	if (!hb_obj_key(e, HB_CLASS_LOCK, &k))
		return 0;
	if (e->obj != OBJ_RWLOCK)
		return lock_acquire_from(hb, obj_lookup(hb, &k), t);
	write = !(e->flags & EVF_READ);
	err = rw_hold_push(&hb->threads[t], &k, write);
	if (err)
		return err;
	o = hb_obj_find(hb, &k);
	if (!o)
		return 0;
	err = vclock__join(&hb->threads[t].vc, &o->vc);
	/* a writer waits for the readers too; a reader only for writers */
	if (!err && write)
		err = vclock__join(&hb->threads[t].vc, &o->read_vc);
	return err;
}

/* The 8-byte word that holds byte off of the object at k (a word key). */
static struct ipcrace_key sync_word_key(const struct ipcrace_key *k, __u64 off)
{
	struct ipcrace_key w = *k;

	if (w.space == KEY_PRIVATE)
		w.b = (w.b + off) & ~7ull;
	else
		w.c = (w.c + off) & ~7ull;
	w.__pad = 0;
	return w;
}

/*
 * A lock call names its object: remember the words it spans. The library
 * reads and writes them itself, partly with plain instructions (glibc sets
 * a mutex's owner after the acquiring CAS, before pthread_mutex_lock
 * returns, and clears it after the unlock event; sem_wait loads the value
 * with a plain move): the lock's own protocol, never a data race. The
 * attempt comes before any of that, so the words are known in time.
 */
static int sync_words_add(struct hb *hb, const struct ipcrace_event *e)
{
	__u64 size = lock_extent__size(e->obj), off, one;
	struct ipcrace_key k, w;
	int err;

	if (!size || !hb_obj_key(e, HB_CLASS_NONE, &k))
		return 0;
	if (hb->last_sync_valid && ipcrace_key__equal(&k, &hb->last_sync_obj))
		return 0;
	w = sync_word_key(&k, 0);
	if (keymap__get(hb->sync_words, &w, &one))
		goto out_last;
	for (off = 0; off < size; off += 8) {
		w = sync_word_key(&k, off);
		err = keymap__set(hb->sync_words, &w, 1);
		if (err)
			return err;
	}
	/* an object not 8-aligned ends in one more word */
	w = sync_word_key(&k, size - 1);
	err = keymap__set(hb->sync_words, &w, 1);
	if (err)
		return err;
out_last:
	hb->last_sync_obj = k;
	hb->last_sync_valid = true;
	return 0;
}

bool hb__sync_word(const struct hb *hb, const struct ipcrace_key *word)
{
	struct ipcrace_key w = sync_word_key(word, 0);
	__u64 one;

	return keymap__get(hb->sync_words, &w, &one);
}

/* --- events ---------------------------------------------------------------- */

/* A receive created an edge only if it got data. */
static bool chan_got_data(const struct ipcrace_event *e)
{
	if (e->result < 0)
		return false;
	return e->result > 0 || e->arg0 > 0;
}

/*
 * Lost events (EVF_AFTER_LOSS) need no reset here. A lost event only
 * withholds order: a lost release or acquire leaves the acquirer's clock
 * without the releaser's history up to the release, a lost fork leaves the
 * child without the parent's; all of that happened before the loss, and
 * the race detector never compares an access from before a loss with one
 * from after (racedet__forget). No clock gains order it should not have.
 * Bookkeeping can still go stale: a lost EV_THREAD_SPAWN or
 * EV_THREAD_CREATE_RET leaves a pthread_t unnamed (or, with a stale
 * `spawned`, misnamed), so a later pthread_join orders nothing and the
 * joined thread's accesses after the loss can be reported against the
 * joiner's; a lost EV_EXIT keeps a tid's thread alive and a lost rwlock
 * acquisition makes its release count as a write, both more order, never a
 * false race.
 */
/* Out of line: its frame would be every lock event's. */
__attribute__((noinline)) static int hb_event(struct hb *hb, const struct ipcrace_event *e);
static int hb_event_of(struct hb *hb, const struct ipcrace_event *e, __u32 t);

/* Is e an event of hb->last_lock's thread on that lock that needs no lookup? */
static bool last_lock_event(const struct hb *hb, const struct ipcrace_event *e)
{
	const struct hb_last_lock *l = &hb->last_lock;

	if (!l->valid || e->type < EV_LOCK_ATTEMPT || e->type > EV_LOCK_RELEASE ||
	    e->tid != l->tid || e->pid != l->pid || e->obj != l->obj ||
	    !ipcrace_key__equal(&e->key, &l->key))
		return false;
	/* a first release makes the object: the usual path */
	return e->type != EV_LOCK_RELEASE || l->obj_idx != HB_NO_OBJ;
}

/*
 * What hb__event does for such an event: its sync words are known and its
 * thread is the same since the last one (nothing else came in between).
 */
static int last_lock__event(struct hb *hb, const struct ipcrace_event *e)
{
	const struct hb_last_lock *l = &hb->last_lock;

	switch (e->type) {
	case EV_LOCK_ACQUIRED:
		if (!lock_acquired(e) || l->obj_idx == HB_NO_OBJ)
			return 0;
		return lock_acquire_from(hb, &hb->objs[l->obj_idx], l->thread);
	case EV_LOCK_RELEASE:
		return lock_release_into(hb, &hb->objs[l->obj_idx], l->thread);
	default:
		return 0;
	}
}

/* After event e of thread t (done without error): is it a lock last_lock can name? */
static void last_lock_note(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct ipcrace_key k;
	struct hb_obj *o;

	if (e->type < EV_LOCK_ATTEMPT || e->type > EV_LOCK_RELEASE || e->obj == OBJ_RWLOCK ||
	    e->key.space == KEY_NONE)
		return;
	k = hb_tagged_key(e->key, HB_CLASS_LOCK);
	o = obj_lookup(hb, &k);
	hb->last_lock = (struct hb_last_lock){
		.valid = true, .obj = e->obj, .pid = e->pid, .tid = e->tid, .thread = t,
		.key = e->key, .obj_idx = o ? (size_t)(o - hb->objs) : HB_NO_OBJ,
	};
}

int hb__event(struct hb *hb, const struct ipcrace_event *e)
{
	if (last_lock_event(hb, e))
		return last_lock__event(hb, e);
	return hb_event(hb, e);
}

static int hb_event(struct hb *hb, const struct ipcrace_event *e)
{
	__u32 t;
	int err;

	hb->last_lock.valid = false;
	err = thread_get(hb, e->pid, e->tid, &t);
	if (!err && hb->threads[t].load_pending)
		err = hb_atomic__load_ran(hb, e, t);
	if (!err)
		err = hb_event_of(hb, e, t);
	if (!err)
		last_lock_note(hb, e, t);
	return err;
}

/* The edges of event e of thread t. */
static int hb_event_of(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	int err;

	if ((e->type >= EV_LOCK_ATTEMPT && e->type <= EV_LOCK_DESTROY) ||
	    e->type == EV_FUTEX_WAKE || e->type == EV_FUTEX_WAIT_RET ||
	    (e->type >= EV_SYNC_OBJECT && e->type <= EV_ONCE_RET)) {
		err = sync_words_add(hb, e);
		if (err)
			return err;
	}
	switch ((enum ipcrace_event_type)e->type) {
	case EV_FORK:
		return spawn(hb, e, t, true);
	case EV_THREAD_SPAWN:
		return spawn(hb, e, t, false);
	case EV_EXEC:
		return process_exec(hb, e, t);
	case EV_EXIT:
		return thread_exit(hb, t);
	case EV_THREAD_CREATE_RET:
		return thread_created(hb, e, t);
	case EV_THREAD_JOIN_RET:
		return thread_joined(hb, e, t);
	case EV_WAIT_REAPED:
		return process_reaped(hb, e, t);
	case EV_LOCK_RELEASE:
		return lock_release(hb, e, t);
	case EV_LOCK_ACQUIRED:
		return lock_acquire(hb, e, t);
	case EV_CHAN_SEND:
		return hb_release_to(hb, e, t, HB_CLASS_CHAN);
	case EV_CHAN_RECV:
		return chan_got_data(e) ? hb_acquire_from(hb, e, t, HB_CLASS_CHAN) : 0;
	case EV_FUTEX_WAKE:
		return hb_release_to(hb, e, t, HB_CLASS_FUTEX);
	case EV_FUTEX_WAIT_RET:
		return e->result == 0 ? hb_acquire_from(hb, e, t, HB_CLASS_FUTEX) : 0;
	case EV_SYNC_OBJECT:
		return e->obj == OBJ_BARRIER ? hb_barrier__reset(hb, e) : 0;
	case EV_BARRIER_ARRIVE:
		return hb_barrier__arrive(hb, e, t);
	case EV_BARRIER_DEPART:
		return hb_barrier__depart(hb, e, t);
	case EV_ONCE_ENTER:
		return hb_once__enter(hb, e, t);
	case EV_ONCE_RET:
		return hb_once__return(hb, e, t);
	case EV_GUARD_RELEASE:
		return hb_guard__release(hb, e, t);
	case EV_GUARD_ACQUIRE_RET:
		/* 0: another thread initialized it; 1: this one will */
		return hb_guard__acquired(hb, e, t);
	case EV_MEM_ACCESS:
		return hb_atomic__access(hb, e, t);
	case EV_ATOMIC_RELEASE:
		return hb_atomic__release(hb, e, t);
	case EV_SIGNAL_SEND:
		/* sigaction, kill: before every later run of the handler */
		return hb_release_to(hb, e, t, HB_CLASS_SIGNAL);
	case EV_SIGNAL_DELIVER:
		return hb_acquire_from(hb, e, t, HB_CLASS_SIGNAL);
	case EV_CHAN_CONNECT:
		return hb_connect__connect(hb, e, t);
	case EV_CHAN_ACCEPT:
		return hb_connect__accept(hb, e, t);
	case EV_CHAN_OPEN:
		return hb_connect__opened(hb, e, t);
	case EV_LOCK_ATTEMPT:
	case EV_LOCK_DESTROY:
	case EV_MMAP:
	case EV_MUNMAP:
	case EV_MREMAP:
	case EV_SHMAT:
	case EV_SHMDT:
	case EV_NAME_OBJECT:
	case EV_SYNC_UNSEEN:
	case EV_CONFIRM_HOLD:
	case EV_LOCK_GAP:
	case EV_TYPE_MAX:
		break;
	}
	return 0;
}

size_t hb__nr_threads(const struct hb *hb)
{
	return hb->ids.nr;
}

size_t hb__nr_objects(const struct hb *hb)
{
	return hb->nr_objs;
}
