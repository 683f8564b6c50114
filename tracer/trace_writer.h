/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Writes a trace file in chunks (analyzer/trace_format.h). A chunk is
 * flushed when it is full, on trace_writer__flush() and on close, so a
 * recording killed mid-way still reads up to its last whole chunk.
 */
#ifndef IPCRACE_TRACE_WRITER_H
#define IPCRACE_TRACE_WRITER_H

#include "../analyzer/trace.h"

struct trace_writer;

/* Creates path with mode 0600 (truncating it). NULL + errno on error. */
struct trace_writer *trace_writer__open(const char *path, const struct trace_header *hdr);
/* Same, on an open file descriptor the writer takes ownership of. */
struct trace_writer *trace_writer__open_fd(int fd, const struct trace_header *hdr);

int trace_writer__add_event(struct trace_writer *w, const struct ipcrace_event *e);
int trace_writer__add_stack(struct trace_writer *w, const struct ipcrace_stack *s);
int trace_writer__add_mapping(struct trace_writer *w, const struct trace_mapping *m);
int trace_writer__add_process(struct trace_writer *w, const struct trace_process *p);
int trace_writer__flush(struct trace_writer *w);
/* Writes the footer, flushes and closes. Accepts NULL. */
int trace_writer__close(struct trace_writer *w, const struct trace_footer *f);

#endif /* IPCRACE_TRACE_WRITER_H */
