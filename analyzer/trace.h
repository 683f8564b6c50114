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
};

struct trace {
	struct trace_header header;
	struct ipcrace_event *events;	/* in stream order */
	size_t nr_events;
	struct ipcrace_stack *stacks;	/* sorted by id for trace__find_stack */
	size_t nr_stacks;
	struct trace_mapping *mappings;	/* in file order */
	size_t nr_mappings;
	struct trace_process *processes;
	size_t nr_processes;
	struct ustack_table *ustacks;	/* stack snapshots (analyzer/ustack.h), may be NULL */
	struct trace_footer footer;
	bool has_footer;		/* false: the recording was cut off */
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
	__u32 format_version;		/* of the file: 1 or 2 */
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
