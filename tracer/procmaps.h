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

#endif /* IPCRACE_PROCMAPS_H */
