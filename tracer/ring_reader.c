// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The BPF ring buffer's consumer side (see ring_reader.h for why not
 * libbpf's). The layout and the ordering are the kernel's contract for a
 * user-space consumer of BPF_MAP_TYPE_RINGBUF (kernel/bpf/ringbuf.c):
 *
 * - offset 0 of the map fd, one page, read-write: the consumer position;
 * - offset one page, read-only: the producer position's page, then the
 *   data area, which the kernel maps twice in a row so that a record
 *   running past the end continues in the second copy;
 * - a record is an 8-byte header (a 32-bit length whose top bits say busy,
 *   still being written, or discarded, and the kernel's page offset),
 *   then the sample; records start 8-byte aligned;
 * - the producer position grows at reservation, before the record is
 *   written: a record between the consumer and the producer position may
 *   still be busy, and nothing after it is read until it is committed. The
 *   commit clears the busy bit with release semantics, so the header is
 *   read with acquire semantics before the sample;
 * - the consumer position is stored with release semantics, once our reads
 *   of the records it passes are done: after it, the kernel may reuse them.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "ring_reader.h"

struct ring_reader {
	struct ring_area area;
	ring_reader_sample_fn fn;
	void *ctx;
	int epoll_fd;
	void *consumer_page;	/* MAP_FAILED until mapped */
	void *producer_map;	/* producer page + data area twice */
	size_t page_size;
	size_t producer_len;
};

#define RECORD_LEN_FLAGS (BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)

/* Bytes of the ring a record takes: header and sample, 8-byte aligned. */
static unsigned long record_span(__u32 len)
{
	return ((len & ~RECORD_LEN_FLAGS) + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
}

static void store_consumer_pos(struct ring_area *a, unsigned long pos)
{
	__atomic_store_n(a->consumer_pos, pos, __ATOMIC_RELEASE);
	a->nr_stores++;
}

int ring_area__consume(struct ring_area *a, ring_reader_sample_fn fn, void *ctx)
{
	unsigned long cons, prod, stored;
	int nr = 0, err = 0;
	bool progress;

	if (a->walking)
		return -EBUSY;
	a->walking = 1;
	/* only we write it: the value we stored last */
	cons = stored = __atomic_load_n(a->consumer_pos, __ATOMIC_RELAXED);
	do {
		/* records seen below this position are reserved: their headers are there */
		prod = __atomic_load_n(a->producer_pos, __ATOMIC_ACQUIRE);
		progress = false;
		while (cons < prod) {
			const __u32 *hdr = (const __u32 *)((const char *)a->data + (cons & a->mask));
			__u32 len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto out;
			progress = true;
			cons += record_span(len);
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				err = fn(ctx, (void *)(uintptr_t)(hdr + BPF_RINGBUF_HDR_SZ / sizeof(*hdr)),
					 len & ~RECORD_LEN_FLAGS);
				if (err < 0)
					goto out;
				if (nr < INT_MAX)
					nr++;
			}
			/* a long batch on a full ring: room for the producers meanwhile */
			if (cons - stored >= RING_READER_STORE_BYTES) {
				store_consumer_pos(a, cons);
				stored = cons;
			}
		}
		/* what was committed while we read: the same batch */
	} while (progress);
out:
	if (cons != stored)
		store_consumer_pos(a, cons);
	a->walking = 0;
	return err < 0 ? err : nr;
}

struct ring_reader *ring_reader__new(int map_fd, ring_reader_sample_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	struct epoll_event ev = { .events = EPOLLIN };
	struct ring_reader *r;
	long page;
	int err;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &info_len)) {
		err = -errno;
		goto fail;
	}
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1))) {
		err = -EINVAL;
		goto fail;
	}
	page = sysconf(_SC_PAGESIZE);
	if (page <= 0) {
		err = -EINVAL;
		goto fail;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		err = -ENOMEM;
		goto fail;
	}
	r->fn = fn;
	r->ctx = ctx;
	r->epoll_fd = -1;
	r->consumer_page = r->producer_map = MAP_FAILED;
	r->page_size = page;
	r->producer_len = r->page_size + 2 * (size_t)info.max_entries;
	r->consumer_page = mmap(NULL, r->page_size, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (r->consumer_page == MAP_FAILED) {
		err = -errno;
		goto fail_free;
	}
	r->producer_map = mmap(NULL, r->producer_len, PROT_READ, MAP_SHARED, map_fd, r->page_size);
	if (r->producer_map == MAP_FAILED) {
		err = -errno;
		goto fail_free;
	}
	r->area.consumer_pos = r->consumer_page;
	r->area.producer_pos = r->producer_map;
	r->area.data = (const char *)r->producer_map + r->page_size;
	r->area.mask = info.max_entries - 1;
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epoll_fd < 0) {
		err = -errno;
		goto fail_free;
	}
	if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, map_fd, &ev)) {
		err = -errno;
		goto fail_free;
	}
	return r;
fail_free:
	ring_reader__free(r);
fail:
	errno = -err;
	return NULL;
}

int ring_reader__consume(struct ring_reader *r)
{
	return ring_area__consume(&r->area, r->fn, r->ctx);
}

int ring_reader__poll(struct ring_reader *r, int timeout_ms)
{
	struct epoll_event ev;
	int n = epoll_wait(r->epoll_fd, &ev, 1, timeout_ms);

	if (n < 0)
		return -errno;
	return n ? ring_reader__consume(r) : 0;
}

int ring_reader__epoll_fd(const struct ring_reader *r)
{
	return r->epoll_fd;
}

__u64 ring_reader__nr_stores(const struct ring_reader *r)
{
	return r->area.nr_stores;
}

void ring_reader__free(struct ring_reader *r)
{
	if (!r)
		return;
	if (r->epoll_fd >= 0)
		close(r->epoll_fd);
	if (r->producer_map != MAP_FAILED)
		munmap(r->producer_map, r->producer_len);
	if (r->consumer_page != MAP_FAILED)
		munmap(r->consumer_page, r->page_size);
	free(r);
}
