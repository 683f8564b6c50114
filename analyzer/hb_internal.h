/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The happens-before engine's state, shared by its three files: hb.c
 * (threads, processes, locks, channels, futexes, the events' dispatch),
 * hb_thread.c (the lifecycle's edges: fork, spawn, join, exit, wait, exec)
 * and hb_sync.c (barriers, pthread_once, C++ static-initialization guards,
 * connect/accept, atomic variables). Not a public header: everything else
 * goes through hb.h.
 */
#ifndef IPCRACE_HB_INTERNAL_H
#define IPCRACE_HB_INTERNAL_H

#include <stddef.h>
#include "hb.h"
#include "identity.h"
#include "vclock.h"

/* How a thread holds an rwlock: the unlock does not say which side it frees. */
struct hb_rw_hold {
	struct ipcrace_key key;
	bool write;
};

struct hb_thread {
	struct vclock vc;		/* now; frozen at exit, the exit clock */
	__u32 tid;
	__u32 proc;			/* index in hb->procs */
	__u32 spawned;			/* last thread it spawned, for pthread_create */
	bool exited;
	struct hb_rw_hold *rw;
	size_t nr_rw;
	size_t cap_rw;
	/* in pthread_barrier_wait: the barrier (index + 1, 0: none) and round */
	size_t barrier;
	__u64 barrier_round;
	/* in pthread_once: its object, and whether it may run the initializer */
	struct ipcrace_key once;
	bool in_once;
	bool once_may_init;
	/*
	 * A read section (hb_sync.c): the atomic variable this thread loaded
	 * last, its own clock after that load, and how many writes the
	 * variable had then.
	 */
	struct ipcrace_key section_word;
	__u64 section_writes;
	__u32 section_clock;
	bool in_section;
	/*
	 * Its last load of an atomic variable recorded before it ran (the
	 * variable's object index + 1, 0: none) and that record's ts: the load
	 * ran by the thread's next event, and may have read a release that
	 * came in between (hb_atomic__load_ran).
	 */
	size_t load_pending;
	__u64 load_pending_ts;
	/* its atomic RMWs so far, and the last one counted (hb__event may repeat it) */
	__u64 rmws;
	__u64 last_rmw_ts;
	__u64 last_rmw_addr;
};

/* One process incarnation: a pid between fork (or exec) and the next. */
struct hb_proc {
	struct vclock exit_vc;		/* join of its exited threads' clocks */
	__u32 pid;
};

/*
 * A sync object's clock. For an rwlock, vc is what writers released and
 * read_vc what readers released: readers do not order each other.
 */
struct hb_obj {
	struct vclock vc;
	struct vclock read_vc;
	/*
	 * A lock's: the thread (index + 1) whose clock holds all of vc, as
	 * after its own release of the lock (clocks only grow), 0: none
	 * known. Its next acquisition of the lock learns nothing (FastTrack):
	 * no join. Set and cleared by lock releases, the only writers of a
	 * lock's clocks.
	 */
	__u32 vc_within;
};

/* Sync objects of different kinds may share a key (a mutex's futex word). */
enum hb_obj_class {
	HB_CLASS_NONE = 0,		/* untagged: the object's own key */
	HB_CLASS_LOCK = 1,
	HB_CLASS_CHAN,
	HB_CLASS_FUTEX,
	HB_CLASS_ONCE,
	HB_CLASS_CONNECT,
	HB_CLASS_ATOMIC,
	HB_CLASS_SIGNAL,		/* (process, signal number): EV_SIGNAL_* */
};

/*
 * A barrier's rounds: arrivals fill the open round; when count have
 * arrived it closes, and its clock waits for the departures of that round
 * (the last few rounds are kept: a slow thread may depart round r after
 * others arrived at round r + 1).
 */
#define HB_BARRIER_ROUNDS 4

struct hb_barrier {
	struct vclock open;
	struct vclock closed[HB_BARRIER_ROUNDS];
	__u64 closed_round[HB_BARRIER_ROUNDS];	/* round + 1 held there; 0: none */
	__u64 arrivals;			/* since init, or since the count changed */
	__u32 count;			/* threads per round; 0: unknown */
};

/* A TCP connect not yet accepted: who, what it knew, to which listener. */
struct hb_connect {
	struct vclock vc;
	__u64 listener;			/* endpoint connected to */
	__u64 connector;		/* its own endpoint; 0 until connect returns */
	__u32 thread;
};

/* Entries of each lookup cache (a power of two). */
#define HB_CACHE_BITS 4
#define HB_CACHE_SLOTS (1u << HB_CACHE_BITS)

struct hb {
	struct vclock_ids ids;		/* ids.nr threads in threads[] */
	struct hb_thread *threads;
	size_t cap_threads;
	struct keymap *tids;		/* tid -> its current thread */
	struct hb_proc *procs;
	size_t nr_procs;
	size_t cap_procs;
	struct keymap *pids;		/* pid -> its current incarnation */
	struct hb_obj *objs;
	size_t nr_objs;
	size_t cap_objs;
	struct keymap *obj_index;	/* class-tagged key -> objs[] */
	struct keymap *pthreads;	/* (incarnation, pthread_t) -> thread */
	struct keymap *sync_words;	/* 8-byte words of lock objects -> 1 */
	struct hb_barrier *barriers;
	size_t nr_barriers;
	size_t cap_barriers;
	struct keymap *barrier_index;	/* barrier key -> barriers[] */
	struct hb_connect *connects;
	size_t nr_connects;
	size_t cap_connects;
	struct keymap *atomics;		/* byte keys of atomic variables -> size */
	struct keymap *atomic_writes;	/* atomic variable -> writes so far (lazy) */
	struct keymap *discarded;	/* (thread, clock, kind) of epochs (hb_sync.c, lazy) */
	struct keymap *rmw_order;	/* per pid/tid: RMWs, last one's variable; updates */
	/*
	 * The last lookups, because consecutive events mostly come from one
	 * thread and one object: tid -> index in tids (reset by thread_new,
	 * the only writer of tids), and the last object whose words are in
	 * sync_words (which only grows).
	 */
	bool last_tid_valid;
	__u32 last_tid;
	__u32 last_tid_idx;
	bool last_sync_valid;
	struct ipcrace_key last_sync_obj;
	/*
	 * And a few of each, direct-mapped, for threads that take turns on a
	 * few locks: tids (reset with last_tid), sync objects (never
	 * removed: an entry stays true).
	 */
	struct hb_tid_cached {
		bool valid;
		__u32 tid;
		__u32 idx;
	} tid_cache[HB_CACHE_SLOTS];
	struct hb_obj_cached {
		bool valid;
		struct ipcrace_key key;
		size_t idx;
	} obj_cache[HB_CACHE_SLOTS];
	/*
	 * The lock the last event took, asked for or released, with BPF's key
	 * (a mutex, spinlock, semaphore, file lock; no rwlock), and its
	 * thread: a thread takes and releases one lock over and over, and the
	 * next such event of that thread on that lock needs no lookup (its
	 * thread, its sync words and its object are known). Any other event
	 * resets it (hb__event), so nothing can change them in between.
	 */
	struct hb_last_lock {
		bool valid;
		__u16 obj;
		__u32 pid;
		__u32 tid;
		__u32 thread;
		struct ipcrace_key key;		/* as the event named it */
		size_t obj_idx;			/* in objs[]; HB_NO_OBJ until released once */
	} last_lock;
};

#define HB_NO_OBJ ((size_t)-1)

/* A synthetic key of two ids (a tid, a pid, a pthread_t in an incarnation). */
static inline struct ipcrace_key id_key(__u64 a, __u64 b)
{
	struct ipcrace_key k = { .a = a, .b = b, .space = KEY_NONE };

	return k;
}

/* hb.c: processes and threads */
int proc_new(struct hb *hb, __u32 pid, const struct hb_proc *from, __u32 *out);
bool proc_find(const struct hb *hb, __u32 pid, __u32 *out);
int thread_new(struct hb *hb, __u32 tid, __u32 proc, __u32 *out);

/* hb_thread.c: the lifecycle's edges, thread t's event e */
int spawn(struct hb *hb, const struct ipcrace_event *e, __u32 parent, bool fork);
int thread_created(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int thread_joined(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int thread_exit(struct hb *hb, __u32 t);
int process_reaped(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int process_exec(struct hb *hb, const struct ipcrace_event *e, __u32 t);

/* The object's key tagged with its class; false when e names no object. */
bool hb_obj_key(const struct ipcrace_event *e, enum hb_obj_class cls, struct ipcrace_key *out);
/* A class-tagged key of any object, from its untagged key. */
struct ipcrace_key hb_tagged_key(struct ipcrace_key k, enum hb_obj_class cls);
struct hb_obj *hb_obj_find(const struct hb *hb, const struct ipcrace_key *k);
int hb_obj_get(struct hb *hb, const struct ipcrace_key *k, struct hb_obj **out);

int hb_thread_tick(struct hb *hb, __u32 idx);
/* Release: the object learns everything thread t did so far; then t ticks. */
int hb_release(struct hb *hb, __u32 t, struct vclock *obj_vc);
int hb_release_to(struct hb *hb, const struct ipcrace_event *e, __u32 t, enum hb_obj_class cls);
int hb_acquire_from(struct hb *hb, const struct ipcrace_event *e, __u32 t,
		    enum hb_obj_class cls);

/* hb_sync.c */
void hb_sync__free(struct hb *hb);
int hb_barrier__reset(struct hb *hb, const struct ipcrace_event *e);
int hb_barrier__arrive(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_barrier__depart(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_once__enter(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_once__return(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_connect__connect(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_connect__opened(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_connect__accept(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_atomic__access(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_atomic__release(struct hb *hb, const struct ipcrace_event *e, __u32 t);
/* Thread t's next event e after a load recorded before it ran (load_pending set). */
int hb_atomic__load_ran(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_guard__release(struct hb *hb, const struct ipcrace_event *e, __u32 t);
int hb_guard__acquired(struct hb *hb, const struct ipcrace_event *e, __u32 t);

#endif /* IPCRACE_HB_INTERNAL_H */
