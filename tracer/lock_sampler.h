/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * --overhead for the lock probes (README, "Lock sampling"): every lock
 * event costs its process a trap and the BPF behind it, which no filter in
 * BPF can save, so a process whose lock events cost more than its share of
 * the budget has its lock probes taken off for a window (probes__pause_pid)
 * and put back after (probes__resume_pid). Each process is metered every
 * 100 ms: its lock events (counted as the consumer writes them) at a price
 * measured at the start (a trap on a function of ipcrace's own with an
 * empty program, plus LOCK_SAMPLER_BPF_NS for the program's work), against
 * PCT % of its CPU time (/proc/PID/task/TID/schedstat) less its share of
 * what the watching spent (the budget is one); a token bucket as the
 * watching's (watch_cost.c) decides.
 *
 * Every window is in the trace as two EV_LOCK_GAP events (bpf/events.h):
 * the begin is written before the links are closed, so it precedes every
 * call they could miss; the end after the links are back and the ring
 * buffer drained, so it follows every call missed. The stats go before
 * the footer (TRACE_REC_LOCK_SAMPLING).
 *
 * Attach mode only (-p, --cgroup, --unit): a command's tree is probed per
 * file, and its lock probes stay on. Best effort: a process whose counters
 * cannot be read is not metered; one whose links cannot be made again
 * stays off, its gap open until its exit (the analyzer then closes it).
 */
#ifndef IPCRACE_LOCK_SAMPLER_H
#define IPCRACE_LOCK_SAMPLER_H

#include <linux/types.h>
#include <stdbool.h>
#include "../analyzer/trace.h"

/* What the BPF of a lock event costs beyond its trap (README, "Cost"). */
#define LOCK_SAMPLER_BPF_NS 300

struct lock_sampler;
struct probes;
struct trace_writer;
struct ipcrace_bpf;
struct watcher;

struct lock_sampler_opts {
	__u32 overhead_pct;		/* --overhead, 1 to 100 */
	bool verbose;
	/* drains the ring buffer before a window's end is written */
	void (*drain)(void *ctx);
	void *drain_ctx;
	/* its spending comes first (NULL: no watching) */
	struct watcher *watcher;
};

/* NULL + errno. Measures the price of a lock event (a few ms). */
struct lock_sampler *lock_sampler__new(struct ipcrace_bpf *skel, struct probes *p,
				       struct trace_writer *w, const struct lock_sampler_opts *o);
/* Ends every window still open (their links made again), frees. NULL-safe. */
void lock_sampler__free(struct lock_sampler *ls);

/* An event written to the trace: lock events are counted for their process. */
void lock_sampler__on_event(struct lock_sampler *ls, const struct ipcrace_event *e);

/* The run loop's pass: meters, ends and begins windows. 0 or a negative errno. */
int lock_sampler__tick(struct lock_sampler *ls, __u64 now_ns);

/* Process pid is gone (its links released by probes__release_pid). */
void lock_sampler__exited(struct lock_sampler *ls, __u32 pid);

/* For TRACE_REC_LOCK_SAMPLING; windows still open count up to now. */
void lock_sampler__stats(const struct lock_sampler *ls, __u64 now_ns,
			 struct trace_lock_sampling *st);

#endif /* IPCRACE_LOCK_SAMPLER_H */
