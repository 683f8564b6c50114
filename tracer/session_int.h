/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside one recording (tracer/session.c): the session's state, shared by
 * session.c (set-up, run loop, end), session_records.c (the ring buffer's
 * records into the trace) and session_probes.c (which processes get probes,
 * and adopting the ones that join). Not for other modules.
 */
#ifndef IPCRACE_SESSION_INT_H
#define IPCRACE_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "bpf_objects.h"
#include "../bpf/events.h"
#include "procfs.h"
#include "session.h"
#include "target.h"

struct session {
	const struct session_opts *opts;
	struct bpf_objects bpf;
	struct ipcrace_bpf *skel;	/* bpf.skel */
	struct probes *probes;
	struct procmaps *maps;
	struct trace_writer *writer;
	struct ring_buffer *rb;
	struct watcher *watcher;
	struct lock_sampler *sampler;	/* --overhead, attach mode: lock probes sampled */
	struct stops *stops;
	struct attach_set *attach;	/* attach mode (-p, --cgroup, --unit); NULL: a command */
	struct access_probes *access;
	struct access_shared *shared;	/* words the probes saw shared: watch candidates */
	struct access_shared *hit_shared;	/* words the watchpoints saw shared: to confirm */
	struct syncscan *syncscan;	/* code whose atomics the probes do not see */
	struct confirm *confirm;	/* candidate words for confirmation holds */
	size_t nr_unseen;		/* EV_SYNC_UNSEEN written */
	struct target target;
	__u64 nr_events;
	int write_err;
	__u64 t_start, t_last;	/* -v: where the fixed cost goes */
	bool tree_gone;		/* the whole traced tree has exited */
};

static inline __u64 now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline __u32 parent_of(__u32 pid)
{
	return procfs__ppid(pid);
}

/* session_records.c: the ring buffer's callback, and what a process looks like */
int session__on_record(void *ctx, void *data, size_t size);
void session__write_process(struct session *s, __u32 pid, __u32 ppid, __u64 ts, const char *comm);
void session__snapshot_maps(struct session *s, __u32 pid, __u64 ts);

/* session_probes.c: probes for the target or for each attached process */
void session__find_libc(char *out, size_t len);
int session__attach_for_target(struct session *s, const char *libc);
int session__probe_tree_file(struct session *s, const char *path);
void session__access_probe_tree_file(struct session *s, const char *path);
int session__probe_process(struct session *s, int pid);
void session__access_probe_exe(struct session *s, __u32 pid);
int session__attach_to_running(struct session *s);
void session__describe_running(struct session *s);
void session__adopt_late(struct session *s, int pid);
int session__adopt_found(void *ctx, int pid, int ppid);

#endif /* IPCRACE_SESSION_INT_H */
