// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The ring reader's record walk on a synthetic ring in ordinary memory,
 * laid out as the kernel lays out BPF_MAP_TYPE_RINGBUF for a consumer: the
 * data area is a memfd mapped twice in a row, so a record running past the
 * end is read from the second copy as from the kernel's mapping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "tracer/ring_reader.h"

struct ring {
	struct ring_area area;
	unsigned long consumer_pos;
	unsigned long producer_pos;
	unsigned char *data;	/* size * 2 bytes: the same pages twice */
	size_t size;
};

static void ring_init(struct ring *r, size_t size, unsigned long start)
{
	int fd = memfd_create("ring_reader_test", MFD_CLOEXEC);
	unsigned char *base;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	base = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	assert_true(mmap(base, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == base);
	assert_true(mmap(base + size, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    base + size);
	close(fd);
	memset(r, 0, sizeof(*r));
	r->data = base;
	r->size = size;
	r->consumer_pos = r->producer_pos = start;
	r->area.consumer_pos = &r->consumer_pos;
	r->area.producer_pos = &r->producer_pos;
	r->area.data = base;
	r->area.mask = size - 1;
}

static void ring_fini(struct ring *r)
{
	munmap(r->data, 2 * r->size);
}

/*
 * Reserves a record of len bytes as bpf_ringbuf_reserve does (busy, the
 * producer position past it) and fills its sample with its first byte
 * value counting up. Written through the first copy only, byte by byte
 * modulo the size: the wrap must come from the double mapping.
 */
static unsigned long produce(struct ring *r, __u32 len, unsigned char first, __u32 flags)
{
	unsigned long pos = r->producer_pos;
	__u32 hdr[2] = { len | BPF_RINGBUF_BUSY_BIT, 0 };

	for (size_t i = 0; i < sizeof(hdr); i++)
		r->data[(pos + i) & (r->size - 1)] = ((unsigned char *)hdr)[i];
	for (__u32 i = 0; i < len; i++)
		r->data[(pos + BPF_RINGBUF_HDR_SZ + i) & (r->size - 1)] = (unsigned char)(first + i);
	r->producer_pos = pos + ((len + BPF_RINGBUF_HDR_SZ + 7) & ~7u);
	/* committed, or discarded, unless the test leaves it busy */
	if (!(flags & BPF_RINGBUF_BUSY_BIT)) {
		__u32 committed = len | (flags & BPF_RINGBUF_DISCARD_BIT);

		for (size_t i = 0; i < sizeof(committed); i++)
			r->data[(pos + i) & (r->size - 1)] = ((unsigned char *)&committed)[i];
	}
	return pos;
}

static void commit(struct ring *r, unsigned long pos)
{
	__u32 *hdr = (__u32 *)(r->data + (pos & (r->size - 1)));

	*hdr &= ~BPF_RINGBUF_BUSY_BIT;
}

struct seen {
	struct ring *ring;
	unsigned char first[256];
	__u32 len[256];
	unsigned long cons_during[256];	/* the consumer position at each call */
	int nr;
	int fail_at;			/* the call that returns -EIO; -1: none */
	int nested;			/* consume again from the callback: its result */
	int bad_bytes;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	const unsigned char *p = data;
	int i = s->nr++;

	if (i < 256) {
		s->first[i] = size ? p[0] : 0;
		s->len[i] = size;
		s->cons_during[i] = s->ring->consumer_pos;
	}
	for (size_t k = 0; k < size; k++)
		if (p[k] != (unsigned char)(p[0] + k))
			s->bad_bytes++;
	if (s->nested == 1)
		s->nested = ring_area__consume(&s->ring->area, on_sample, s);
	return i == s->fail_at ? -EIO : 0;
}

static void seen_init(struct seen *s, struct ring *r)
{
	memset(s, 0, sizeof(*s));
	s->ring = r;
	s->fail_at = -1;
}

static void test_records_in_order_and_one_store_per_batch(void **state)
{
	struct ring r;
	struct seen s;
	(void)state;

	ring_init(&r, 4096, 0);
	seen_init(&s, &r);
	produce(&r, 120, 10, 0);
	produce(&r, 13, 50, 0);	/* not a multiple of 8: the next one aligned */
	produce(&r, 280, 90, 0);
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 3);
	assert_int_equal(s.nr, 3);
	assert_int_equal(s.len[0], 120);
	assert_int_equal(s.len[1], 13);
	assert_int_equal(s.len[2], 280);
	assert_int_equal(s.first[0], 10);
	assert_int_equal(s.first[1], 50);
	assert_int_equal(s.first[2], 90);
	assert_int_equal(s.bad_bytes, 0);
	/* handed back once, at the end of the batch, not after each record */
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.cons_during[i], 0);
	assert_int_equal(r.consumer_pos, r.producer_pos);
	assert_int_equal(r.consumer_pos, 128 + 24 + 288);
	assert_int_equal(r.area.nr_stores, 1);
	/* nothing new: nothing called, nothing stored */
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 0);
	assert_int_equal(s.nr, 3);
	assert_int_equal(r.area.nr_stores, 1);
	ring_fini(&r);
}

static void test_busy_record_stops_the_walk(void **state)
{
	struct ring r;
	struct seen s;
	unsigned long busy;
	(void)state;

	ring_init(&r, 4096, 0);
	seen_init(&s, &r);
	produce(&r, 16, 1, 0);
	busy = produce(&r, 24, 2, BPF_RINGBUF_BUSY_BIT);
	produce(&r, 32, 3, 0);	/* committed, but after a busy one */
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 1);
	assert_int_equal(s.first[0], 1);
	assert_int_equal(r.consumer_pos, busy);
	commit(&r, busy);
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 2);
	assert_int_equal(s.nr, 3);
	assert_int_equal(s.first[1], 2);
	assert_int_equal(s.first[2], 3);
	assert_int_equal(r.consumer_pos, r.producer_pos);
	assert_int_equal(s.bad_bytes, 0);
	ring_fini(&r);
}

static void test_discarded_records_skipped(void **state)
{
	struct ring r;
	struct seen s;
	(void)state;

	ring_init(&r, 4096, 0);
	seen_init(&s, &r);
	produce(&r, 40, 1, BPF_RINGBUF_DISCARD_BIT);
	produce(&r, 40, 2, 0);
	produce(&r, 40, 3, BPF_RINGBUF_DISCARD_BIT);
	produce(&r, 40, 4, 0);
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 2);
	assert_int_equal(s.first[0], 2);
	assert_int_equal(s.first[1], 4);
	assert_int_equal(r.consumer_pos, r.producer_pos);
	/* only discarded ones: consumed all the same */
	produce(&r, 8, 5, BPF_RINGBUF_DISCARD_BIT);
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 0);
	assert_int_equal(s.nr, 2);
	assert_int_equal(r.consumer_pos, r.producer_pos);
	ring_fini(&r);
}

static void test_record_across_the_end_read_whole(void **state)
{
	size_t size = sysconf(_SC_PAGESIZE);
	struct ring r;
	struct seen s;
	(void)state;

	/* positions keep growing: the third time round, 24 bytes before the end */
	ring_init(&r, size, 3 * size - 24);
	seen_init(&s, &r);
	produce(&r, 100, 7, 0);	/* header and 16 bytes before the end, 84 after */
	produce(&r, 20, 200, 0);	/* after the wrap, at the start of the pages */
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 2);
	assert_int_equal(s.len[0], 100);
	assert_int_equal(s.first[0], 7);
	assert_int_equal(s.first[1], 200);
	assert_int_equal(s.bad_bytes, 0);
	assert_int_equal(r.consumer_pos, 3 * size - 24 + 112 + 32);
	ring_fini(&r);
}

static void test_callback_error_stops_the_batch(void **state)
{
	struct ring r;
	struct seen s;
	unsigned long third;
	(void)state;

	ring_init(&r, 4096, 0);
	seen_init(&s, &r);
	s.fail_at = 1;
	produce(&r, 16, 1, 0);
	produce(&r, 16, 2, 0);
	third = produce(&r, 16, 3, 0);
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), -EIO);
	assert_int_equal(s.nr, 2);
	/* the failing record counts as consumed; the rest waits */
	assert_int_equal(r.consumer_pos, third);
	s.fail_at = -1;
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 1);
	assert_int_equal(s.first[2], 3);
	assert_int_equal(r.consumer_pos, r.producer_pos);
	ring_fini(&r);
}

static void test_long_batch_stores_every_64k(void **state)
{
	struct ring r;
	struct seen s;
	unsigned long prev = 0;
	(void)state;

	ring_init(&r, 256 << 10, 0);
	seen_init(&s, &r);
	/* 200 records of 1008 bytes: stores after 66, 132, 198 and at the end */
	for (int i = 0; i < 200; i++)
		produce(&r, 1000, (unsigned char)i, 0);
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 200);
	assert_int_equal(s.bad_bytes, 0);
	assert_int_equal(r.area.nr_stores, 4);
	assert_int_equal(r.consumer_pos, 200 * 1008);
	for (int i = 0; i < 200; i++) {
		/* never more than 64 KiB behind the record read */
		assert_true((unsigned long)i * 1008 - s.cons_during[i] < RING_READER_STORE_BYTES);
		assert_true(s.cons_during[i] >= prev);
		prev = s.cons_during[i];
	}
	assert_int_equal(s.cons_during[63], 0);
	ring_fini(&r);
}

static void test_consume_from_the_callback_refused(void **state)
{
	struct ring r;
	struct seen s;
	(void)state;

	ring_init(&r, 4096, 0);
	seen_init(&s, &r);
	s.nested = 1;
	produce(&r, 16, 1, 0);
	produce(&r, 16, 2, 0);
	assert_int_equal(ring_area__consume(&r.area, on_sample, &s), 2);
	assert_int_equal(s.nested, -EBUSY);
	assert_int_equal(s.nr, 2);
	assert_int_equal(r.consumer_pos, r.producer_pos);
	ring_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_in_order_and_one_store_per_batch),
		cmocka_unit_test(test_busy_record_stops_the_walk),
		cmocka_unit_test(test_discarded_records_skipped),
		cmocka_unit_test(test_record_across_the_end_read_whole),
		cmocka_unit_test(test_callback_error_stops_the_batch),
		cmocka_unit_test(test_long_batch_stores_every_64k),
		cmocka_unit_test(test_consume_from_the_callback_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
