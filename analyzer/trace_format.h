/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * On-disk layout of an ipcrace trace, version 1. Shared by the writer
 * (tracer/trace_writer.c) and the reader (analyzer/trace.c).
 *
 *   struct trace_file_prefix          24 bytes
 *   struct trace_header               prefix.header_size bytes
 *   chunk*                            until end of file
 *
 *   chunk  = struct trace_chunk_header, then payload_len bytes of records
 *   record = struct trace_record_header, then len bytes of data, zero
 *            padded to a multiple of 8 (the padding is counted in the
 *            chunk's payload_len, not in the record's len)
 *
 * Every integer is in the byte order of the host that wrote the file; the
 * prefix records it (byte_order) so a reader on another kind of host
 * refuses the file with a clear error instead of misreading it.
 *
 * Chunks are written whole, each with a CRC-32 of its payload, so a trace
 * cut off by a crash reads up to its last whole chunk. A record never spans
 * two chunks. The FOOTER record is the last record of the last chunk: its
 * absence means the recording did not finish.
 *
 * Record data is the in-memory struct byte for byte (the sizes are checked
 * below with _Static_assert so the format cannot drift silently), except
 * STACK, which stores only the nr frames in use.
 */
#ifndef IPCRACE_TRACE_FORMAT_H
#define IPCRACE_TRACE_FORMAT_H

#include <linux/types.h>
#include <stddef.h>
#include "trace.h"

#define TRACE_MAGIC		"IPCRACE"	/* 8 bytes with its NUL */
#define TRACE_MAGIC_LEN		8
#define TRACE_VERSION		1
/* Written as a u32 in host order: reads 0x04030201 on a foreign host. */
#define TRACE_BYTE_ORDER	0x01020304u
#define TRACE_BYTE_ORDER_SWAPPED 0x04030201u

struct trace_file_prefix {
	char magic[TRACE_MAGIC_LEN];	/* "IPCRACE\0" */
	__u32 version;			/* TRACE_VERSION */
	__u32 header_size;		/* sizeof(struct trace_header) */
	__u32 byte_order;		/* TRACE_BYTE_ORDER */
	__u32 header_crc;		/* CRC-32 of the header that follows */
};

/* "ICHK" when read as bytes on a little-endian host. */
#define TRACE_CHUNK_MAGIC	0x4b484349u
/* Largest payload a writer produces and a reader accepts. */
#define TRACE_CHUNK_MAX		(256u * 1024u)

struct trace_chunk_header {
	__u32 magic;			/* TRACE_CHUNK_MAGIC */
	__u32 payload_len;		/* bytes after this header, <= TRACE_CHUNK_MAX */
	__u32 nr_records;
	__u32 crc;			/* CRC-32 of the payload */
};

enum trace_record_type {
	TRACE_REC_EVENT = 1,		/* struct ipcrace_event */
	TRACE_REC_STACK = 2,		/* struct ipcrace_stack up to ips[nr] */
	TRACE_REC_MAPPING = 3,		/* struct trace_mapping */
	TRACE_REC_PROCESS = 4,		/* struct trace_process */
	TRACE_REC_FOOTER = 5,		/* struct trace_footer */
};

struct trace_record_header {
	__u16 type;			/* enum trace_record_type */
	__u16 reserved;			/* 0 */
	__u32 len;			/* data bytes, without padding */
};

#define TRACE_ALIGN		8u
#define TRACE_PAD(n)		(((n) + (TRACE_ALIGN - 1)) & ~(size_t)(TRACE_ALIGN - 1))

/* Bytes of a STACK record holding nr frames. */
#define TRACE_STACK_LEN(nr)	(offsetof(struct ipcrace_stack, ips) + (size_t)(nr) * sizeof(__u64))

/*
 * Sizes are the format: a change to any of these structs is a new
 * version of the file, not a silent drift.
 */
_Static_assert(sizeof(struct trace_file_prefix) == 24, "trace_file_prefix size");
_Static_assert(sizeof(struct trace_chunk_header) == 16, "trace_chunk_header size");
_Static_assert(sizeof(struct trace_record_header) == 8, "trace_record_header size");
_Static_assert(sizeof(struct trace_header) == 664, "trace_header size");
_Static_assert(sizeof(struct ipcrace_event) == 120, "ipcrace_event size");
_Static_assert(sizeof(struct ipcrace_stack) == 24 + 8 * IPCRACE_MAX_STACK, "ipcrace_stack size");
_Static_assert(offsetof(struct ipcrace_stack, ips) == 24, "ipcrace_stack frames offset");
_Static_assert(sizeof(struct trace_mapping) == 344, "trace_mapping size");
_Static_assert(sizeof(struct trace_process) == 296, "trace_process size");
_Static_assert(sizeof(struct trace_footer) == 56, "trace_footer size");

#endif /* IPCRACE_TRACE_FORMAT_H */
