// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace version 3: the event block codec (analyzer/trace_block.c) on its
 * own, encoder → decoder, on edge cases (every field changing, huge and
 * negative deltas, full tables, block boundaries) and on hostile blocks
 * (every cut, every flipped bit, values out of range), each decoded from
 * a heap block of exactly its size (ASan); then the writer → reader round
 * trip of a version 3 file: cut anywhere, a flipped bit loses one block,
 * ticks, the size limit, record order.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyzer/crc32.h"
#include "analyzer/trace.h"
#include "analyzer/trace_block.h"
#include "analyzer/trace_format.h"
#include "tracer/trace_writer.h"

#include "tmp_trace.h"
#include "trace_files.h"

static __u64 rng_state;

static __u64 rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* An event as the reader gives it back: hdr set, padding 0, comm NUL-padded. */
static void normalize(struct ipcrace_event *e)
{
	size_t n = strnlen(e->comm, sizeof(e->comm) - 1);

	e->hdr.kind = IPCRACE_REC_EVENT;
	e->hdr.size = sizeof(*e);
	e->__pad = 0;
	e->key.__pad = 0;
	memset(e->comm + n, 0, sizeof(e->comm) - n);
}

/* A lock-bench-like event: one thread, one mutex, three stacks. */
static void lock_event(struct ipcrace_event *e, unsigned i)
{
	static const __u16 types[] = { EV_LOCK_ATTEMPT, EV_LOCK_ACQUIRED, EV_LOCK_RELEASE };

	memset(e, 0, sizeof(*e));
	e->ts = 5000000000ull + i * 1700ull + (i % 3) * 90;
	e->stack_id = 0x9e3779b97f4a7c15ull * (1 + i % 3);
	e->addr = 0x55555555a040ull;
	e->key.space = KEY_PRIVATE;
	e->key.a = 4242;
	e->key.b = e->addr;
	e->pid = 4242;
	e->tid = 4242;
	e->type = types[i % 3];
	e->obj = OBJ_MUTEX;
	strcpy(e->comm, "lock_ops");
	normalize(e);
}

/* Anything goes, every field random: the worst case for the coding. */
static void random_event(struct ipcrace_event *e)
{
	memset(e, 0, sizeof(*e));
	e->ts = rng_next();
	e->stack_id = rng_next() % 4 ? rng_next() : 0;
	e->addr = rng_next();
	e->arg0 = rng_next();
	e->arg1 = rng_next();
	e->key.a = rng_next();
	e->key.b = rng_next();
	e->key.c = rng_next();
	e->key.space = (__u32)rng_next();
	e->pid = (__u32)rng_next();
	e->tid = (__u32)rng_next();
	e->type = 1 + rng_next() % (EV_TYPE_MAX - 1);
	e->obj = rng_next() % OBJ_KIND_MAX;
	e->result = (__s32)rng_next();
	e->flags = (__u32)rng_next();
	for (size_t i = 0; i < sizeof(e->comm); i++)
		e->comm[i] = (char)(rng_next() % 3 ? 'a' + rng_next() % 26 : 0);
	normalize(e);
}

/* Decodes a copy of exactly len bytes on the heap (for ASan). */
static int decode_exact(const void *data, size_t len, struct ipcrace_event *out,
			const char **why)
{
	static struct trace_block_dec dec;
	void *copy = malloc(len ? len : 1);
	int n;

	assert_non_null(copy);
	memcpy(copy, data, len);
	n = trace_block__decode(&dec, copy, len, out, why);
	free(copy);
	return n;
}

/*
 * Encodes events[0..nr) into as many blocks as they need, decoding each
 * block and checking it gives back exactly its events. Returns the blocks'
 * bytes.
 */
static size_t round_trip(const struct ipcrace_event *events, size_t nr, unsigned *nr_blocks)
{
	static struct trace_block_enc enc;
	static struct ipcrace_event out[TRACE_BLOCK_MAX_EVENTS];
	size_t first = 0, bytes = 0;
	unsigned blocks = 0;
	const char *why;

	trace_block_enc__reset(&enc);
	for (size_t i = 0; i <= nr; i++) {
		int err = i < nr ? trace_block_enc__add(&enc, &events[i]) : -ENOSPC;

		if (err == -ENOSPC) {
			size_t len;
			const void *data = trace_block_enc__finish(&enc, &len);
			int n;

			assert_non_null(data);
			assert_true(len <= TRACE_RECORD_MAX);
			n = decode_exact(data, len, out, &why);
			if (n < 0)
				fail_msg("decode: %s", why);
			assert_int_equal(n, i - first);
			for (int k = 0; k < n; k++)
				assert_memory_equal(&out[k], &events[first + k], sizeof(out[k]));
			bytes += len;
			blocks++;
			first = i;
			trace_block_enc__reset(&enc);
			/* an empty block always takes an event */
			if (i < nr)
				assert_int_equal(trace_block_enc__add(&enc, &events[i]), 0);
		} else {
			assert_int_equal(err, 0);
		}
	}
	if (nr_blocks)
		*nr_blocks = blocks;
	return bytes;
}

static void test_lock_events_take_a_few_bytes(void **state)
{
	enum { N = 3000 };
	static struct ipcrace_event ev[N];
	unsigned blocks;
	size_t bytes;

	(void)state;
	for (unsigned i = 0; i < N; i++)
		lock_event(&ev[i], i);
	bytes = round_trip(ev, N, &blocks);
	/* 256 events a block at most: the decoder's buffer */
	assert_true(blocks >= (N + TRACE_BLOCK_MAX_EVENTS - 1) / TRACE_BLOCK_MAX_EVENTS);
	/* ctl, type, ts delta, stack reference: ~5 bytes */
	assert_true(bytes < 7 * N);
}

static void test_random_events_round_trip(void **state)
{
	enum { N = 4000 };
	static struct ipcrace_event ev[N];
	unsigned blocks;

	(void)state;
	rng_state = 0x1234567;
	for (unsigned i = 0; i < N; i++)
		random_event(&ev[i]);
	round_trip(ev, N, &blocks);
	/* ~100 bytes each: many blocks closed by their byte size */
	assert_true(blocks > N / 50);
}

static void test_extreme_values_round_trip(void **state)
{
	static struct ipcrace_event ev[64];
	size_t n = 0;

	(void)state;
	/* every field at 0, then at its maximum, then back: every field changes */
	lock_event(&ev[n++], 0);
	memset(&ev[n], 0xff, sizeof(ev[n]));
	ev[n].type = EV_TYPE_MAX - 1;
	ev[n].obj = OBJ_KIND_MAX - 1;
	ev[n].result = INT32_MIN;
	normalize(&ev[n++]);
	memset(&ev[n], 0, sizeof(ev[n]));
	ev[n].type = EV_FORK;
	ev[n].result = INT32_MAX;
	normalize(&ev[n++]);
	/* time going back by 2^63 and more, forward by 2^64 - 1 */
	ev[n] = ev[n - 1];
	ev[n++].ts = UINT64_MAX;
	ev[n] = ev[n - 1];
	ev[n++].ts = 0;
	ev[n] = ev[n - 1];
	ev[n++].ts = 1ull << 63;
	ev[n] = ev[n - 1];
	ev[n++].ts = (1ull << 63) - 1;
	/* a comm of 16 characters keeps 15; one of none */
	lock_event(&ev[n], 1);
	memcpy(ev[n].comm, "0123456789abcdef", 16);
	normalize(&ev[n++]);
	assert_int_equal(ev[n - 1].comm[15], 0);
	lock_event(&ev[n], 2);
	memset(ev[n].comm, 0, sizeof(ev[n].comm));
	n++;
	/* pid and tid far apart, a thread whose comm changed (exec) */
	lock_event(&ev[n], 3);
	ev[n].pid = 1;
	ev[n++].tid = UINT32_MAX;
	ev[n] = ev[n - 1];
	strcpy(ev[n++].comm, "newname");
	/* keys of every shape: private, file, channel with kernel addresses */
	lock_event(&ev[n], 4);
	ev[n].key = (struct ipcrace_key){ .a = 0x803, .b = 123456, .c = 0x1000, .space = KEY_FILE };
	ev[n].addr = 0x7f0000001000ull;
	n++;
	lock_event(&ev[n], 5);
	ev[n].key = (struct ipcrace_key){ .a = 0xffff888012345678ull, .c = CHANKEY_UNIX,
					  .space = KEY_FILE };
	ev[n].addr = 0;
	ev[n++].obj = OBJ_SOCKET;
	/* the same object again after others: a table reference */
	ev[n] = ev[n - 3];
	ev[n++].ts += 10;
	/* a stack id of 0 between two others, then back */
	lock_event(&ev[n++], 6);
	ev[n] = ev[n - 1];
	ev[n++].stack_id = 0;
	ev[n] = ev[n - 2];
	ev[n++].ts += 1;
	assert_true(n <= 64);
	round_trip(ev, n, NULL);
}

static void test_block_boundaries(void **state)
{
	static struct trace_block_enc enc;
	static struct ipcrace_event ev[600];
	struct ipcrace_event e;
	unsigned blocks;

	(void)state;
	/* the event count: 256 take one block, 257 two */
	for (unsigned i = 0; i < 600; i++)
		lock_event(&ev[i], i);
	round_trip(ev, TRACE_BLOCK_MAX_EVENTS, &blocks);
	assert_int_equal(blocks, 1);
	round_trip(ev, TRACE_BLOCK_MAX_EVENTS + 1, &blocks);
	assert_int_equal(blocks, 2);
	/* a table: 255 threads fill it, the 256th needs a new block */
	trace_block_enc__reset(&enc);
	for (unsigned i = 0; i < TRACE_BLOCK_TABLE_MAX; i++) {
		lock_event(&e, 0);
		e.comm[0] = '\0';	/* short entries: the table fills before the bytes */
		e.tid = 1000 + i;
		assert_int_equal(trace_block_enc__add(&enc, &e), 0);
	}
	e.tid = 5;
	assert_int_equal(trace_block_enc__add(&enc, &e), -ENOSPC);
	/* an old thread still fits: no new entry */
	e.tid = 1000;
	assert_int_equal(trace_block_enc__add(&enc, &e), 0);
	for (unsigned i = 0; i < 600; i++) {
		lock_event(&ev[i], i);
		ev[i].tid = 1000 + i;
		ev[i].stack_id = 77 + i;
		ev[i].addr += 64 * i;
		ev[i].key.b = ev[i].addr;
	}
	round_trip(ev, 600, &blocks);
	assert_true(blocks >= 3);
	/* an event out of range is refused, the block unchanged */
	lock_event(&e, 0);
	e.type = EV_TYPE_MAX;
	assert_int_equal(trace_block_enc__add(&enc, &e), -EINVAL);
	e.type = 0;
	assert_int_equal(trace_block_enc__add(&enc, &e), -EINVAL);
	lock_event(&e, 0);
	e.obj = OBJ_KIND_MAX;
	assert_int_equal(trace_block_enc__add(&enc, &e), -EINVAL);
}

/* One block of n mixed events: its bytes in buf, its length returned. */
static size_t make_block(unsigned char *buf, struct ipcrace_event *ev, unsigned n)
{
	static struct trace_block_enc enc;
	const void *data;
	size_t len;

	rng_state = 99;
	trace_block_enc__reset(&enc);
	for (unsigned i = 0; i < n; i++) {
		if (i % 4 == 3)
			random_event(&ev[i]);
		else
			lock_event(&ev[i], i);
		assert_int_equal(trace_block_enc__add(&enc, &ev[i]), 0);
	}
	data = trace_block_enc__finish(&enc, &len);
	memcpy(buf, data, len);
	return len;
}

static void test_cut_block_is_refused(void **state)
{
	static struct ipcrace_event ev[40], out[TRACE_BLOCK_MAX_EVENTS];
	unsigned char buf[TRACE_RECORD_MAX];
	size_t len = make_block(buf, ev, 40);
	const char *why;

	(void)state;
	assert_int_equal(decode_exact(buf, len, out, &why), 40);
	for (size_t cut = 0; cut < len; cut++) {
		why = NULL;
		assert_int_equal(decode_exact(buf, cut, out, &why), -EINVAL);
		assert_non_null(why);
	}
	/* a byte more: left over */
	buf[len] = 0;
	assert_int_equal(decode_exact(buf, len + 1, out, &why), -EINVAL);
	assert_non_null(strstr(why, "after its last event"));
}

static void test_flipped_bit_in_block_never_reads_out_of_bounds(void **state)
{
	static struct ipcrace_event ev[40], out[TRACE_BLOCK_MAX_EVENTS];
	unsigned char buf[TRACE_RECORD_MAX];
	size_t len = make_block(buf, ev, 40);
	unsigned refused = 0;
	const char *why;

	(void)state;
	for (size_t i = 0; i < len * 8; i++) {
		int n;

		buf[i / 8] ^= 1u << (i % 8);
		n = decode_exact(buf, len, out, &why);
		/* the CRC is what catches it; the decoder only stays in bounds */
		if (n < 0) {
			assert_int_equal(n, -EINVAL);
			refused++;
		} else {
			assert_true(n >= 1 && n <= (int)TRACE_BLOCK_MAX_EVENTS);
			for (int k = 0; k < n; k++) {
				assert_true(out[k].type > 0 && out[k].type < EV_TYPE_MAX);
				assert_true(out[k].obj < OBJ_KIND_MAX);
				assert_int_equal(out[k].comm[15], 0);
			}
		}
		buf[i / 8] ^= 1u << (i % 8);
	}
	assert_true(refused > 0);
}

static void test_values_out_of_range_are_refused(void **state)
{
	static struct ipcrace_event out[TRACE_BLOCK_MAX_EVENTS];
	const char *why;
	struct {
		const char *name;
		unsigned char bytes[32];
		size_t len;
		const char *why;
	} cases[] = {
		{ "no events", { 0, 0 }, 2, "count" },
		{ "257 events", { 1, 1 }, 2, "count" },
		{ "first without type", { 1, 0, 0x00, 0 }, 4, "without its type" },
		{ "type 0", { 1, 0, 0x01, 0, 0 }, 5, "type out of range" },
		{ "type max", { 1, 0, 0x01, EV_TYPE_MAX, 0 }, 5, "type out of range" },
		{ "thread 1 of 0", { 1, 0, 0x03, 1, 0, 1 }, 6, "no thread" },
		{ "object 1 of 0", { 1, 0, 0x05, 1, 0, 1 }, 6, "no object" },
		{ "stack 2 of 0", { 1, 0, 0x09, 1, 0, 2 }, 6, "no stack" },
		{ "object kind", { 1, 0, 0x05, 1, 0, 0, 0, OBJ_KIND_MAX, 0, 0, 0, 0 }, 12,
		  "kind out of range" },
		{ "comm of 16", { 1, 0, 0x03, 1, 0, 0, 1, 0, 16 }, 9, "comm" },
		{ "pid over 32 bits", { 1, 0, 0x03, 1, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0 },
		  13, "thread id" },
		{ "result over 32 bits", { 1, 0, 0x41, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x10 }, 10,
		  "result" },
		{ "flags over 32 bits", { 1, 0, 0x81, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x10 }, 10,
		  "flags" },
		{ "varint of 11 bytes", { 1, 0, 0x01, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					  0x80, 0x80, 0x80, 0x01 }, 15, "too long" },
		{ "varint over 64 bits", { 1, 0, 0x01, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					   0x80, 0x80, 0x02 }, 14, "too long" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		if (decode_exact(cases[i].bytes, cases[i].len, out, &why) != -EINVAL ||
		    !why || !strstr(why, cases[i].why))
			fail_msg("%s: %s", cases[i].name, why ? why : "accepted");
	}
	/* and a minimal valid one: type 1, ts 0 */
	{
		unsigned char ok[] = { 1, 0, 0x01, 1, 0 };

		assert_int_equal(decode_exact(ok, sizeof(ok), out, &why), 1);
		assert_int_equal(out[0].type, 1);
		assert_int_equal(out[0].hdr.size, sizeof(out[0]));
	}
}

/* --- version 3 files ------------------------------------------------------ */

static void make_stack(struct ipcrace_stack *s, __u64 id)
{
	memset(s, 0, sizeof(*s));
	s->hdr.kind = IPCRACE_REC_STACK;
	s->hdr.size = sizeof(*s);
	s->id = id;
	s->nr = 2;
	s->ips[0] = 0x401000 + id;
	s->ips[1] = 0x402000;
}

/* Event i of the files below: mostly lock events, every fifth random. */
static void file_event(struct ipcrace_event *e, unsigned i)
{
	if (i % 5 == 4) {
		rng_state = 1 + i;
		random_event(e);
		e->flags &= ~EVF_AFTER_LOSS;
	} else {
		lock_event(e, i);
	}
}

/* nr events with a stack record before every 100th, then the footer. */
static unsigned char *v3_trace(const char *path, unsigned nr, size_t *len)
{
	struct trace_footer foot = { .end_mono_ns = 1 };
	struct trace_header h;
	struct ipcrace_stack s;
	struct ipcrace_event e;
	struct trace_writer *w;

	make_header(&h);
	w = trace_writer__open(path, &h);
	assert_non_null(w);
	for (unsigned i = 0; i < nr; i++) {
		if (i % 100 == 0) {
			make_stack(&s, 1 + i / 100);
			assert_int_equal(trace_writer__add_stack(w, &s), 0);
		}
		file_event(&e, i);
		assert_int_equal(trace_writer__add_event(w, &e), 0);
	}
	assert_int_equal(trace_writer__close(w, &foot), 0);
	return read_whole(path, len);
}

static void test_v3_file_round_trip_keeps_record_order(void **state)
{
	struct fixture *f = *state;
	enum { N = 1000 };
	struct rec recs[64];
	struct ipcrace_event e;
	struct trace *t;
	size_t len, n;
	char err[256];
	unsigned char *buf = v3_trace(f->path, N, &len);

	t = read_exact(buf, len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->format_version, TRACE_VERSION);
	assert_true(trace__is_complete(t));
	assert_int_equal(t->nr_events, N);
	assert_int_equal(t->footer.events, N);
	assert_int_equal(t->nr_stacks, 10);
	for (unsigned i = 0; i < N; i++) {
		file_event(&e, i);
		assert_memory_equal(&t->events[i], &e, sizeof(e));
	}
	/* a stack record closes the open block: STACK, EVENTS (100), STACK... */
	n = records_of(buf, len, recs, 64);
	assert_int_equal(n, 10 * 2 + 1);
	for (size_t i = 0; i < 20; i++) {
		assert_int_equal(recs[i].type, i % 2 ? TRACE_REC_EVENTS : TRACE_REC_STACK);
		if (i % 2)
			assert_int_equal(recs[i].events, 100);
	}
	assert_int_equal(recs[20].type, TRACE_REC_FOOTER);
	trace__free(t);
	free(buf);
}

static void test_v3_cut_anywhere_keeps_every_whole_block(void **state)
{
	struct fixture *f = *state;
	struct rec recs[64];
	size_t len, n;
	char err[256];
	unsigned char *buf = v3_trace(f->path, 300, &len);

	n = records_of(buf, len, recs, 64);
	for (size_t cut = HDR_END; cut <= len; cut += cut % 7 ? 1 : 5) {
		struct trace *t = read_exact(buf, cut, err, sizeof(err));
		size_t whole = 0, events = 0;
		struct ipcrace_event e;

		assert_non_null(t);
		while (whole < n && recs[whole].end <= cut)
			events += recs[whole++].events;
		assert_int_equal(t->nr_events, events);
		for (size_t i = 0; i < t->nr_events; i++) {
			file_event(&e, i);
			assert_memory_equal(&t->events[i], &e, sizeof(e));
		}
		assert_int_equal(t->skipped_records, 0);
		assert_int_equal(trace__is_complete(t), cut == len);
		trace__free(t);
	}
	free(buf);
}

static void test_v3_flipped_bit_loses_only_its_block(void **state)
{
	struct fixture *f = *state;
	struct rec recs[64];
	size_t len, n;
	char err[256];
	unsigned char *buf = v3_trace(f->path, 300, &len);

	n = records_of(buf, len, recs, 64);
	for (size_t i = HDR_END; i < len; i += 3) {
		size_t rec = 0, before = 0;
		struct ipcrace_event e;
		struct trace *t;

		while (recs[rec].end <= i)
			before += recs[rec++].events;
		buf[i] ^= 1u << (i % 8);
		t = read_exact(buf, len, err, sizeof(err));
		assert_non_null(t);
		assert_false(trace__is_complete(t));
		if (rec == n - 1) {
			assert_false(t->has_footer);
			assert_int_equal(t->nr_events, 300);
		} else {
			assert_true(t->has_footer);
			assert_int_equal(t->skipped_records, 1);
			assert_int_equal(t->nr_events, 300 - recs[rec].events);
			for (size_t k = 0, ev = 0; k < t->nr_events; k++, ev++) {
				if (k == before)
					ev += recs[rec].events;
				file_event(&e, ev);
				/* the first event after the lost block is flagged */
				if (k == before)
					e.flags |= EVF_AFTER_LOSS;
				assert_memory_equal(&t->events[k], &e, sizeof(e));
			}
		}
		trace__free(t);
		buf[i] ^= 1u << (i % 8);
	}
	free(buf);
}

static void test_v3_tick_writes_the_open_block(void **state)
{
	struct fixture *f = *state;
	struct trace_header h;
	struct ipcrace_event e;
	struct trace_writer *w;
	struct timespec ts;
	struct trace *t;
	char err[256];
	__u64 now;

	make_header(&h);
	w = trace_writer__open(f->path, &h);
	assert_non_null(w);
	lock_event(&e, 0);
	assert_int_equal(trace_writer__add_event(w, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	/* the open block counts in the size */
	assert_true(trace_writer__size(w) > HDR_END);
	assert_int_equal(trace_writer__tick(w, now), 0);
	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_events, 0);
	trace__free(t);
	/* 100 ms old: on disk, a killed recording keeps it */
	assert_int_equal(trace_writer__tick(w, now + TRACE_WRITER_MAX_DELAY_NS + 1), 0);
	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_events, 1);
	assert_false(t->has_footer);
	trace__free(t);
	/* an event out of range is refused, and the writer goes on */
	e.type = EV_TYPE_MAX;
	assert_int_equal(trace_writer__add_event(w, &e), -EINVAL);
	lock_event(&e, 1);
	assert_int_equal(trace_writer__add_event(w, &e), 0);
	assert_int_equal(trace_writer__flush(w), 0);
	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_events, 2);
	trace__free(t);
	assert_int_equal(trace_writer__close(w, NULL), 0);
}

static void test_v3_size_limit_drops_and_counts(void **state)
{
	struct fixture *f = *state;
	struct trace_footer foot = { .end_mono_ns = 1 };
	enum { N = 3000 };
	__u64 limit = HDR_END + 4096;
	struct trace_header h;
	struct ipcrace_event e;
	struct trace_writer *w;
	struct stat st;
	struct trace *t;
	char err[256];

	make_header(&h);
	w = trace_writer__open(f->path, &h);
	assert_non_null(w);
	assert_int_equal(trace_writer__set_limit(w, limit), 0);
	for (unsigned i = 0; i < N; i++) {
		file_event(&e, i);
		assert_int_equal(trace_writer__add_event(w, &e), 0);
		assert_true(trace_writer__size(w) <= limit);
	}
	assert_int_equal(trace_writer__close(w, &foot), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true((__u64)st.st_size <= limit);
	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->has_footer);
	assert_true(t->nr_events > 0);
	assert_int_equal(t->footer.events, t->nr_events);
	assert_int_equal(t->footer.events + t->footer.dropped_events, N);
	assert_int_equal(t->footer.dropped_records, t->footer.dropped_events);
	assert_false(trace__is_complete(t));
	for (size_t i = 0; i < t->nr_events; i++) {
		file_event(&e, i);
		assert_memory_equal(&t->events[i], &e, sizeof(e));
	}
	trace__free(t);
}

/* A streamed pass decodes the blocks again, to the same events. */
static int count_event(void *ctx, const struct ipcrace_event *e)
{
	struct ipcrace_event want;
	size_t *n = ctx;

	file_event(&want, (unsigned)(*n)++);
	return memcmp(&want, e, sizeof(want)) ? -EBADMSG : 0;
}

static void test_v3_streamed_passes_see_the_same_events(void **state)
{
	struct fixture *f = *state;
	size_t len, n = 0;
	char err[256];
	unsigned char *buf = v3_trace(f->path, 2000, &len);
	struct trace *t = trace__open_file(f->path, err, sizeof(err));

	assert_non_null(t);
	assert_int_equal(t->event_count, 2000);
	assert_int_equal(trace__for_each_event(t, count_event, &n), 0);
	assert_int_equal(n, 2000);
	n = 0;
	assert_int_equal(trace__for_each_event(t, count_event, &n), 0);
	assert_int_equal(n, 2000);
	trace__free(t);
	free(buf);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_events_take_a_few_bytes),
		cmocka_unit_test(test_random_events_round_trip),
		cmocka_unit_test(test_extreme_values_round_trip),
		cmocka_unit_test(test_block_boundaries),
		cmocka_unit_test(test_cut_block_is_refused),
		cmocka_unit_test(test_flipped_bit_in_block_never_reads_out_of_bounds),
		cmocka_unit_test(test_values_out_of_range_are_refused),
		tmp_trace_test(test_v3_file_round_trip_keeps_record_order),
		tmp_trace_test(test_v3_cut_anywhere_keeps_every_whole_block),
		tmp_trace_test(test_v3_flipped_bit_loses_only_its_block),
		tmp_trace_test(test_v3_tick_writes_the_open_block),
		tmp_trace_test(test_v3_size_limit_drops_and_counts),
		tmp_trace_test(test_v3_streamed_passes_see_the_same_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
