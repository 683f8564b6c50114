/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The trace file model: what a trace holds once read. The writer
 * (tracer/trace_writer.c) and the reader (analyzer/trace.c) share the on-disk
 * format described in analyzer/trace_format.h. Nothing here needs libbpf or a
 * live kernel, so analysis works post-mortem on another machine.
 */
#ifndef IPCRACE_TRACE_H
#define IPCRACE_TRACE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../bpf/events.h"

#define TRACE_PATH_LEN 256
#define TRACE_BUILD_ID_MAX 20
#define TRACE_HOST_LEN 64

struct trace_header {
	__u32 version;
	__u32 __pad;
	__u64 start_realtime_ns;	/* CLOCK_REALTIME at start */
	__u64 start_mono_ns;		/* CLOCK_MONOTONIC at start, event clock */
	char host[TRACE_HOST_LEN];
	char kernel[TRACE_HOST_LEN];
	char cmdline[512];		/* the traced command, or "-p PID" */
};

/*
 * One line of /proc/PID/maps as the tracer read it at time ts. Records read
 * together (same pid, same ts) form one snapshot of that address space.
 */
#define MAPF_SHARED (1u << 0)		/* 's' in the perms column */
struct trace_mapping {
	__u64 ts;
	__u64 start;
	__u64 end;
	__u64 pgoff;			/* offset in the file, bytes */
	__u64 dev;			/* makedev(major, minor) as in stat */
	__u64 ino;
	__u32 pid;
	__u32 prot;			/* PROT_READ | PROT_WRITE | PROT_EXEC */
	__u32 flags;			/* MAPF_* */
	__u32 build_id_len;		/* 0 when unknown */
	__u8 build_id[TRACE_BUILD_ID_MAX];
	__u32 __pad;
	char path[TRACE_PATH_LEN];	/* "" for anonymous, "[heap]", ... */
};

struct trace_process {
	__u64 ts;			/* when first seen */
	__u32 pid;
	__u32 ppid;			/* 0 for the traced root */
	__s32 exit_status;		/* wait status, -1 while unknown */
	__u32 __pad;
	char comm[IPCRACE_COMM_LEN];
	char exe[TRACE_PATH_LEN];
};

#define TRACEF_TARGET_EXITED (1u << 0)	/* target_status is valid */
#define TRACEF_WINDOW	(1u << 1)	/* flight recorder: only the last events were kept */
struct trace_footer {
	__u64 end_mono_ns;
	__u64 events;			/* events written */
	__u64 lost_events;		/* ring buffer reservation failures */
	__u64 lost_stacks;
	__s32 target_status;		/* wait status of the root process */
	__u32 flags;			/* TRACEF_* */
	__u64 seed;			/* watch schedule seed (memory watching) */
	__u64 watched_words;		/* distinct words watched during the run */
	/* version 2 on (0 in a version 1 trace): */
	__u64 dropped_events;		/* not written: the trace reached its size limit */
	__u64 dropped_records;		/* every record not written, events included */
	/* flight recorder windows (TRACEF_WINDOW): */
	__u64 window_start_ns;		/* the first event kept */
	__u64 window_dropped_records;	/* overwritten before the window */
	__u64 untraced_peer_calls;	/* Unix-socket sends/receives not recorded: peer untraced */
};

/*
 * What the watchpoints cost and whether a budget held them back
 * (TRACE_REC_WATCH_STATS, version 3, written just before the footer; a
 * trace without one says nothing about them).
 */
struct trace_watch_stats {
	__u64 traps;			/* breakpoint traps in traced processes */
	__u64 slot_switches;		/* context switches of threads with slots armed, x slots */
	__u64 ticks;			/* rotation ticks (25 ms) */
	__u64 held_ticks;		/* ticks in which the budget held a move back: sampled */
	__u64 cost_ns;			/* traps and armed switches at their measured prices */
	__u64 traced_ns;		/* CPU time of the traced processes, metered (0: not) */
	__u64 self_ns;			/* ipcrace's own CPU time while it watched */
	__u32 trap_ns;			/* measured price of a trap (0: not measured) */
	__u32 switch_ns;		/* ... of one slot armed in a thread switched in and out */
	__u32 watch_rate;		/* --watch-rate (0: no cap) */
	__u32 overhead_pct;		/* --overhead (0: none) */
};

/*
 * What --overhead's lock sampling did (TRACE_REC_LOCK_SAMPLING, version 3,
 * written just before the footer when --overhead was given; a trace without
 * one had its lock probes on throughout). The windows themselves are
 * EV_LOCK_GAP events in the stream.
 */
struct trace_lock_sampling {
	__u64 windows;			/* off windows, all processes */
	__u64 off_ns;			/* their time, summed over processes */
	__u64 metered_ns;		/* time the sampler metered the processes, summed */
	__u64 cost_ns;			/* their lock events at the measured price */
	__u64 events;			/* lock events of the metered processes */
	__u32 processes;		/* processes with at least one off window */
	__u32 metered;			/* processes metered (they made lock events) */
	__u32 event_ns;			/* measured price of a lock event (0: not measured) */
	__u32 overhead_pct;		/* --overhead */
};

/* The first event that names a stack id (trace.stack_uses). */
struct trace_stack_use {
	__u64 id;
	__u64 ts;
	__u32 pid;
	__u32 __pad;
};

struct keymap;

/* An event consumer (trace__for_each_event, trace__open_fd_each). */
typedef int (*trace_event_fn)(void *ctx, const struct ipcrace_event *e);

struct trace {
	struct trace_header header;
	/*
	 * In stream order. Empty in a streamed trace (trace__open_fd): its
	 * events stay in the file and trace__for_each_event() reads them
	 * again for each pass.
	 */
	struct ipcrace_event *events;
	size_t nr_events;
	bool streamed;
	int stream_fd;			/* streamed: the file, read again per pass */
	__u64 stream_len;		/* its size when opened */
	__u64 stream_dev;		/* and identity, checked by every pass */
	__u64 stream_ino;
	__u64 stream_mtime_ns;
	/*
	 * What the reader saw of the events, kept or not (valid when read by
	 * the reader, zero in a trace built by hand): how many, of each type, the first
	 * one's time, the distinct threads and processes, the first event
	 * naming each stack id (in first-use order). Bounded by threads,
	 * processes and call sites, never by the number of events.
	 */
	bool summarized;		/* the fields below are valid */
	__u64 event_count;
	__u64 events_by_type[EV_TYPE_MAX];
	__u64 first_event_ts;
	size_t nr_event_threads;
	__u32 *event_pids;		/* distinct, in first-seen order */
	size_t nr_event_pids;
	struct trace_stack_use *stack_uses;
	size_t nr_stack_uses;
	/* indices of the events that carry EVF_AFTER_LOSS (one per gap) */
	__u64 *after_loss;
	size_t nr_after_loss;
	/* versions 2 and 3: the byte ranges not taken as records, in file order */
	struct trace_damage {
		__u64 start;
		__u64 end;
	} *damage;
	size_t nr_damage;
	/*
	 * Stack ids to read as another id (the earliest with the same unwound
	 * frames: report__merge_stacks), NULL when none; applied to the events
	 * trace__for_each_event() delivers.
	 */
	struct keymap *stack_remap;
	struct ipcrace_stack *stacks;	/* sorted by id for trace__find_stack */
	size_t nr_stacks;
	struct trace_mapping *mappings;	/* in file order */
	size_t nr_mappings;
	struct trace_process *processes;
	size_t nr_processes;
	struct ustack_table *ustacks;	/* stack snapshots (analyzer/ustack.h), may be NULL */
	struct trace_footer footer;
	bool has_footer;		/* false: the recording was cut off */
	struct trace_watch_stats watch_stats;
	bool has_watch_stats;		/* a WATCH_STATS record was read */
	struct trace_lock_sampling lock_sampling;
	bool has_lock_sampling;		/* a LOCK_SAMPLING record was read */
	/*
	 * What the reader could not use (see trace__is_complete() for what
	 * makes a trace incomplete):
	 */
	bool truncated;			/* the file ends inside a record (or chunk) */
	bool header_damaged;		/* header checksum wrong: host, cmdline unreliable */
	__u64 tail_bytes;		/* bytes after the last whole record */
	__u64 skipped_bytes;		/* damaged bytes between whole records */
	__u64 skipped_records;		/* records lost in them (sequence gaps, bad ones) */
	__u32 damaged_regions;		/* how many such places */
	__u32 format_version;		/* of the file: 1, 2 or 3 */
};

/*
 * Read a whole trace. On error returns NULL, sets errno and writes a one-line
 * reason (no trailing newline) to err. A file cut off anywhere is read up
 * to its last whole record with truncated = true; damaged regions are
 * skipped and counted (skipped_*), and the first event after one carries
 * EVF_AFTER_LOSS, so the analyzer treats it as lost events.
 */
struct trace *trace__read_file(const char *path, char *err, size_t errlen);
/* Same, from an open file (not closed; read from offset 0). name is for messages. */
struct trace *trace__read_fd(int fd, const char *name, char *err, size_t errlen);
struct trace *trace__read_mem(const void *buf, size_t len, char *err, size_t errlen);
void trace__free(struct trace *t);

/*
 * Streaming (analyzer/trace_stream.c): reads everything but the events
 * (stacks, mappings, processes, footer, what was damaged) and their
 * summaries above, and keeps a duplicate of fd to read the events again,
 * pass by pass, without holding them: memory is bounded by the trace's
 * other records, not by its events. fd must be a regular file (not closed
 * by this; any offset). NULL with errno and err as trace__read_fd().
 */
struct trace *trace__open_fd(int fd, const char *name, char *err, size_t errlen);
struct trace *trace__open_file(const char *path, char *err, size_t errlen);
/*
 * The same, handing each event to fn as that first pass takes it: in
 * stream order, as trace__for_each_event() delivers them, but for
 * stack_remap, which is set later (NULL until then: ids as recorded).
 * fn's first non-zero return ends the calls, not the reading. A consumer
 * that needs nothing but the events reads the file once (analyze.h,
 * analyze_stream).
 */
struct trace *trace__open_fd_each(int fd, const char *name, trace_event_fn fn, void *ctx,
				  char *err, size_t errlen);
struct trace *trace__open_file_each(const char *path, trace_event_fn fn, void *ctx, char *err,
				    size_t errlen);

/*
 * Calls fn for each event in stream order, as trace__read_*() would have
 * stored them (EVF_AFTER_LOSS after a gap, stack ids through stack_remap),
 * from t->events or, streamed, from the file. Stops at fn's first non-zero
 * return and returns it; 0 at the end; -EIO or -ENOMEM when the file
 * cannot be read again (or changed since it was opened: -ESTALE).
 */
int trace__for_each_event(const struct trace *t, trace_event_fn fn, void *ctx);

/*
 * Reads a streamed trace's events into t->events (for a consumer that
 * needs them all at once: the perfetto timeline), stack ids remapped; a
 * trace read whole is left as it is. 0 or a negative errno.
 */
int trace__load_events(struct trace *t);

/* The event's stack id read through t->stack_remap. */
__u64 trace__stack_id(const struct trace *t, __u64 id);

const struct ipcrace_stack *trace__find_stack(const struct trace *t, __u64 id);
struct ustack_snapshot;
const struct ustack_snapshot *trace__find_ustack(const struct trace *t, __u64 id);
const struct trace_process *trace__find_process(const struct trace *t, __u32 pid);

/*
 * Completeness (analyzer/trace_gaps.c). A trace is complete when it has its
 * footer, no bytes were skipped or cut, no event was lost in the ring
 * buffer and none was dropped at the size limit. Anything else can hide a
 * finding, so a report over it is never "clean".
 */
bool trace__is_complete(const struct trace *t);
/*
 * What is missing, in words ("no footer: the recording was cut off; 3
 * damaged regions skipped (912 bytes, 7 records)"), at most len bytes with
 * its NUL; "" for a complete trace. Returns the length it needed.
 */
size_t trace__describe_gaps(const struct trace *t, char *buf, size_t len);

/*
 * The exit status of a report over t with nr_findings findings, DESIGN's
 * contract: 66 with findings (complete or not: what was found stands), 1
 * when the trace is incomplete and nothing was found (absence of findings
 * proves nothing then), 0 for a complete trace without findings.
 */
#define TRACE_EXIT_CLEAN	0
#define TRACE_EXIT_FINDINGS	66
#define TRACE_EXIT_INCOMPLETE	1
int trace__exit_status(const struct trace *t, size_t nr_findings);

#endif /* IPCRACE_TRACE_H */
