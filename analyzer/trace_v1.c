// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Version 1 traces (chunked; see analyzer/trace_format.h), read so that
 * recordings made before version 2 still analyze. Strict, as version 1
 * always was: a chunk with a bad magic, size or checksum, a record count
 * that does not match, a record overrunning its chunk or anything after
 * the footer refuses the file. A file that ends inside a chunk, or whose
 * tail is all zero bytes, reads up to its last whole chunk with
 * truncated = true.
 */
#include <errno.h>
#include <string.h>

#include "trace_format.h"
#include "trace_read.h"
#include "crc32.h"

static bool all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* The records of one chunk whose checksum has been verified. */
static int reader__v1_records(struct reader *r, const unsigned char *p, size_t len,
			      __u32 nr_records)
{
	struct trace_v1_record_header rh;
	size_t pos = 0;
	__u32 idx = 0;
	int err;

	while (pos < len) {
		const unsigned char *data;
		size_t room;

		if (r->footer_seen)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: record %u: "
					    "record after the footer", r->chunk_idx, r->chunk_off, idx);
		if (len - pos < sizeof(rh))
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: record %u: "
					    "header cut off at the end of the chunk",
					    r->chunk_idx, r->chunk_off, idx);
		memcpy(&rh, p + pos, sizeof(rh));
		data = p + pos + sizeof(rh);
		room = len - pos - sizeof(rh);
		if (TRACE_PAD((size_t)rh.len) > room)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: record %u: "
					    "%u bytes overrun the chunk", r->chunk_idx, r->chunk_off,
					    idx, rh.len);
		err = reader__record(r, idx, rh.type, data, rh.len);
		if (err)
			return err;
		pos += sizeof(rh) + TRACE_PAD((size_t)rh.len);
		idx++;	/* at most TRACE_V1_CHUNK_MAX / 8: no overflow */
	}
	if (idx != nr_records)
		return reader__fail(r, EINVAL, "chunk %zu at offset %zu: %u records, its header says %u",
				    r->chunk_idx, r->chunk_off, idx, nr_records);
	return 0;
}

int reader__v1_chunks(struct reader *r, size_t off)
{
	struct trace_v1_chunk_header ch;
	const unsigned char *payload;
	int err;

	for (r->chunk_idx = 0; off < r->len; r->chunk_idx++) {
		size_t left = r->len - off;

		r->chunk_off = off;
		/* blocks allocated but never written before a crash read as zeros */
		if (all_zero(r->buf + off, left) || left < sizeof(ch)) {
			r->t->truncated = true;
			r->t->tail_bytes = left;
			return 0;
		}
		memcpy(&ch, r->buf + off, sizeof(ch));
		if (ch.magic != TRACE_V1_CHUNK_MAGIC)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: bad magic 0x%08x",
					    r->chunk_idx, off, ch.magic);
		if (ch.payload_len > TRACE_V1_CHUNK_MAX)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: payload of %u bytes, "
					    "more than %u", r->chunk_idx, off, ch.payload_len,
					    TRACE_V1_CHUNK_MAX);
		if (ch.payload_len % TRACE_ALIGN)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: payload of %u bytes "
					    "is not a multiple of %u", r->chunk_idx, off,
					    ch.payload_len, TRACE_ALIGN);
		if (ch.payload_len > left - sizeof(ch)) {
			r->t->truncated = true;
			r->t->tail_bytes = left;
			return 0;
		}
		payload = r->buf + off + sizeof(ch);
		if (ipcrace_crc32(0, payload, ch.payload_len) != ch.crc)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: checksum mismatch",
					    r->chunk_idx, off);
		if (r->footer_seen)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: chunk after the footer",
					    r->chunk_idx, off);
		err = reader__v1_records(r, payload, ch.payload_len, ch.nr_records);
		if (err)
			return err;
		off += sizeof(ch) + ch.payload_len;
	}
	return 0;
}
