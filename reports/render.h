/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Internal to reports/: what the text and JSON renderers share. */
#ifndef IPCRACE_RENDER_H
#define IPCRACE_RENDER_H

#include "report.h"
#include "symbolize.h"

#define REPORT_TRACED_NAMES 8
#define REPORT_NAME_LEN 64

/* Processes of one name (comm, else the base name of the executable) that were traced. */
struct report_traced_name {
	char name[REPORT_NAME_LEN];
	size_t processes;
};

struct report_stats {
	size_t processes;		/* distinct pids (events and process records) */
	/* what was traced, by name: the most frequent first, the rest counted */
	struct report_traced_name names[REPORT_TRACED_NAMES];
	size_t nr_names;
	size_t other_names;		/* names left out of names[] */
	size_t other_processes;		/* their processes */
	size_t threads;			/* distinct tids among events */
	size_t events;
	__u64 lost_events;
	__u64 lost_stacks;
	__u64 untraced_peer_calls;	/* Unix-socket calls not recorded: peer untraced */
	bool incomplete;		/* !trace__is_complete() */
	char missing[512];		/* trace__describe_gaps(): what is missing */
};

void report_stats__compute(const struct trace *t, struct report_stats *st);

/*
 * The frames of an access's stack (stack_id), or of its exact ip when no
 * stack was recorded. s may be NULL (frames then have only ips). Returns
 * the number of frames written to out (at most max).
 */
size_t report__stack_frames(struct symbolizer *s, const struct trace *t, __u32 pid,
			    __u64 ts, __u64 stack_id, __u64 exact_ip,
			    struct frame *out, size_t max);

/* The access that triggered the finding (the later one) and the other. */
void finding__order(const struct finding *f, const struct finding_access **cur,
		    const struct finding_access **prev);

/* "write", "read", "atomic write"... */
const char *access__op(const struct finding_access *a);

/* One-sentence summary, raw (unescaped): the JSON "summary". */
void finding__describe(char *buf, size_t len, const struct trace *t,
		       const struct finding *f);

/* "/a/b/c.c" -> "c.c" */
const char *path__basename(const char *path);

/*
 * The first frame with a source file: the user's code, past library
 * frames without line information. NULL when no frame has one.
 */
const struct frame *frames__first_with_source(const struct frame *frames, size_t nr);

/* Event times are shown relative to this: the start of recording, or the first event. */
__u64 report__time_base(const struct trace *t);

#endif /* IPCRACE_RENDER_H */
