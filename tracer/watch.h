/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The watchpoint manager: which words get the 4 debug registers of every
 * traced thread, and when. Named watches (--watch) hold their slots for
 * the whole run; the other slots rotate over words seen changing in
 * snapshots of the shared objects and of the private memory (globals,
 * heap) of multi-threaded processes, deterministically for a --seed. A
 * shared word is watched in every traced process that maps it, at that
 * process's own address; a private word only in its own process. Each
 * with a perf hardware breakpoint running mem_access.
 */
#ifndef IPCRACE_WATCH_H
#define IPCRACE_WATCH_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../bpf/events.h"

struct ipcrace_bpf;

#define WATCH_SPECS_MAX 4	/* one debug register each */

struct watch_opts {
	const char *specs[WATCH_SPECS_MAX];	/* PATH+OFFSET:LEN or SYMBOL */
	size_t nr_specs;
	__u64 seed;
	bool seed_set;				/* else taken from the clock */
	bool disabled;				/* --no-watch: no breakpoints at all */
	bool verbose;
	/* empties the event ring buffer (events before a stop come first) */
	void (*drain)(void *ctx);
	void *drain_ctx;
};

struct watcher;

/*
 * Checks the specs and sets the BPF side up; the target may already exist
 * (blocked before exec). NULL + errno (one line printed) on a bad spec.
 */
struct watcher *watcher__new(struct ipcrace_bpf *skel, const struct watch_opts *opts);

/* Stops watching, continues every process stopped for arming. NULL-safe. */
void watcher__free(struct watcher *w);

/* A process that was running before tracing started (attach mode). */
void watcher__adopt(struct watcher *w, __u32 pid);

/* Process and mapping bookkeeping from the event stream. */
void watcher__on_event(struct watcher *w, const struct ipcrace_event *e);

/*
 * Completes an EV_MEM_ACCESS before it is written: read or write and
 * atomic, from the instruction that made the access.
 */
void watcher__annotate(struct watcher *w, struct ipcrace_event *e);

/* Arms stopped processes, diffs snapshots, rotates slots. Call often. */
void watcher__tick(struct watcher *w, __u64 now_ns);

/* Distinct words that held a slot during the run. */
__u64 watcher__watched_words(const struct watcher *w);
__u64 watcher__seed(const struct watcher *w);

/* Parses LEN in PATH+OFFSET:LEN etc.; exposed for tests. 0 or -EINVAL. */
int watch_spec__parse(const char *spec, char *path, size_t path_len, __u64 *off,
		      __u32 *len, bool *is_symbol);

#endif /* IPCRACE_WATCH_H */
