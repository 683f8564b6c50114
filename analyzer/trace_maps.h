/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Mapping blocks, the MAPPINGS record of trace version 3
 * (analyzer/trace_format.h describes the encoding): consecutive mapping
 * records (a /proc/PID/maps snapshot is hundreds of lines, most of them
 * segments of the file before them) each coded against the one before it
 * in the block. Like event blocks, a block depends on nothing outside it.
 * The encoder is the writer's, the decoder the reader's; both pure.
 */
#ifndef IPCRACE_TRACE_MAPS_H
#define IPCRACE_TRACE_MAPS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "trace.h"
#include "trace_format.h"

/* Mappings in one block. */
#define TRACE_MAPS_MAX_ENTRIES	512u
/* Bytes before the first entry: the count (__u16). */
#define TRACE_MAPS_HDR_LEN	2u

struct trace_maps_enc {
	size_t len;			/* bytes in data, count included */
	unsigned nr;
	struct trace_mapping prev;	/* the last one added */
	unsigned char data[TRACE_RECORD_MAX];
};

void trace_maps_enc__reset(struct trace_maps_enc *b);
/*
 * Appends m: 0, -ENOSPC when it does not fit (the block is unchanged:
 * write it, reset, add again; an empty block always takes a valid
 * mapping), -EINVAL when the reader would refuse it (start after end, a
 * build-id over TRACE_BUILD_ID_MAX bytes). Stored as the reader gives it
 * back: padding 0, path up to its first NUL (at most 255 bytes).
 */
int trace_maps_enc__add(struct trace_maps_enc *b, const struct trace_mapping *m);
/* The record data of the block (count set): *len bytes; NULL when empty. */
const void *trace_maps_enc__finish(struct trace_maps_enc *b, size_t *len);

/*
 * Decodes a block of len bytes (unaligned, hostile) into out[], which
 * holds TRACE_MAPS_MAX_ENTRIES: the number of mappings, or -EINVAL with
 * the reason in *why when any byte breaks the encoding (out[] is then
 * partly written, nothing else).
 */
int trace_maps__decode(const unsigned char *data, size_t len, struct trace_mapping *out,
		       const char **why);

#endif /* IPCRACE_TRACE_MAPS_H */
