/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The watchpoint manager: which words get the 4 debug registers of every
 * traced thread, and when. Named watches (--watch) hold their slots for
 * the whole run; the other slots rotate over words seen changing in
 * snapshots of the shared objects and of the private memory (globals,
 * heap) of multi-threaded processes, deterministically for a --seed. A
 * shared word is watched in every traced process that maps it, at that
 * process's own address; a private word only in its own process. Each
 * with a perf hardware breakpoint running mem_access. For programs too
 * short for a snapshot, guesses: a process that maps shared writable
 * memory or execs is stopped (bpf/memory.bpf.c) until two slots watch the
 * mapping's first words or two of its executable's globals (the stop is
 * tracer/stops.c's: the watcher asks for it and arms when it comes).
 */
#ifndef IPCRACE_WATCH_H
#define IPCRACE_WATCH_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../bpf/events.h"
#include "watch_spec.h"

#define WATCH_RATE_ATTACHED 400

struct ipcrace_bpf;
struct stops;
struct trace_watch_stats;

struct watch_opts {
	const char *specs[WATCH_SPECS_MAX];	/* PATH+OFFSET:LEN or SYMBOL[+OFFSET] */
	size_t nr_specs;
	size_t nr_learned;			/* the last ones of specs came from learn_path */
	const char *learn_path;			/* --learn FILE: written at the end */
	__u64 seed;
	bool seed_set;				/* else taken from the clock */
	bool disabled;				/* --no-watch: no breakpoints at all */
	bool attached;				/* -p, --cgroup: a running service */
	/*
	 * --watch-rate: watch traps a second at most, in all processes (0: no
	 * cap); rotation moves wait while it is spent. Attached default
	 * WATCH_RATE_ATTACHED, else none.
	 */
	__u32 trap_rate;
	bool trap_rate_set;
	/*
	 * --overhead: percent of the traced processes' CPU time the watching
	 * may cost, ipcrace's own CPU counted first (0: no such budget).
	 */
	__u32 overhead_pct;
	bool verbose;
	/* where new words are armed before a process runs on (stops.h) */
	struct stops *stops;
};

struct watcher;

/*
 * Checks the specs and sets the BPF side up; the target may already exist
 * (blocked before exec). NULL + errno (one line printed) on a bad spec.
 */
struct watcher *watcher__new(struct ipcrace_bpf *skel, const struct watch_opts *opts);

/* Stops watching (asks for no more stops). NULL-safe. */
void watcher__free(struct watcher *w);

/* A process that was running before tracing started (attach mode). */
void watcher__adopt(struct watcher *w, __u32 pid);

/*
 * Process and mapping bookkeeping from the event stream; lock events name
 * lock objects, whose words are never watched (lock_extent.h).
 */
void watcher__on_event(struct watcher *w, const struct ipcrace_event *e);

/*
 * Completes an EV_MEM_ACCESS before it is written: read or write and
 * atomic, from the instruction that made the access.
 */
void watcher__annotate(struct watcher *w, struct ipcrace_event *e);

/*
 * A word the access probes saw shared and written (access_shared.h): a
 * candidate ahead of what snapshots found.
 */
void watcher__promote(struct watcher *w, const struct ipcrace_key *word);

/*
 * Parks at once the slots whose word BPF saw reach its hit budget (a word
 * past it still traps, for nothing). One memory read when none did: call
 * it between records.
 */
void watcher__check_caps(struct watcher *w);

/* Diffs snapshots, rotates slots. Call often. */
void watcher__tick(struct watcher *w, __u64 now_ns);

/*
 * --learn: writes the most promising words of this run to opts.learn_path
 * (watch_spec__write_file), for the next run to watch from its start:
 * shared words whose object has a name that outlives the run (a file,
 * /dev/shm/NAME; not anonymous memory or memfd), written by two processes
 * first, then by how often they changed; then global variables of the
 * executables (SYMBOL[+OFFSET]) threads of one process changed; at most
 * WATCH_SPECS_MAX, topped up with what was loaded from the file. 0 or
 * -errno (one line printed).
 */
int watcher__save_learned(struct watcher *w);

/*
 * What the watching cost and whether a budget sampled it, for the trace
 * (TRACE_REC_WATCH_STATS). False without a watcher (--no-watch).
 */
bool watcher__stats(const struct watcher *w, struct trace_watch_stats *st);

/* Distinct words that held a slot during the run. */
__u64 watcher__watched_words(const struct watcher *w);
__u64 watcher__seed(const struct watcher *w);

#endif /* IPCRACE_WATCH_H */
