/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * On-disk layout of an ipcrace trace, version 3. Shared by the writer
 * (tracer/trace_writer.c) and the reader (analyzer/trace.c; version 1 in
 * analyzer/trace_v1.c; event blocks in analyzer/trace_block.c, mapping
 * blocks in analyzer/trace_maps.c).
 *
 *   struct trace_file_prefix          24 bytes
 *   struct trace_header               prefix.header_size bytes
 *   record*                           until end of file
 *
 *   record = struct trace_record_header (16 bytes), then len bytes of
 *            data, zero padded to a multiple of 8
 *
 * Every record is its own resynchronization point: it starts with a magic
 * word, carries its sequence number (0, 1, 2... in file order) and a
 * CRC-32 of its header and padded data. So a trace cut anywhere reads every
 * whole record before the cut, and a damaged region costs only the records
 * it touched: the reader scans forward, 8 bytes at a time, to the next
 * record whose magic and checksum hold, and the jump in sequence numbers
 * says how many were skipped. There are no chunks: the writer buffers
 * records and writes them out when its buffer fills and at least every
 * 100 ms, and nothing depends on a write being whole.
 *
 * Every integer is in the byte order of the host that wrote the file; the
 * prefix records it (byte_order) so a reader on another kind of host
 * refuses the file with a clear error instead of misreading it.
 *
 * The FOOTER record is the last record: its absence means the recording
 * did not finish.
 *
 * Record data is the in-memory struct byte for byte (the sizes are checked
 * below with _Static_assert so the format cannot drift silently), except
 * STACK, which stores only the nr frames in use, and the version 3
 * records below (EVENTS, MAPPINGS, USTACK_ZDATA, a shortened MAPPING).
 *
 * Version 3 is version 2's framing with the events in EVENTS records
 * ("blocks") instead of one 120-byte EVENT record each: 136 bytes an event
 * become ~5 on a lock workload. A block holds 1 to TRACE_BLOCK_MAX_EVENTS
 * (256) events in at most TRACE_RECORD_MAX bytes:
 *
 *   __u16 nr                          events in the block
 *   event*                            nr of them
 *
 * Each event is coded against the one before it in the block; before the
 * first, that is an event of all zeros (pid 0, tid 0, comm "", no object,
 * stack 0). Integers are varints (LEB128: 7 bits a byte, low first, high
 * bit = more; at most 10 bytes); "zz" is a zigzag varint of a difference
 * taken modulo 2^64 ((d << 1) ^ (d >> 63): small either way). An event:
 *
 *   u8 ctl                            which fields follow (bits below)
 *   [type]       ctl & 0x01           varint; always in the first event
 *   zz ts - previous ts               always (may go back: CPUs race)
 *   [thread]     ctl & 0x02           pid, tid, comm changed: a reference
 *   [object]     ctl & 0x04           addr, obj, key changed: a reference
 *   [stack]      ctl & 0x08           varint: 0 = no stack, k = entry k-1
 *                                     of the block's stack table, one past
 *                                     the table = a new entry: the id as a
 *                                     raw __u64 follows
 *   [arg0]       ctl & 0x10           zz arg0 - previous arg0
 *   [arg1]       ctl & 0x20           zz arg1 - previous arg1
 *   [result]     ctl & 0x40           zz result (it fits an __s32)
 *   [flags]      ctl & 0x80           varint flags (fits an __u32)
 *
 * A thread or object reference is a varint index into the block's table;
 * the index one past its last entry is a new entry, whose fields follow:
 *   thread: varint pid, zz tid - pid, u8 n (<= 15), n bytes of comm;
 *   object: zz addr - previous addr, varint obj, varint key.space,
 *           zz key.a - previous key.a,
 *           zz (key.b - addr) - (previous key.b - previous addr),
 *           zz (key.c - addr) - (previous key.c - previous addr)
 *           (a private key's b is its address, a file key's c its offset:
 *           both code to a byte).
 * Each table holds at most TRACE_BLOCK_TABLE_MAX (255) entries. The hdr
 * and padding fields of struct ipcrace_event are not stored (the reader
 * sets them), nor comm past its first NUL. A block that breaks any rule
 * (a value out of its field's range, a reference past its table, bytes
 * cut or left over) is skipped whole like a record of bad checksum: no
 * event of it is used. So damage costs at most one block of events, and
 * a reader decoding a block needs nothing from outside it.
 *
 * Consecutive mappings (a snapshot of /proc/PID/maps) travel in MAPPINGS
 * blocks the same way: __u16 nr (1 to 512), then each mapping against the
 * one before it (all zeros before the first):
 *
 *   u8 ctl                            which fields follow
 *   [zz ts - previous ts]             ctl & 0x01
 *   [varint pid]                      ctl & 0x02
 *   [file]                            ctl & 0x04: varint dev, varint ino,
 *                                     u8 n (<= 20), n bytes of build-id,
 *                                     u8 n, n bytes of path (no NUL)
 *   [varint prot, varint flags]       ctl & 0x08
 *   zz start - previous end
 *   varint end - start
 *   zz pgoff - (previous pgoff + previous end - previous start)
 *
 * (other ctl bits: the block breaks the rules). A single MAPPING record
 * (one the block refuses: start after end) stops after the NUL that ends
 * its path; the reader zero-fills the rest of struct trace_mapping. A
 * stack snapshot part whose bytes have runs of
 * zeros is a USTACK_ZDATA record: struct trace_ustack_data (len = the
 * bytes once expanded, at most USTACK_PART_MAX), then pairs of varints
 * (zero bytes, literal bytes) each followed by its literal bytes, up to
 * exactly len bytes and the record's end (about half of a stack is zeros).
 *
 * Version 3 files may still hold EVENT records (a reader takes both);
 * version 2 files have only EVENT records. The version number changed so
 * that a version 2 reader refuses a version 3 file instead of skipping its
 * blocks as records of unknown type.
 *
 * Version 1 (read, never written) had no per-record framing: chunks of up
 * to 256 KiB with one CRC each, records with an 8-byte header inside.
 */
#ifndef IPCRACE_TRACE_FORMAT_H
#define IPCRACE_TRACE_FORMAT_H

#include <linux/types.h>
#include <stddef.h>
#include "trace.h"

#define TRACE_MAGIC		"IPCRACE"	/* 8 bytes with its NUL */
#define TRACE_MAGIC_LEN		8
#define TRACE_VERSION		3
#define TRACE_VERSION_V2	2	/* one EVENT record an event: still read */
#define TRACE_VERSION_V1	1	/* chunked: still read */
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

enum trace_record_type {
	TRACE_REC_EVENT = 1,		/* struct ipcrace_event */
	TRACE_REC_STACK = 2,		/* struct ipcrace_stack up to ips[nr] */
	TRACE_REC_MAPPING = 3,		/* struct trace_mapping */
	TRACE_REC_PROCESS = 4,		/* struct trace_process */
	TRACE_REC_FOOTER = 5,		/* struct trace_footer */
	TRACE_REC_USTACK = 6,		/* struct trace_ustack (analyzer/ustack.h) */
	TRACE_REC_USTACK_DATA = 7,	/* struct trace_ustack_data, then its bytes */
	TRACE_REC_EVENTS = 8,		/* version 3: a block of coded events (above) */
	TRACE_REC_USTACK_ZDATA = 9,	/* version 3: USTACK_DATA without its zero runs (above) */
	TRACE_REC_MAPPINGS = 10,	/* version 3: a block of coded mappings (above) */
	TRACE_REC_WATCH_STATS = 11,	/* version 3: struct trace_watch_stats, before the footer */
	TRACE_REC_LOCK_SAMPLING = 12,	/* version 3: struct trace_lock_sampling, before the footer */
};

/* "IRec" when read as bytes on a little-endian host. */
#define TRACE_RECORD_MAGIC	0x63655249u
/*
 * Largest data a writer produces and a reader accepts. Small on purpose:
 * resynchronizing tries a checksum at each 8-byte position whose word is
 * the magic, and this bounds what one try can cost.
 */
#define TRACE_RECORD_MAX	4096u

struct trace_record_header {
	__u32 magic;			/* TRACE_RECORD_MAGIC */
	__u16 type;			/* enum trace_record_type */
	__u16 len;			/* data bytes, without padding, <= TRACE_RECORD_MAX */
	__u32 seq;			/* records before this one in the file */
	__u32 crc;			/* CRC-32 of the 12 bytes above, then the padded data */
};

/* Version 1: "ICHK" when read as bytes on a little-endian host. */
#define TRACE_V1_CHUNK_MAGIC	0x4b484349u
/* Version 1: largest chunk payload. */
#define TRACE_V1_CHUNK_MAX	(256u * 1024u)

struct trace_v1_chunk_header {
	__u32 magic;			/* TRACE_V1_CHUNK_MAGIC */
	__u32 payload_len;		/* bytes after this header, <= TRACE_V1_CHUNK_MAX */
	__u32 nr_records;
	__u32 crc;			/* CRC-32 of the payload */
};

struct trace_v1_record_header {
	__u16 type;			/* enum trace_record_type */
	__u16 reserved;			/* 0 */
	__u32 len;			/* data bytes, without padding */
};

/* Version 1 footer: struct trace_footer up to watched_words. */
#define TRACE_V1_FOOTER_LEN	56u
/*
 * Version 2 footers are at least this long (up to dropped_records, as the
 * first version 2 writer made them) and at most sizeof(struct
 * trace_footer); the fields a shorter one lacks read as 0.
 */
#define TRACE_V2_FOOTER_MIN	72u

/*
 * Largest file a reader maps (larger ones are refused); the writer stops
 * writing records before it (footer.dropped_*), so every trace it writes
 * can be read.
 */
#define TRACE_FILE_MAX		(4ull << 30)

#define TRACE_ALIGN		8u
#define TRACE_PAD(n)		(((n) + (TRACE_ALIGN - 1)) & ~(size_t)(TRACE_ALIGN - 1))

/* Bytes of a STACK record holding nr frames. */
#define TRACE_STACK_LEN(nr)	(offsetof(struct ipcrace_stack, ips) + (size_t)(nr) * sizeof(__u64))

/*
 * Sizes are the format: a change to any of these structs is a new
 * version of the file, not a silent drift.
 */
_Static_assert(sizeof(struct trace_file_prefix) == 24, "trace_file_prefix size");
_Static_assert(sizeof(struct trace_record_header) == 16, "trace_record_header size");
_Static_assert(sizeof(struct trace_v1_chunk_header) == 16, "trace_v1_chunk_header size");
_Static_assert(sizeof(struct trace_v1_record_header) == 8, "trace_v1_record_header size");
_Static_assert(sizeof(struct trace_header) == 664, "trace_header size");
_Static_assert(sizeof(struct ipcrace_event) == 120, "ipcrace_event size");
/* the event block decoder stores these pairs as one 8-byte word (little-endian host) */
_Static_assert(offsetof(struct ipcrace_event, key.space) == 72 &&
	       offsetof(struct ipcrace_event, key.__pad) == 76 &&
	       offsetof(struct ipcrace_event, pid) == 80 && offsetof(struct ipcrace_event, tid) == 84 &&
	       offsetof(struct ipcrace_event, type) == 88 && offsetof(struct ipcrace_event, obj) == 90 &&
	       offsetof(struct ipcrace_event, result) == 92 &&
	       offsetof(struct ipcrace_event, flags) == 96 && offsetof(struct ipcrace_event, __pad) == 100,
	       "ipcrace_event layout the block decoder stores");
_Static_assert(sizeof(struct ipcrace_stack) == 24 + 8 * IPCRACE_MAX_STACK, "ipcrace_stack size");
_Static_assert(offsetof(struct ipcrace_stack, ips) == 24, "ipcrace_stack frames offset");
_Static_assert(sizeof(struct trace_mapping) == 344, "trace_mapping size");
_Static_assert(sizeof(struct trace_process) == 296, "trace_process size");
_Static_assert(sizeof(struct trace_footer) == 96, "trace_footer size");
_Static_assert(sizeof(struct trace_watch_stats) == 72, "trace_watch_stats size");
_Static_assert(sizeof(struct trace_lock_sampling) == 56, "trace_lock_sampling size");
_Static_assert(offsetof(struct trace_footer, window_start_ns) == TRACE_V2_FOOTER_MIN,
	       "the first v2 footer is a prefix of today's");
_Static_assert(offsetof(struct trace_footer, dropped_events) == TRACE_V1_FOOTER_LEN,
	       "v1 footer is a prefix of v2's");

#endif /* IPCRACE_TRACE_FORMAT_H */
