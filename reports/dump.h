/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `ipcrace dump`: a trace as a readable listing, an strace of sync and IPC. */
#ifndef IPCRACE_DUMP_H
#define IPCRACE_DUMP_H

#include <stdio.h>
#include "../analyzer/trace.h"

/*
 * Header, processes, mapping snapshots, one line per event
 * ("  0.000123 10/11 worker lock-acquired mutex in /dev/shm/bank +0x0 = 0"),
 * then the footer counters. The events come through trace__for_each_event:
 * a streamed trace (trace__open_fd) is listed without holding its events.
 * 0 or a negative errno.
 */
int dump__write(FILE *out, const struct trace *t);

/* "lock-acquired", ...; "unknown" for types this build does not know */
const char *event_type__name(__u16 type);

#endif /* IPCRACE_DUMP_H */
