/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Who is stopped, why, and continuing them. A traced process is stopped
 * (SIGSTOP) where userspace must act before it runs on: by BPF
 * (bpf/stops.bpf.h: after a shared mmap, after exec, at a new process's
 * first return from fork, as the consumers asked with stops__want), or by
 * userspace itself (stops__hold). Every stop is an entry of the arm_pending
 * map (bpf/stops.h) from before the signal is sent until its SIGCONT is
 * (under a continuing key once its entry is gone), and the guardian
 * (guardian.h), started by stops__new, continues whatever is in that map if
 * ipcrace dies: nothing ipcrace stopped stays stopped, SIGKILL included.
 *
 * Consumers (the watcher arming breakpoints; anything that must attach
 * before a process runs on) register a handler per reason; stops__service
 * runs, for each published stop, every handler for its reason, then
 * continues the process, whatever the handlers did.
 */
#ifndef IPCRACE_STOPS_H
#define IPCRACE_STOPS_H

#include <stdbool.h>
#include <linux/types.h>
#include "../bpf/stops.h"

struct stops;

struct stops_opts {
	/* empties the event ring buffer: what a process did before its stop comes first */
	void (*drain)(void *ctx);
	void *drain_ctx;
	/*
	 * The count of stops BPF published (stops_published in the syscall
	 * object's .bss): stops__service walks the map only when it moved,
	 * and every STOPS_WALK_MS anyway. NULL: at every call.
	 */
	const volatile __u64 *published;
	bool verbose;		/* a line per stop, totals at the end */
};

/* Acts on a stopped process (it stays stopped until every handler returned). */
typedef void (*stops_handler_fn)(void *ctx, __u32 pid, const struct arm_stop *st);

#define STOPS_MAX_HANDLERS 8

/*
 * After the BPF objects are loaded and before anything is attached: takes
 * its own copy of the arm_pending map and starts the guardian. stop_wanted
 * is the BPF knob (STOP_ON_* bits, in the syscall object's .bss) that
 * stops__want and stops__finish write; it must stay mapped until
 * stops__finish. NULL + errno (one line printed).
 */
struct stops *stops__new(int arm_pending_fd, __u32 *stop_wanted, const struct stops_opts *opts);

/*
 * Continues everything still stopped (twice, with a settle in between for
 * a stop in flight), dismisses the guardian and frees. Call after the BPF
 * programs are detached (ipcrace_bpf__destroy), so none can stop anything
 * after the last look. NULL-safe.
 */
void stops__free(struct stops *s);

/*
 * A handler for the stops whose reason is in reasons (a mask of
 * 1 << ARM_*). Returns its id (for stops__want) or -ENOSPC.
 */
int stops__add_handler(struct stops *s, __u32 reasons, stops_handler_fn fn, void *ctx);

/*
 * What consumer id wants stopped now (STOP_ON_* bits); BPF stops at the
 * union of every consumer's wants. May change at any time.
 */
void stops__want(struct stops *s, int id, __u32 stop_on);

/*
 * Handles every published stop: drains the ring buffer, runs the handlers,
 * continues the process. Holds (ARM_HOLD) are left to stops__release.
 * Call often (each loop turn; BPF wakes the consumer on a stop).
 */
void stops__service(struct stops *s);

/*
 * No new stop from BPF (every want cleared) and every stop continued,
 * holds included; the handlers are not called any more. For the end of a
 * recording, before the programs are detached.
 */
void stops__finish(struct stops *s);

/*
 * Stops pid now, from userspace (the guardian knows of it before the
 * signal is sent), until stops__release. 0, -EBUSY when pid is stopped
 * already (for arming), or a negative errno.
 */
int stops__hold(struct stops *s, __u32 pid);
int stops__release(struct stops *s, __u32 pid);

/* The guardian process (ipcrace must not trace it). */
int stops__guardian_pid(const struct stops *s);

#endif /* IPCRACE_STOPS_H */
