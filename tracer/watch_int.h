/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The watcher's internals, shared by its modules (watch.c is the facade
 * the session uses: watch.h). Not for anyone else.
 */
#ifndef IPCRACE_WATCH_INT_H
#define IPCRACE_WATCH_INT_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdbool.h>
#include <time.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>

#include "candidates.h"
#include "private_snapshots.h"
#include "snapshots.h"
#include "stops.h"
#include "watch.h"

#define WATCH_SLOTS 4			/* x86 debug registers per thread */
#define TICK_NS (25 * 1000000ULL)	/* snapshot diff and rotation period */
#define HOLD_TICKS 20			/* a rotating slot moves on after 0.5 s */
#define ROTATE_BUDGET 64		/* ... or after this many hits */
#define ATTACHED_DWELL_TICKS 4		/* attached: a slot moves at most every 100 ms */
#define NAMED_WINDOW_TICKS 40		/* named watches: at most */
#define NAMED_BUDGET 1024		/* this many hits per 1 s window */
#define SNAP_OBJECT_MAX (16u << 20)	/* bytes of one object kept in a snapshot */
#define SNAP_PER_OBJECT (256u << 10)	/* bytes diffed per object per tick */
#define SNAP_TOTAL (2u << 20)		/* bytes diffed per tick in all */
#define SNAP_ATTACHED_DIV 4		/* attached: these budgets divided by this */
/*
 * Private memory of multi-threaded processes (globals, heap): read with
 * process_vm_readv, so it costs the target nothing, but us a copy.
 */
#define PRIV_TICK_BYTES (1u << 20)	/* bytes read per tick in all */
#define PRIV_KEPT (16u << 20)		/* bytes of copies kept in all */
#define PRIV_REGION_MAX (8u << 20)	/* of one region */
#define PRIV_REGIONS_MAX 64		/* per process */
#define PRIV_RESYNC_TICKS 40		/* re-read the maps: [heap] grows without an event */
#define PRIV_DISABLE_ENV "IPCRACE_NO_PRIVATE_DIFF"
#define BUSY_MAX 64			/* words held by slots, in all processes */
#define DUMMY_ADDR 0x1000		/* never mapped (mmap_min_addr): a parked slot */
#define OBJ_PATHS_MAX 256		/* shared objects whose path is kept for --learn */
/*
 * Guesses: words watched before any snapshot saw them change, for a
 * program too short to wait for one. The first words of a new shared
 * writable mapping, a few globals of a new executable; at most this many
 * slots hold guesses, the others stay with the rotation.
 */
#define GUESS_SLOTS_MAX 2
#define ROTATION_SLOTS_MIN 2
#define GUESS_MAP_WORDS 2		/* of a new shared mapping: offsets 0 and 8 */
#define GUESS_GLOBALS 2			/* of a new executable */
#define GUESS_WINDOW_NS (10 * 1000000ULL)	/* from a second thread on, to be shared by writers */
#define EXE_GLOBALS_MAX 4096		/* globals of one executable looked at, at most */
#define GUESS_DISABLE_ENV "IPCRACE_NO_GUESS"
#define GUESS_SEED_SALT 0x6775657373ULL	/* the guesses' own stream: the rotation's stays as it was */

enum word_kind { WORD_NONE, WORD_FILE, WORD_SYMBOL, WORD_PRIVATE };

struct word {
	enum word_kind kind;
	__u32 len;
	__u64 dev, ino, off;		/* WORD_FILE, once resolved */
	bool resolved;
	__u32 pid;			/* WORD_PRIVATE: armed in this process only */
	__u64 addr;			/* ... at this address */
	char path[PATH_MAX];		/* named file watch, resolved by stat */
	char symbol[256];		/* WORD_SYMBOL */
};

struct slot {
	struct word word;
	bool named;
	bool throttled;			/* over budget: parked until the window ends */
	bool guess;			/* armed as a guess, not picked by the rotation */
	bool written;			/* a guess: a breakpoint saw its word written */
	bool shared;			/* ... and accessed by two threads */
	__u32 first_tid;		/* ... the first thread that did */
	__u32 guess_pid;		/* ... the process it was guessed in */
	__u64 window_ns;		/* ... since when a second thread could touch it, 0: not yet */
	__u64 since_tick;
	__u64 seq;			/* when it got its word, in assignments: the oldest guess goes first */
	struct ipcrace_key key;		/* hits are counted by key (file words) */
};

/*
 * The watching's cost (watch_cost.c): traps and context switches of
 * threads with armed slots, at their measured prices, against a budget in
 * nanoseconds (--watch-rate: N traps' worth a second; --overhead: a share
 * of the traced processes' CPU time less ipcrace's own).
 */
struct watch_cost {
	bool budgeted;			/* a budget applies (rate or overhead) */
	__u64 trap_ns;			/* one trap (calibrated; a VM exit on a VM) */
	__u64 switch_ns;		/* one slot armed in a thread switched in and out */
	__u64 slot_switches;		/* context switches of armed threads x their slots */
	__u64 traced_ns;		/* CPU time of the traced processes, metered */
	__u64 self_start_ns;
	__u64 unread;			/* counter reads that failed (a process gone) */
	__s64 rate_tokens;		/* --watch-rate's bucket, ns */
	__s64 overhead_tokens;		/* --overhead's bucket, ns */
	__u64 traps_seen, switches_seen, traced_seen, self_seen;
};

struct pmap {
	__u64 start, end, pgoff, dev, ino;
	__u32 prot, flags;
	char *path;
};

/* One slot in one process: an event per thread armed explicitly. */
struct pslot {
	__u64 addr;			/* 0: parked */
	__u32 len;
	struct ipcrace_key key;
	int *fds;
	struct bpf_link **links;
	struct perf_event_attr attr;
};

struct wproc {
	__u32 pid;
	__u32 armed;			/* slots armed (enabled) in its threads now */
	bool metered;			/* counters below read at least once */
	__u64 switches_seen;		/* its threads' context switches when last read */
	__u64 run_ns_seen;		/* ... and their CPU time */
	bool dirty;			/* mappings changed since the last sync */
	bool opened;			/* slots opened on its threads (once one had a word here) */
	bool synced;			/* maps read since its exec: slots apply to it */
	bool threaded;			/* more than one thread seen: diff its private memory */
	struct pmap *maps;
	size_t nr_maps, cap_maps;
	char *exe;			/* its executable's path as the maps show it */
	size_t nr_threads;
	struct pslot slots[WATCH_SLOTS];
	struct wproc *next;
};

/* A shared object's path when it was mapped: what --learn names it by. */
struct obj_path {
	__u64 dev, ino;
	char *path;
};

/* A global variable threads changed, as a watch spec, for --learn. */
struct learned_var {
	char spec[WATCH_SPEC_LEN];
	__u32 changes;
};

struct watcher {
	struct ipcrace_bpf *skel;
	struct watch_opts opts;
	struct slot slots[WATCH_SLOTS];
	struct wproc *procs;
	struct candidates *cands;
	struct snapshots *snaps;
	struct private_snapshots *priv;	/* NULL: private memory not diffed */
	struct insn_classifier *insns;
	struct procmaps *pm;		/* keeps the build-id cache across syncs */
	struct watch_rng rng;
	struct watch_rng guess_rng;	/* which globals are guessed */
	bool guessing;			/* guesses on (IPCRACE_NO_GUESS unset, a slot for them) */
	bool named_fork_stop;		/* named watches need every new process stopped */
	bool stop_on_map;		/* named words in files: stop at every shared mapping */
	bool stop_on_exec;		/* named symbols: stop after exec */
	bool stop_on_fork;		/* a new process is stopped until armed */
	int stop_id;			/* our handler in opts.stops */
	bool closing;			/* watcher__free: no new stop, no new guess */
	__u64 seq;
	int warm_fd;			/* a parked breakpoint on ourselves: see watcher__new */
	__u64 seed;
	__u64 tick;
	__u64 last_tick_ns;
	__u64 watched_words;
	__u64 capped_seen;		/* BPF's watch_capped when last acted on */
	/*
	 * What the watching cost so far and the budget it spends
	 * (watch_cost.c): a slot moves on to a new word only while the budget
	 * is positive. Ticks a move waited on it: the watching was sampled.
	 */
	struct watch_cost cost;
	__u64 rate_waits;		/* slot-ticks a due move waited for the budget */
	__u64 rate_ticks;		/* ticks in which some move waited */
	bool no_slots_warned;
	__u64 lock_like_words;		/* excluded for their atomic accesses */
	struct obj_path obj_paths[OBJ_PATHS_MAX];
	size_t nr_obj_paths;
	/* best private words of exited processes, by changes (--learn) */
	struct learned_var vars[WATCH_SPECS_MAX];
	size_t nr_vars;
};

static inline __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline bool key_eq(const struct ipcrace_key *x, const struct ipcrace_key *y)
{
	return x->space == y->space && x->a == y->a && x->b == y->b && x->c == y->c;
}

/* Keys the slot's word has in every process (private words differ). */
typedef void (*key_fn)(struct watcher *w, const struct ipcrace_key *key, void *ctx);

/* --- watch_procs.c: processes, mappings, symbols */

struct wproc *watch_find_proc(struct watcher *w, __u32 pid);

struct wproc *watch_get_proc(struct watcher *w, __u32 pid);

void watch_free_proc(struct watcher *w, struct wproc *p);

void watch_drop_proc(struct watcher *w, __u32 pid);

/* /proc/PID/exe's target, allocated; NULL when it cannot be read. */
char *watch_exe_path(__u32 pid);

int watch_read_maps(struct watcher *w, struct wproc *p);

void watch_remember_path(struct watcher *w, __u64 dev, __u64 ino, const char *path);

const char *watch_object_path(const struct watcher *w, __u64 dev, __u64 ino);

/* Where the executable path is loaded in p: its mapping at file offset 0. */
__u64 watch_exe_base(const struct wproc *p, const char *exe);

/*
 * The global variable of p's executable holding its private word at addr,
 * as SYMBOL[+OFFSET]: for --learn, a name that holds in the next run.
 * False for the heap and anything else no symbol covers.
 */
bool watch_private_word_spec(const struct wproc *p, __u64 addr, char *spec, size_t len);

/* Where slot k's word is in process p, and its identity there. */
__u64 watch_word_addr(struct watcher *w, const struct wproc *p, int k, struct ipcrace_key *key);

/* --- watch_hw.c: hardware breakpoints */

int watch_perf_event_open(struct perf_event_attr *attr, pid_t pid);

/* Closes the process's breakpoints (exec or exit: its threads are gone). */
void watch_close_slots(struct watcher *w, struct wproc *p);

void watch_attr_init(struct perf_event_attr *a);

int watch_list_threads(__u32 pid, __u32 **tids, size_t *nr);

int watch_open_slots(struct watcher *w, struct wproc *p);

/* Points process p's slot k at its address of the slot's word (or parks it). */
void watch_apply_slot(struct watcher *w, struct wproc *p, int k);

void watch_for_each_key(struct watcher *w, int k, key_fn fn, void *ctx);

void watch_sum_hits(struct watcher *w, const struct ipcrace_key *key, void *ctx);

/* Hits and others added up, capped if any key is. */
void watch_sum_counts(struct watcher *w, const struct ipcrace_key *key, void *ctx);

void watch_reset_one(struct watcher *w, const struct ipcrace_key *key, void *ctx);

void watch_apply_everywhere(struct watcher *w, int k);

/* --- watch_cost.c: what the watching costs, its budget */

/* ipcrace's CPU time (getrusage). */
__u64 watch_cost_self_ns(void);

/* Measures trap_ns and switch_ns on threads of ipcrace's own (a few ms). */
void watch_cost_calibrate(struct watcher *w);

/*
 * Process p's slots armed are now armed: the context switches since p was
 * last read are charged at the old count first.
 */
void watch_cost_set_armed(struct watcher *w, struct wproc *p, __u32 armed);

/*
 * Called every tick: reads the counters (every COST_METER_TICKS), refills
 * and spends the budget. Returns 1 while a move may be made, 0 when it
 * may not, -1 when the budget is overspent by more than a second's worth
 * (the rotating slots are parked until it recovers).
 */
int watch_cost_tick(struct watcher *w);

/* The stats the trace carries (struct trace_watch_stats). */
void watch_cost_stats(const struct watcher *w, struct trace_watch_stats *st);

/* --- watch_snapshot.c: snapshot differs */

void watch_sync_proc(struct watcher *w, struct wproc *p);

/* --- watch_slots.c: slot schedule */

/* What the watcher needs stopped now (STOP_ON_* bits). */
void watch_update_stops(struct watcher *w);

/*
 * A new process runs its first instructions before the tracer can arm it
 * unless it is stopped at its first return from fork: worth it while a
 * slot holds a word a child can reach (a shared word, a global named by
 * symbol), not for a private word of one process.
 */
void watch_update_fork_stop(struct watcher *w);

/*
 * Gives slot k candidate i (its pick counted already), armed in every
 * process; guess_pid: a guess made in that process, 0: a rotation pick.
 */
void watch_assign_slot(struct watcher *w, int k, int i, __u32 guess_pid);

/* Gives rotating slot k the next candidate of the schedule; false if none. */
bool watch_rotate_slot(struct watcher *w, int k);

/* Rotating slot k lets its word go: parked now, given another at the next tick. */
void watch_release_slot(struct watcher *w, int k);

/*
 * pid's private words mean nothing any more (exit, exec): rotating slots
 * holding one let it go (they rotate at the next tick), and the differ
 * and the candidates forget them.
 */
void watch_forget_private(struct watcher *w, __u32 pid);

/*
 * A lock event names a lock object: its words are the lock library's (the
 * analyzer discards accesses to them), and a busy lock's change more than
 * any data: never candidates, and a rotating slot holding one moves on.
 */
void watch_learn_lock(struct watcher *w, const struct ipcrace_event *e);

void watch_learn_atomic(struct watcher *w, const struct ipcrace_event *e);

/*
 * Parks every slot whose word reached its budget: past it BPF records
 * nothing, but the breakpoint still traps (a perf event cannot disable
 * itself from BPF), each trap costing the target microseconds. Runs as
 * soon as BPF says a word crossed its budget, not at the next tick, which
 * a busy tracer may reach only much later.
 */
void watch_park_capped(struct watcher *w);

void watch_schedule_tick(struct watcher *w);

/* --- watch_guess.c: guesses */

/* Slots guesses may hold: at most GUESS_SLOTS_MAX, and never the rotation's last two. */
int watch_guess_limit(const struct watcher *w);

void watch_guess_after_stop(struct watcher *w, struct wproc *p, const struct arm_stop *st);

/*
 * A guess bets on a word two threads touch at once, one of them writing.
 * Its window opens when a second thread can touch it (a second process
 * armed for a shared word, a second thread in its process); one that lost
 * the bet GUESS_WINDOW_NS later gives its slot back, and is a candidate
 * again only once a snapshot sees it change. (Such a word watched on is
 * often a flag its creator initialises and polls, set atomically much
 * later by another process: C11 atomic loads are plain moves on x86, so
 * that would be a false race.) What a short program did in the window is
 * recorded already.
 */
void watch_check_guesses(struct watcher *w, __u64 now_ns);

/* --- watch_learn.c: learning across runs */

/*
 * The private words of p worth learning, named while its maps are known
 * (it is exiting, or the run ends): the best few its threads changed that
 * a symbol of its executable covers.
 */
void watch_harvest_private(struct watcher *w, const struct wproc *p);

#endif /* IPCRACE_WATCH_INT_H */
