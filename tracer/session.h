/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One recording: load and attach the BPF programs, run the target, stream
 * the ring buffer into a trace file until the whole process tree has exited
 * (or the duration runs out, or Ctrl-C), then write the footer.
 */
#ifndef IPCRACE_SESSION_H
#define IPCRACE_SESSION_H

#include <stdbool.h>
#include <linux/types.h>
#include "access_probes.h"
#include "confirm.h"
#include "probes.h"
#include "watch.h"

#define SESSION_MAX_PIDS 64

struct session_opts {
	char *const *argv;		/* command to run traced, or NULL with pids */
	const int *pids;		/* -p: running processes to attach to (and descendants) */
	size_t nr_pids;
	const char *cgroup;		/* --cgroup PATH: everything in that cgroup */
	const char *unit;		/* --unit NAME: everything in the unit's cgroup */
	const char *trace_path;		/* the trace's name, for messages */
	int trace_fd;			/* where the trace goes (tracer/output.h; dup'ed) */
	__u64 trace_limit;		/* bytes the trace may reach, 0: TRACE_FILE_MAX */
	size_t flight_bytes;		/* --flight: keep the last bytes in memory, 0: off */
	double duration;		/* seconds, 0: until the target exits */
	__u32 buffer_bytes;		/* ring buffer size, 0: the default */
	__u32 ustack_bytes;		/* stack snapshot size (--call-graph dwarf), 0: frame pointers */
	bool ipc_stacks;		/* --ipc-stacks: channel events carry a stack */
	enum probe_site_mode site;
	bool bare_probes;		/* empty BPF programs: benchmarks only */
	bool verbose;
	struct watch_opts watch;		/* memory watching (--watch, --seed) */
	struct access_opts access;		/* access probes (--access-probes, --instrument) */
	/*
	 * Called once the trace's header is written, before the target runs
	 * (or the attached line): the trace file goes in place then. Non-zero
	 * ends the session (a line printed by it). May be NULL.
	 */
	int (*started)(void *ctx);
	void *started_ctx;
	struct confirm_opts confirm;		/* --confirm-hold, --confirm-rate */
};

/*
 * Returns 0 when a trace was written (whatever the target did), or a
 * negative errno when tracing could not happen (one line printed).
 * *target_status gets the wait status of the target (-1 when attached:
 * ipcrace is not the parent of what it attached to).
 */
int session__record(const struct session_opts *opts, int *target_status);

#endif /* IPCRACE_SESSION_H */
