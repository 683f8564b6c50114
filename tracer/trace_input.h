/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A trace named on the command line: a file, or "-" (stdin) and anything
 * that is not a regular file (/dev/stdin in a pipeline, a FIFO, a socket),
 * which the trace reader cannot map. Those are spooled into a memfd first
 * (memory as large as the trace, at most the reader's 4 GiB limit).
 */
#ifndef IPCRACE_TRACE_INPUT_H
#define IPCRACE_TRACE_INPUT_H

#include <stddef.h>
#include "../analyzer/trace.h"

/*
 * Reads the trace at path ("-": stdin). NULL + errno, err holding one
 * line naming path, when it cannot be read or is not a valid trace.
 */
struct trace *trace_input__read(const char *path, char *err, size_t errlen);
/* The same, streamed (trace__open_fd): its events are read pass by pass. */
struct trace *trace_input__open(const char *path, char *err, size_t errlen);
/* The same, fn seeing each event of the first pass (trace__open_fd_each). */
struct trace *trace_input__open_each(const char *path, trace_event_fn fn, void *ctx, char *err,
				     size_t errlen);

#endif /* IPCRACE_TRACE_INPUT_H */
