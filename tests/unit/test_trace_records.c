// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace version 3, the records other than events: mapping blocks
 * (analyzer/trace_maps.c) encoder to decoder on edge cases and hostile
 * bytes, then through the writer and the reader with stack snapshots
 * whose zero runs are taken out (USTACK_ZDATA).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/crc32.h"
#include "analyzer/trace.h"
#include "analyzer/trace_format.h"
#include "analyzer/trace_maps.h"
#include "analyzer/ustack.h"
#include "tracer/trace_writer.h"

#include "tmp_trace.h"
#include "trace_files.h"

static void lock_event(struct ipcrace_event *e)
{
	memset(e, 0, sizeof(*e));
	e->hdr.kind = IPCRACE_REC_EVENT;
	e->hdr.size = sizeof(*e);
	e->ts = 5000;
	e->type = EV_LOCK_ATTEMPT;
	e->obj = OBJ_MUTEX;
	e->pid = e->tid = 7;
	strcpy(e->comm, "maps");
}

/* Mapping i of a snapshot: a few files of four segments, anonymous ones between. */
static void make_mapping(struct trace_mapping *m, unsigned i)
{
	unsigned file = i / 5, seg = i % 5;

	memset(m, 0, sizeof(*m));
	m->ts = 1000 + i / 100;
	m->pid = 100 + i / 200;
	m->start = 0x7f0000000000ull + i * 0x3000ull;
	m->end = m->start + 0x1000ull * (1 + seg);
	if (seg < 4) {
		m->dev = 0x803;
		m->ino = 5000 + file;
		m->pgoff = seg * 0x1000ull;
		m->prot = seg == 1 ? 5 : seg == 0 ? 1 : 3;
		m->build_id_len = file % 3 ? 20 : 0;
		memset(m->build_id, (int)file, m->build_id_len);
		snprintf(m->path, sizeof(m->path), "/usr/lib/x86_64-linux-gnu/lib%u.so.6", file);
	} else {
		m->prot = 3;
		m->flags = file % 2 ? MAPF_SHARED : 0;
	}
}

static int decode_exact(const void *data, size_t len, struct trace_mapping *out,
			const char **why)
{
	void *copy = malloc(len ? len : 1);
	int n;

	assert_non_null(copy);
	memcpy(copy, data, len);
	n = trace_maps__decode(copy, len, out, why);
	free(copy);
	return n;
}

static void test_mapping_blocks_round_trip(void **state)
{
	static struct trace_maps_enc enc;
	static struct trace_mapping in[2000], out[TRACE_MAPS_MAX_ENTRIES];
	size_t first = 0, bytes = 0;
	const char *why;

	(void)state;
	for (unsigned i = 0; i < 2000; i++)
		make_mapping(&in[i], i);
	/* extremes: a path of 255, the whole address space, time going back */
	memset(in[7].path, 'x', sizeof(in[7].path));
	in[7].path[sizeof(in[7].path) - 1] = '\0';
	in[8].start = 0;
	in[8].end = UINT64_MAX;
	in[9].ts = 0;
	in[10].pgoff = UINT64_MAX;
	in[11].pid = UINT32_MAX;
	in[11].prot = UINT32_MAX;
	trace_maps_enc__reset(&enc);
	for (size_t i = 0; i <= 2000; i++) {
		int err = i < 2000 ? trace_maps_enc__add(&enc, &in[i]) : -ENOSPC;

		if (err == -ENOSPC) {
			size_t len;
			const void *data = trace_maps_enc__finish(&enc, &len);
			int n = decode_exact(data, len, out, &why);

			if (n < 0)
				fail_msg("decode: %s", why);
			assert_int_equal(n, i - first);
			for (int k = 0; k < n; k++)
				assert_memory_equal(&out[k], &in[first + k], sizeof(out[k]));
			bytes += len;
			first = i;
			trace_maps_enc__reset(&enc);
			if (i < 2000)
				assert_int_equal(trace_maps_enc__add(&enc, &in[i]), 0);
		} else {
			assert_int_equal(err, 0);
		}
	}
	/* a segment of the file before it: a few bytes, not 344 */
	assert_true(bytes < 2000 * 24);
	/* refused: what the reader refuses */
	in[0].start = in[0].end + 1;
	assert_int_equal(trace_maps_enc__add(&enc, &in[0]), -EINVAL);
	make_mapping(&in[0], 0);
	in[0].build_id_len = TRACE_BUILD_ID_MAX + 1;
	assert_int_equal(trace_maps_enc__add(&enc, &in[0]), -EINVAL);
}

static void test_hostile_mapping_blocks_are_refused(void **state)
{
	static struct trace_maps_enc enc;
	static struct trace_mapping in[30], out[TRACE_MAPS_MAX_ENTRIES];
	unsigned char buf[TRACE_RECORD_MAX];
	const char *why;
	size_t len;

	(void)state;
	trace_maps_enc__reset(&enc);
	for (unsigned i = 0; i < 30; i++) {
		make_mapping(&in[i], i);
		assert_int_equal(trace_maps_enc__add(&enc, &in[i]), 0);
	}
	{
		const void *data = trace_maps_enc__finish(&enc, &len);

		memcpy(buf, data, len);
	}
	assert_int_equal(decode_exact(buf, len, out, &why), 30);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(decode_exact(buf, cut, out, &why), -EINVAL);
	for (size_t i = 0; i < len * 8; i++) {
		int n;

		buf[i / 8] ^= 1u << (i % 8);
		n = decode_exact(buf, len, out, &why);
		if (n > 0)
			for (int k = 0; k < n; k++) {
				assert_true(out[k].start <= out[k].end);
				assert_true(out[k].build_id_len <= TRACE_BUILD_ID_MAX);
				assert_int_equal(out[k].path[TRACE_PATH_LEN - 1], 0);
			}
		else
			assert_int_equal(n, -EINVAL);
		buf[i / 8] ^= 1u << (i % 8);
	}
	{
		/* an unknown field bit; a mapping past the end of the address space */
		unsigned char unknown[] = { 1, 0, 0x10, 0, 0, 0 };
		unsigned char past[] = { 1, 0, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0x01, 0 };

		assert_int_equal(decode_exact(unknown, sizeof(unknown), out, &why), -EINVAL);
		assert_non_null(strstr(why, "unknown"));
		assert_int_equal(decode_exact(past, sizeof(past), out, &why), -EINVAL);
		assert_non_null(strstr(why, "past the address space"));
	}
}

static void test_v3_snapshot_of_maps_is_a_few_blocks(void **state)
{
	struct fixture *f = *state;
	struct trace_header h;
	struct trace_mapping m;
	struct ipcrace_event e;
	struct trace_writer *w;
	struct rec recs[64];
	unsigned char *buf;
	struct trace *t;
	size_t len, n;
	char err[256];

	make_header(&h);
	w = trace_writer__open(f->path, &h);
	assert_non_null(w);
	for (unsigned i = 0; i < 1000; i++) {
		make_mapping(&m, i);
		assert_int_equal(trace_writer__add_mapping(w, &m), 0);
	}
	/* an event between: mappings after it are a block of their own */
	lock_event(&e);
	assert_int_equal(trace_writer__add_event(w, &e), 0);
	make_mapping(&m, 1000);
	assert_int_equal(trace_writer__add_mapping(w, &m), 0);
	/* one the block refuses: a record of its own, skipped by the reader */
	m.start = m.end + 1;
	assert_int_equal(trace_writer__add_mapping(w, &m), 0);
	assert_int_equal(trace_writer__close(w, NULL), 0);
	buf = read_whole(f->path, &len);
	n = records_of(buf, len, recs, 64);
	assert_true(n >= 5 && n <= 12);
	assert_int_equal(recs[n - 1].type, TRACE_REC_MAPPING);
	assert_int_equal(recs[n - 2].type, TRACE_REC_MAPPINGS);
	assert_int_equal(recs[n - 3].type, TRACE_REC_EVENTS);
	assert_true(len < HDR_END + 1000 * 24);
	t = read_exact(buf, len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_mappings, 1001);
	assert_int_equal(t->skipped_records, 1);
	for (unsigned i = 0; i <= 1000; i++) {
		make_mapping(&m, i);
		assert_memory_equal(&t->mappings[i], &m, sizeof(m));
	}
	assert_int_equal(t->nr_events, 1);
	trace__free(t);
	free(buf);
}

/* Byte i of snapshot k: zero runs of every length, at the start and the end. */
static __u8 snap_byte(unsigned k, __u32 i)
{
	switch (k) {
	case 0:
		return 0;				/* all zeros */
	case 1:
		return (__u8)(i * 7 + 1) | 1;		/* none */
	case 2:
		return (i / 8) % 3 ? 0 : (__u8)(i + 1);	/* words, one in three set */
	default:
		return (i % 13) < (i % 5) ? (__u8)i : 0;	/* runs of 1 to 4 */
	}
}

static void test_v3_mappings_and_snapshots_round_trip(void **state)
{
	struct fixture *f = *state;
	static struct ipcrace_ustack u;
	struct trace_mapping m, empty;
	struct trace_header h;
	struct ipcrace_event e;
	struct trace_writer *w;
	struct rec recs[64];
	unsigned char *buf;
	size_t len, n, zdata = 0;
	struct trace *t;
	char err[256];

	make_header(&h);
	w = trace_writer__open(f->path, &h);
	assert_non_null(w);
	memset(&m, 0, sizeof(m));
	m.start = 0x400000;
	m.end = 0x401000;
	m.pid = 7;
	m.build_id_len = 20;
	memset(m.build_id, 0xab, 20);
	strcpy(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(trace_writer__add_mapping(w, &m), 0);
	/* an anonymous one, and one whose path fills the field */
	memset(&empty, 0, sizeof(empty));
	empty.pid = 7;
	assert_int_equal(trace_writer__add_mapping(w, &empty), 0);
	memset(m.path, 'p', sizeof(m.path));
	m.path[sizeof(m.path) - 1] = '\0';
	assert_int_equal(trace_writer__add_mapping(w, &m), 0);
	for (unsigned k = 0; k < 4; k++) {
		memset(&u, 0, sizeof(u));
		u.id = 0x5000 + k;
		u.size = 9000 + k;	/* three parts */
		for (__u32 i = 0; i < u.size; i++)
			u.data[i] = snap_byte(k, i);
		assert_int_equal(trace_writer__add_ustack(w, &u), 0);
	}
	lock_event(&e);
	assert_int_equal(trace_writer__add_event(w, &e), 0);
	assert_int_equal(trace_writer__close(w, NULL), 0);

	buf = read_whole(f->path, &len);
	n = records_of(buf, len, recs, 64);
	for (size_t i = 0; i < n; i++)
		zdata += recs[i].type == TRACE_REC_USTACK_ZDATA;
	/* the three mappings: one block, their paths without the unused bytes */
	assert_int_equal(recs[0].type, TRACE_REC_MAPPINGS);
	assert_true(recs[0].end - HDR_END < 16 + 3 * 300);
	/* every part of snapshots 0 and 2 and some of 3; none of 1 (no zeros) */
	assert_true(zdata >= 6);
	t = read_exact(buf, len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_mappings, 3);
	assert_string_equal(t->mappings[0].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(t->mappings[0].build_id_len, 20);
	assert_int_equal(t->mappings[0].build_id[19], 0xab);
	assert_int_equal(t->mappings[0].end, 0x401000);
	assert_memory_equal(&t->mappings[1], &empty, sizeof(empty));
	assert_memory_equal(&t->mappings[2], &m, sizeof(m));
	for (unsigned k = 0; k < 4; k++) {
		const struct ustack_snapshot *snap = trace__find_ustack(t, 0x5000 + k);

		assert_non_null(snap);
		assert_int_equal(snap->have, 9000 + k);
		for (__u32 i = 0; i < snap->have; i++)
			if (snap->data[i] != snap_byte(k, i))
				fail_msg("snapshot %u byte %u: %u", k, i, snap->data[i]);
	}
	trace__free(t);
	free(buf);
}

/* A hand-made version 3 file: the header, then one record of type and data. */
static struct trace *one_record(const char *path, __u16 type, const void *data, __u16 dlen)
{
	struct trace_header h;
	struct trace_writer *w;
	unsigned char file[HDR_END + 16 + TRACE_RECORD_MAX];
	struct trace_record_header rh = { .magic = TRACE_RECORD_MAGIC, .type = type, .len = dlen };
	unsigned char *hdr;
	size_t len;
	char err[256];
	__u32 crc;

	make_header(&h);
	w = trace_writer__open(path, &h);
	assert_non_null(w);
	assert_int_equal(trace_writer__close(w, NULL), 0);
	hdr = read_whole(path, &len);
	assert_int_equal(len, HDR_END);
	memcpy(file, hdr, HDR_END);
	free(hdr);
	memset(file + HDR_END + 16, 0, TRACE_PAD(dlen));
	memcpy(file + HDR_END + 16, data, dlen);
	crc = ipcrace_crc32(0, &rh, offsetof(struct trace_record_header, crc));
	rh.crc = ipcrace_crc32(crc, file + HDR_END + 16, TRACE_PAD(dlen));
	memcpy(file + HDR_END, &rh, sizeof(rh));
	return read_exact(file, HDR_END + 16 + TRACE_PAD(dlen), err, sizeof(err));
}

static void test_v3_bad_zero_runs_are_skipped(void **state)
{
	struct fixture *f = *state;
	struct trace_ustack_data d = { .id = 1, .offset = 0, .len = 10 };
	struct {
		const char *name;
		unsigned char runs[8];
		size_t n;
		__u32 len;
	} cases[] = {
		{ "more zeros than the part", { 11, 0 }, 2, 10 },
		{ "literals past the part", { 5, 6 }, 2, 10 },
		{ "literals past the record", { 0, 5, 1, 2 }, 4, 10 },
		{ "short of the part", { 5, 0 }, 2, 10 },
		{ "varint cut", { 0x80 }, 1, 10 },
		{ "a part over the max", { 0, 0 }, 2, USTACK_PART_MAX + 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char rec[64];
		struct trace *t;

		d.len = cases[i].len;
		memcpy(rec, &d, sizeof(d));
		memcpy(rec + sizeof(d), cases[i].runs, cases[i].n);
		t = one_record(f->path, TRACE_REC_USTACK_ZDATA, rec, sizeof(d) + cases[i].n);
		assert_non_null(t);
		if (t->skipped_records != 1)
			fail_msg("%s: not skipped", cases[i].name);
		trace__free(t);
	}
	/* a mapping too short for its fields */
	{
		unsigned char rec[offsetof(struct trace_mapping, path)] = { 0 };
		struct trace *t = one_record(f->path, TRACE_REC_MAPPING, rec, sizeof(rec));

		assert_non_null(t);
		assert_int_equal(t->skipped_records, 1);
		assert_int_equal(t->nr_mappings, 0);
		trace__free(t);
	}
}

/*
 * The watchpoints' cost and sampling: one record before the footer, read
 * back as written; a shorter one (an older writer's) leaves the missing
 * fields 0; a reader that predates it skips it (an unknown type).
 */
static void test_v3_watch_stats_round_trip(void **state)
{
	struct fixture *f = *state;
	struct trace_watch_stats st = {
		.traps = 2982, .slot_switches = 72224, .ticks = 409, .held_ticks = 277,
		.cost_ns = 113200000, .traced_ns = 2884100000ull, .self_ns = 480800000,
		.trap_ns = 30442, .switch_ns = 311, .watch_rate = 400, .overhead_pct = 5,
	};
	struct trace_footer foot = { .seed = 9 };
	struct trace_header h;
	struct trace_writer *w;
	struct rec recs[8];
	unsigned char *buf;
	size_t len, n;
	struct trace *t;
	char err[256];

	make_header(&h);
	w = trace_writer__open(f->path, &h);
	assert_non_null(w);
	assert_int_equal(trace_writer__add_watch_stats(w, &st), 0);
	assert_int_equal(trace_writer__close(w, &foot), 0);
	buf = read_whole(f->path, &len);
	n = records_of(buf, len, recs, 8);
	assert_int_equal(n, 2);
	assert_int_equal(recs[0].type, TRACE_REC_WATCH_STATS);
	assert_int_equal(recs[1].type, TRACE_REC_FOOTER);
	t = read_exact(buf, len, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->has_watch_stats);
	assert_memory_equal(&t->watch_stats, &st, sizeof(st));
	assert_true(trace__is_complete(t));
	trace__free(t);
	free(buf);

	/* without one: nothing said */
	w = trace_writer__open(f->path, &h);
	assert_non_null(w);
	assert_int_equal(trace_writer__close(w, &foot), 0);
	buf = read_whole(f->path, &len);
	t = read_exact(buf, len, err, sizeof(err));
	assert_non_null(t);
	assert_false(t->has_watch_stats);
	trace__free(t);
	free(buf);
}

/* The lock sampling's stats: one record before the footer, with the gap events in the stream. */
static void test_v3_lock_sampling_round_trip(void **state)
{
	struct fixture *f = *state;
	struct trace_lock_sampling st = {
		.windows = 31, .off_ns = 12400000000ull, .metered_ns = 15000000000ull,
		.cost_ns = 1300000000ull, .events = 1100000, .processes = 1, .metered = 2,
		.event_ns = 1180, .overhead_pct = 10,
	};
	struct ipcrace_event gap = {
		.hdr = { .kind = IPCRACE_REC_EVENT, .size = sizeof(gap) },
		.ts = 5000, .pid = 42, .tid = 42, .type = EV_LOCK_GAP, .arg0 = LOCK_GAP_END,
		.arg1 = 4000,
	};
	struct trace_footer foot = { .seed = 9 };
	struct trace_header h;
	struct trace_writer *w;
	unsigned char *buf;
	struct trace *t;
	char err[256];
	size_t len;

	make_header(&h);
	w = trace_writer__open(f->path, &h);
	assert_non_null(w);
	assert_int_equal(trace_writer__add_event(w, &gap), 0);
	assert_int_equal(trace_writer__add_lock_sampling(w, &st), 0);
	assert_int_equal(trace_writer__close(w, &foot), 0);
	buf = read_whole(f->path, &len);
	t = read_exact(buf, len, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->has_lock_sampling);
	assert_memory_equal(&t->lock_sampling, &st, sizeof(st));
	assert_int_equal(t->nr_events, 1);
	assert_int_equal(t->events[0].type, EV_LOCK_GAP);
	assert_int_equal(t->events[0].arg0, LOCK_GAP_END);
	assert_int_equal(t->events[0].arg1, 4000);
	assert_true(trace__is_complete(t));
	trace__free(t);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping_blocks_round_trip),
		cmocka_unit_test(test_hostile_mapping_blocks_are_refused),
		tmp_trace_test(test_v3_snapshot_of_maps_is_a_few_blocks),
		tmp_trace_test(test_v3_mappings_and_snapshots_round_trip),
		tmp_trace_test(test_v3_bad_zero_runs_are_skipped),
		tmp_trace_test(test_v3_watch_stats_round_trip),
		tmp_trace_test(test_v3_lock_sampling_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
