/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Writes a trace file (analyzer/trace_format.h, version 3): events coded
 * into blocks (analyzer/trace_block.h), each record framed and
 * checksummed on its own, buffered, and written out when the
 * buffer fills, when trace_writer__tick() finds the oldest buffered record
 * TRACE_WRITER_MAX_DELAY_NS old, on flush and on close. So a recording
 * killed at any instant leaves a trace that is at most ~100 ms (or one
 * buffer, 256 KiB) behind, and reads up to its last whole record.
 */
#ifndef IPCRACE_TRACE_WRITER_H
#define IPCRACE_TRACE_WRITER_H

#include "../analyzer/trace.h"

#define TRACE_WRITER_BUF		(256u * 1024u)
#define TRACE_WRITER_MAX_DELAY_NS	(100ull * 1000 * 1000)

struct trace_writer;

/*
 * Creates path with mode 0600 through tracer/output.h (never through a
 * symlink; an existing regular file is replaced, a device or FIFO written
 * as it is). NULL + errno on error.
 */
struct trace_writer *trace_writer__open(const char *path, const struct trace_header *hdr);
/* Same, on an open file descriptor the writer takes ownership of. */
struct trace_writer *trace_writer__open_fd(int fd, const struct trace_header *hdr);
/*
 * The same in a given format version: TRACE_VERSION or TRACE_VERSION_V2
 * (one EVENT record an event), which tests of the reader still write.
 */
struct trace_writer *trace_writer__open_version(int fd, const struct trace_header *hdr,
					       __u32 version);
struct trace_writer *trace_writer__open_path_version(const char *path,
						    const struct trace_header *hdr,
						    __u32 version);

/*
 * The flight recorder (tracer/flight.h): records are kept in bytes of
 * memory instead of written; trace_writer__close() writes the last window
 * to fd, and windows asked for (trace_writer__request_window, SIGUSR1) or
 * due to a traced process dying of SIGSEGV, SIGABRT or SIGBUS are written
 * at the next tick to BASE.1, BASE.2... (base: the trace's name).
 */
struct trace_writer *trace_writer__open_flight(int fd, const struct trace_header *hdr,
					      size_t bytes, const char *base);
int trace_writer__request_window(struct trace_writer *w);

/*
 * The file stops growing at max_bytes (default and at most TRACE_FILE_MAX,
 * what a reader accepts): records that would pass it are not written,
 * counted in the footer (dropped_events, dropped_records), and make the
 * trace incomplete. Room for the footer is kept.
 */
int trace_writer__set_limit(struct trace_writer *w, __u64 max_bytes);

/*
 * -EINVAL for an event type or object kind out of range (version 3: it
 * would cost its whole block), not sticky.
 */
int trace_writer__add_event(struct trace_writer *w, const struct ipcrace_event *e);
int trace_writer__add_stack(struct trace_writer *w, const struct ipcrace_stack *s);
int trace_writer__add_ustack(struct trace_writer *w, const struct ipcrace_ustack *u);
int trace_writer__add_mapping(struct trace_writer *w, const struct trace_mapping *m);
int trace_writer__add_process(struct trace_writer *w, const struct trace_process *p);
/* The watchpoints' cost and sampling, once, before trace_writer__close(). */
int trace_writer__add_watch_stats(struct trace_writer *w, const struct trace_watch_stats *st);
/* --overhead's lock sampling (TRACE_REC_LOCK_SAMPLING), before the footer. */
int trace_writer__add_lock_sampling(struct trace_writer *w, const struct trace_lock_sampling *st);
/* A stack snapshot's record as the reader takes it (TRACE_REC_USTACK or _DATA): the flight recorder's replay. */
int trace_writer__add_ustack_record(struct trace_writer *w, __u16 type, const void *data,
				    size_t len);
/*
 * Writes out what is buffered (the open block of events included) when its
 * oldest record is 100 ms old (CLOCK_MONOTONIC ns).
 */
int trace_writer__tick(struct trace_writer *w, __u64 now_ns);
int trace_writer__flush(struct trace_writer *w);
/* Bytes in the file (written), in the buffer, and the open block's record. */
__u64 trace_writer__size(const struct trace_writer *w);
/* Writes the footer, flushes and closes. Accepts NULL. */
int trace_writer__close(struct trace_writer *w, const struct trace_footer *f);

#endif /* IPCRACE_TRACE_WRITER_H */
