/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Event blocks, the EVENTS record of trace version 3 (analyzer/trace_format.h
 * describes the encoding): up to TRACE_BLOCK_MAX_EVENTS events, each coded
 * against the one before it in the block, with the block's own small tables
 * of threads, objects and stack ids. A block depends on nothing outside it,
 * so a reader resynchronizing after damage decodes the next one whole.
 *
 * The encoder (trace_block_enc) is the writer's (tracer/trace_writer.c); the
 * decoder is the reader's (analyzer/trace.c). Both are pure: no I/O.
 */
#ifndef IPCRACE_TRACE_BLOCK_H
#define IPCRACE_TRACE_BLOCK_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../bpf/events.h"
#include "trace_format.h"

/* Events in one block: bounds the reader's decode buffer (30 KiB). */
#define TRACE_BLOCK_MAX_EVENTS	256u
/* Entries of each table (threads, objects, stacks) in one block. */
#define TRACE_BLOCK_TABLE_MAX	255u
/* Most bytes one event can take (every field changing, new entries). */
#define TRACE_BLOCK_EVENT_MAX	192u
/* Bytes before the first event: the event count (__u16). */
#define TRACE_BLOCK_HDR_LEN	2u

struct trace_block_thread {
	__u32 pid;
	__u32 tid;
	char comm[IPCRACE_COMM_LEN];
};

struct trace_block_object {
	__u64 addr;
	struct ipcrace_key key;
	__u32 obj;
	__u32 __pad;
};

/* Open addressing over a table's entries: index + 1, 0 = empty. */
#define TRACE_BLOCK_HASH_SLOTS	512u

struct trace_block_enc {
	size_t len;			/* bytes in data, count included */
	unsigned nr;			/* events */
	struct ipcrace_event prev;	/* the last event added, normalized */
	unsigned nr_threads, nr_objects, nr_stacks;
	struct trace_block_thread threads[TRACE_BLOCK_TABLE_MAX];
	struct trace_block_object objects[TRACE_BLOCK_TABLE_MAX];
	__u64 stacks[TRACE_BLOCK_TABLE_MAX];
	__u16 thread_slots[TRACE_BLOCK_HASH_SLOTS];
	__u16 object_slots[TRACE_BLOCK_HASH_SLOTS];
	__u16 stack_slots[TRACE_BLOCK_HASH_SLOTS];
	unsigned char data[TRACE_RECORD_MAX];
};

/* Starts an empty block. */
void trace_block_enc__reset(struct trace_block_enc *b);
/*
 * Appends e: 0, or -ENOSPC when it does not fit (bytes, events or a
 * table full; the block is unchanged: write it, reset, add again; an
 * empty block always takes an event), -EINVAL for an event type or object
 * kind out of range (the reader would refuse the block). The event is stored as the reader
 * gives it back: hdr and padding normalized, comm up to its first NUL
 * (at most 15 bytes).
 */
int trace_block_enc__add(struct trace_block_enc *b, const struct ipcrace_event *e);
/* The record data of the block (nr set): *len bytes; NULL when empty. */
const void *trace_block_enc__finish(struct trace_block_enc *b, size_t *len);
/*
 * A block's record as written: its first two bytes get the entry count nr,
 * used bytes of data are the record (*len), NULL and 0 when nr is 0. The
 * events and the mappings encoders both end so.
 */
const void *trace_block__seal(__u8 *data, size_t nr, size_t used, size_t *len);

/* The decoder's tables, reused from block to block (about 22 KiB). */
struct trace_block_dec {
	struct trace_block_thread threads[TRACE_BLOCK_TABLE_MAX];
	struct trace_block_object objects[TRACE_BLOCK_TABLE_MAX];
	__u64 stacks[TRACE_BLOCK_TABLE_MAX];
};

/*
 * Decodes a block of len bytes (unaligned, hostile) into out[], which holds
 * TRACE_BLOCK_MAX_EVENTS: the number of events, or -EINVAL with the reason
 * in *why when any byte is not what the encoding allows (a value out of
 * range, a reference to no entry, bytes missing or left over). Events come
 * out as trace.c's event records do: hdr set, comm NUL-terminated, types
 * and object kinds in range.
 */
int trace_block__decode(struct trace_block_dec *d, const unsigned char *data, size_t len,
			struct ipcrace_event *out, const char **why);

/*
 * A varint (LEB128, at most 10 bytes) written at p: the byte after it; and
 * read from *p before end: false when cut off or longer than 64 bits.
 * Also the lengths of USTACK_ZDATA records.
 */
unsigned char *trace_block__put_varint(unsigned char *p, __u64 v);
bool trace_block__get_varint(const unsigned char **p, const unsigned char *end, __u64 *v);

#endif /* IPCRACE_TRACE_BLOCK_H */
