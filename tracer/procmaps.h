/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Snapshots of /proc/PID/maps as trace mapping records: the names of shared
 * objects and the modules (with build-ids) that stacks are symbolized with.
 */
#ifndef IPCRACE_PROCMAPS_H
#define IPCRACE_PROCMAPS_H

#include <sys/types.h>
#include "../analyzer/trace.h"

struct procmaps;

/* Called for each mapping of a snapshot. */
typedef int (*procmaps_cb)(const struct trace_mapping *m, void *ctx);

struct procmaps *procmaps__new(void);
void procmaps__free(struct procmaps *pm);

/*
 * Reads /proc/PID/maps once, stamping each record with ts. -ESRCH when the
 * process is gone (it may exit at any time: not an error for the caller).
 */
int procmaps__snapshot(struct procmaps *pm, pid_t pid, __u64 ts, procmaps_cb cb, void *ctx);

/* Remembers the path BPF sent for a file (struct ipcrace_path). */
int procmaps__learn_path(struct procmaps *pm, __u64 dev, __u64 ino, const char *path);

/*
 * A mapping record made from an EV_MMAP event of a code mapping whose path
 * is known: it does not depend on the process still being alive. 0 when
 * there is nothing to write.
 */
int procmaps__from_event(struct procmaps *pm, const struct ipcrace_event *e,
			 procmaps_cb cb, void *ctx);

#endif /* IPCRACE_PROCMAPS_H */
