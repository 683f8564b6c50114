/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Internal to the trace reader (analyzer/trace.c, trace_records.c, trace_open.c,
 * trace_stream.c, trace_v1.c):
 * the parsing state and the record decoders both format versions share.
 */
#ifndef IPCRACE_TRACE_READ_H
#define IPCRACE_TRACE_READ_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include "trace.h"

/*
 * What a pass keeps. READER_ALL: everything (trace__read_*). READER_META:
 * everything but the events, which are only summarized (trace__open_fd).
 * READER_EVENTS: only the events, each handed to on_event (a later pass
 * over a file read with READER_META; its other records were checked then).
 */
enum reader_mode {
	READER_ALL,
	READER_META,
	READER_EVENTS,
};

struct keymap;
struct trace_block_dec;

struct reader {
	enum reader_mode mode;
	/*
	 * READER_EVENTS: every event. READER_META, when set: each event as
	 * the first pass takes it; its non-zero return ends the calls, not
	 * the pass (trace__open_fd_each).
	 */
	trace_event_fn on_event;
	void *ctx;
	int event_ret;			/* on_event's non-zero return */
	const struct trace *source;	/* READER_EVENTS: the trace read with READER_META */
	__u64 events_seen;		/* events decoded so far (every mode) */
	size_t next_loss;		/* READER_EVENTS: next index into source->after_loss */
	/* summaries (READER_ALL, READER_META) */
	struct keymap *seen_threads;
	struct keymap *seen_pids;
	struct keymap *seen_stacks;
	__u32 last_tid;
	__u32 last_pid;
	__u64 recent_stacks[64];	/* direct-mapped: ids already in seen_stacks */
	size_t cap_event_pids;
	size_t cap_stack_uses;
	size_t cap_after_loss;
	size_t cap_damage;
	/* a mapped file: the pages behind the reader are given back */
	bool mapped;
	size_t dropped;
	size_t populated;		/* mapped ahead up to here */
	const unsigned char *buf;
	size_t len;
	const char *name;		/* file name for messages, or NULL */
	char *err;
	size_t errlen;
	struct trace *t;
	size_t cap_events;
	size_t cap_stacks;
	size_t cap_mappings;
	size_t cap_processes;
	bool footer_seen;
	bool after_gap;			/* records were lost: flag the next event */
	/* version 3: a block's events, decoded (TRACE_BLOCK_MAX_EVENTS), and the tables */
	struct ipcrace_event *block;
	struct trace_block_dec *block_dec;
	/* where we are, for messages */
	size_t chunk_idx;
	size_t chunk_off;
};

/* Formats "trace: [NAME: ]MESSAGE" into err and returns -errnum. */
__attribute__((format(printf, 3, 4)))
int reader__fail(struct reader *r, int errnum, const char *fmt, ...);

/*
 * A message about record idx: of the current chunk in version 1, at
 * offset chunk_off in version 2.
 */
#define reader__fail_rec(r, idx, fmt, ...)						\
	((r)->t->format_version == TRACE_VERSION_V1 ?					\
	 reader__fail(r, EINVAL, "chunk %zu at offset %zu: record %u: " fmt,		\
		      (r)->chunk_idx, (r)->chunk_off, (idx), ##__VA_ARGS__) :		\
	 reader__fail(r, EINVAL, "record %u at offset %zu: " fmt,			\
		      (idx), (r)->chunk_off, ##__VA_ARGS__))

static inline int reader__nomem(struct reader *r)
{
	return reader__fail(r, ENOMEM, "out of memory");
}

/* trace_records.c: one record each, idx its number for messages */
int reader__stack(struct reader *r, __u32 idx, const unsigned char *data, __u32 len);
int reader__mapping(struct reader *r, __u32 idx, const unsigned char *data, __u32 len);
int reader__mappings(struct reader *r, __u32 idx, const unsigned char *data, __u32 len);
int reader__process(struct reader *r, __u32 idx, const unsigned char *data, __u32 len);
int reader__footer(struct reader *r, __u32 idx, const unsigned char *data, __u32 len);
int reader__watch_stats(struct reader *r, __u32 idx, const unsigned char *data, __u32 len);
int reader__lock_sampling(struct reader *r, __u32 idx, const unsigned char *data, __u32 len);
int reader__ustack(struct reader *r, __u32 idx, __u16 type, const unsigned char *data,
		   __u32 len);
int reader__ustack_zdata(struct reader *r, __u32 idx, const unsigned char *data, __u32 len);

/*
 * One record's data (len bytes, unaligned) by type: 0, -EINVAL with a
 * message when the record is not what its type says, -ENOMEM. idx names
 * the record in messages. Unknown types are skipped (a newer writer may
 * add some without a new version).
 */
int reader__record(struct reader *r, __u32 idx, __u16 type, const unsigned char *data,
		   __u32 len);

/*
 * Parses buf with r's mode (r->buf, r->len, r->name, r->err, r->errlen and
 * the mode fields set by the caller; r->t is allocated here for
 * READER_ALL and READER_META, given by the caller for READER_EVENTS).
 * 0 or a negative errno with a message in r->err; -ECANCELED when
 * on_event stopped the pass (its value in r->event_ret).
 */
int reader__parse(struct reader *r);
/*
 * Version 2, a later pass (analyzer/trace_stream.c): the records from off
 * on, skipping the first pass's damage and checking no checksum.
 */
int reader__replay_records(struct reader *r, size_t off);
/* Gives back the pages of a mapped file well behind off. */
void reader__drop_behind(struct reader *r, size_t off);

/* Frees what the summaries used while reading. */
void reader__free_summaries(struct reader *r);

/* Version 1: the chunks from off to the end of the buffer. */
int reader__v1_chunks(struct reader *r, size_t off);

/*
 * Opens path and reads it with from_fd (trace__read_fd or trace__open_fd),
 * closing it after: what trace__read_file and trace__open_file share.
 */
typedef struct trace *(*reader_from_fd_fn)(int fd, const char *name, char *err, size_t errlen);
struct trace *reader__from_path(const char *path, reader_from_fd_fn from_fd, char *err,
				size_t errlen);

#endif /* IPCRACE_TRACE_READ_H */
