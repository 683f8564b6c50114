/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Internal to the trace reader (analyzer/trace.c, analyzer/trace_v1.c):
 * the parsing state and the record decoders both format versions share.
 */
#ifndef IPCRACE_TRACE_READ_H
#define IPCRACE_TRACE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include "trace.h"

struct reader {
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
	/* where we are, for messages */
	size_t chunk_idx;
	size_t chunk_off;
};

/* Formats "trace: [NAME: ]MESSAGE" into err and returns -errnum. */
__attribute__((format(printf, 3, 4)))
int reader__fail(struct reader *r, int errnum, const char *fmt, ...);

/*
 * One record's data (len bytes, unaligned) by type: 0, -EINVAL with a
 * message when the record is not what its type says, -ENOMEM. idx names
 * the record in messages. Unknown types are skipped (a newer writer may
 * add some without a new version).
 */
int reader__record(struct reader *r, __u32 idx, __u16 type, const unsigned char *data,
		   __u32 len);

/* Version 1: the chunks from off to the end of the buffer. */
int reader__v1_chunks(struct reader *r, size_t off);

#endif /* IPCRACE_TRACE_READ_H */
