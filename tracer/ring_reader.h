/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The reader of the BPF ring buffer (the `events` map), in place of
 * libbpf's ring_buffer__*: the same record walk and callback contract, but
 * the consumer position is handed back to the kernel once per batch (or
 * every RING_READER_STORE_BYTES consumed), not after every record. A BPF
 * reservation reads that position to check for room: stored per record,
 * its cache line moves to the consumer's CPU and back for every event
 * (issue 8, PostgreSQL attached).
 */
#ifndef IPCRACE_RING_READER_H
#define IPCRACE_RING_READER_H

#include <stddef.h>
#include <linux/types.h>

/*
 * A batch stores the consumer position at least every this many bytes
 * consumed, so that the producers see room soon on a full ring.
 */
#define RING_READER_STORE_BYTES (64u << 10)

/*
 * Called for every record that was submitted (not discarded), in ring
 * order; size is the record's length as reserved. 0 goes on; a negative
 * value stops the batch (the record counts as consumed) and is what
 * __poll/__consume return. As libbpf's ring_buffer_sample_fn.
 */
typedef int (*ring_reader_sample_fn)(void *ctx, void *data, size_t size);

/*
 * A ring as the kernel lays it out for a user-space consumer: the
 * consumer's position (read-write, its own page), the producer's (read
 * only) and the data area of mask + 1 bytes (a power of two) mapped twice
 * in a row, so that a record that wraps around is contiguous. Any memory
 * laid out that way will do: the unit test walks a synthetic one.
 */
struct ring_area {
	unsigned long *consumer_pos;
	const unsigned long *producer_pos;
	const void *data;
	__u64 mask;
	__u64 nr_stores;	/* consumer position stores, for -v and tests */
	int walking;		/* a callback consuming again: refused */
};

/*
 * Consumes every record committed up to the first one still being written
 * (busy). Returns the number of records passed to fn (at most INT_MAX),
 * fn's negative value, or -EBUSY when called from inside fn.
 */
int ring_area__consume(struct ring_area *a, ring_reader_sample_fn fn, void *ctx);

struct ring_reader;

/* map_fd: a BPF_MAP_TYPE_RINGBUF map. NULL with errno set on failure. */
struct ring_reader *ring_reader__new(int map_fd, ring_reader_sample_fn fn, void *ctx);
/* Waits up to timeout_ms (-1: forever) for a wake-up, then consumes. */
int ring_reader__poll(struct ring_reader *r, int timeout_ms);
/* Consumes what is there, without waiting. */
int ring_reader__consume(struct ring_reader *r);
/* Readable when the kernel woke the consumer: for the caller's own epoll. */
int ring_reader__epoll_fd(const struct ring_reader *r);
/* Consumer position stores so far (once per batch, not per record). */
__u64 ring_reader__nr_stores(const struct ring_reader *r);
void ring_reader__free(struct ring_reader *r);

#endif /* IPCRACE_RING_READER_H */
