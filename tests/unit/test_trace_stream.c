// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Streamed traces (analyzer/trace_stream.c) and streamed analysis: a
 * streamed trace delivers exactly the events the whole-trace reader
 * stores (gaps and their EVF_AFTER_LOSS included), the analysis finds the
 * same findings either way, and what the reader and the analyzer hold
 * does not grow with the number of events: a stream of N lock rounds on
 * two threads leaves the same live state for N = 200 and N = 20000, and
 * the streamed trace keeps no event in memory.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyzer/analyze.h"
#include "analyzer/findings.h"
#include "analyzer/identity.h"
#include "analyzer/trace.h"
#include "analyzer/trace_format.h"
#include "reports/dump.h"
#include "tracer/trace_writer.h"

#define PID 100

#include "tmp_trace.h"

struct writer {
	struct trace_writer *w;
	__u64 ts;
};

static void emit(struct writer *wr, __u16 type, __u32 tid, __u16 obj, __u64 off, __u32 flags,
		 __u64 stack)
{
	struct ipcrace_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = IPCRACE_REC_EVENT;
	e.hdr.size = sizeof(e);
	e.ts = ++wr->ts;
	e.type = type;
	e.pid = PID;
	e.tid = tid;
	e.obj = obj;
	e.flags = flags;
	e.stack_id = stack;
	snprintf(e.comm, sizeof(e.comm), "t%u", tid);
	if (obj != OBJ_NONE) {
		/* a word of a shared file, so no mapping is needed to name it */
		e.key.space = KEY_FILE;
		e.key.a = 0x17;
		e.key.b = 4242;
		e.key.c = off;
		e.addr = 0x7f0000000000ull + off;
	}
	if (obj == OBJ_MUTEX)
		e.arg0 = 0x80;	/* process-shared */
	if (type == EV_MEM_ACCESS) {
		e.arg0 = 0x401000 + stack;
		e.arg1 = 8;
	}
	assert_int_equal(trace_writer__add_event(wr->w, &e), 0);
}

static void lock(struct writer *wr, __u32 tid, __u64 off, __u64 stack)
{
	emit(wr, EV_LOCK_ATTEMPT, tid, OBJ_MUTEX, off, 0, stack);
	emit(wr, EV_LOCK_ACQUIRED, tid, OBJ_MUTEX, off, 0, stack);
}

static void unlock(struct writer *wr, __u32 tid, __u64 off, __u64 stack)
{
	emit(wr, EV_LOCK_RELEASE, tid, OBJ_MUTEX, off, 0, stack);
}

/*
 * Two threads, rounds times: T1 takes A then B and writes the word under
 * both, T2 takes A and writes it (ordered by A). Once, at the start, T2
 * takes B then A: one lock-order inversion, whatever the length.
 */
static void write_rounds_with(const char *path, unsigned rounds, bool accesses)
{
	struct trace_header h = { .start_mono_ns = 1 };
	struct trace_footer foot = { .end_mono_ns = 1ull << 40 };
	struct trace_process p = { .ts = 1, .pid = PID, .exit_status = -1 };
	struct writer wr = { .ts = 10 };
	const __u64 a = 0x0, b = 0x40, word = 0x80;

	strcpy(h.host, "testhost");
	strcpy(p.comm, "rounds");
	wr.w = trace_writer__open(path, &h);
	assert_non_null(wr.w);
	assert_int_equal(trace_writer__add_process(wr.w, &p), 0);
	emit(&wr, EV_THREAD_SPAWN, PID, OBJ_NONE, 0, 0, 0);
	lock(&wr, 2, b, 21);
	lock(&wr, 2, a, 22);
	unlock(&wr, 2, a, 23);
	unlock(&wr, 2, b, 24);
	for (unsigned i = 0; i < rounds; i++) {
		lock(&wr, 1, a, 11);
		lock(&wr, 1, b, 12);
		if (accesses)
			emit(&wr, EV_MEM_ACCESS, 1, OBJ_MEMORY, word, EVF_WRITE, 13);
		unlock(&wr, 1, b, 14);
		unlock(&wr, 1, a, 15);
		lock(&wr, 2, a, 25);
		if (accesses)
			emit(&wr, EV_MEM_ACCESS, 2, OBJ_MEMORY, word, EVF_WRITE, 26);
		unlock(&wr, 2, a, 27);
	}
	/* and T2 unlocks a lock it does not hold: a misuse finding too */
	unlock(&wr, 2, b, 24);
	foot.events = 0;
	assert_int_equal(trace_writer__close(wr.w, &foot), 0);
}

static void write_rounds(const char *path, unsigned rounds)
{
	write_rounds_with(path, rounds, true);
}

struct collect {
	struct ipcrace_event *ev;
	size_t nr;
	size_t cap;
	size_t stop_at;		/* 0: never stop */
};

static int collect_one(void *ctx, const struct ipcrace_event *e)
{
	struct collect *c = ctx;

	if (c->stop_at && c->nr == c->stop_at)
		return -EINTR;
	if (c->nr == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->ev = realloc(c->ev, c->cap * sizeof(*c->ev));
		assert_non_null(c->ev);
	}
	c->ev[c->nr++] = *e;
	return 0;
}

static void analyze_ok(const struct trace *t, struct findings *fs, struct analyze_live *live)
{
	struct analyze_opts opts = { .live = live };

	memset(fs, 0, sizeof(*fs));
	assert_int_equal(analyze_trace(t, &opts, fs), 0);
}

static size_t count_kind(const struct findings *fs, enum finding_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < fs->nr; i++)
		n += fs->items[i].kind == kind;
	return n;
}

static void test_streamed_trace_delivers_the_events_the_reader_stores(void **state)
{
	struct fixture *f = *state;
	struct collect c = {};
	struct trace *whole, *streamed;
	char err[256];
	size_t i;

	write_rounds(f->path, 500);
	whole = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(whole);
	streamed = trace__open_file(f->path, err, sizeof(err));
	assert_non_null(streamed);
	assert_true(streamed->streamed);
	assert_null(streamed->events);
	assert_int_equal(streamed->nr_events, 0);
	assert_int_equal(streamed->event_count, whole->nr_events);
	assert_int_equal(streamed->first_event_ts, whole->events[0].ts);
	assert_int_equal(streamed->nr_event_threads, 3);	/* the spawner, T1, T2 */
	assert_int_equal(streamed->nr_event_pids, 1);
	/* two passes, the same events each time, byte for byte */
	for (int pass = 0; pass < 2; pass++) {
		c.nr = 0;
		assert_int_equal(trace__for_each_event(streamed, collect_one, &c), 0);
		assert_int_equal(c.nr, whole->nr_events);
		for (i = 0; i < c.nr; i++)
			assert_memory_equal(&c.ev[i], &whole->events[i], sizeof(c.ev[i]));
	}
	free(c.ev);
	trace__free(streamed);
	trace__free(whole);
}

/* Damage in the middle: the same gap, the same EVF_AFTER_LOSS, either way. */
static void test_streamed_trace_keeps_the_gaps_of_a_damaged_file(void **state)
{
	struct fixture *f = *state;
	struct collect c = {};
	struct trace *whole, *streamed;
	char err[256];
	size_t i, flagged = 0;
	off_t size;
	int fd;

	write_rounds(f->path, 500);
	fd = open(f->path, O_RDWR);
	assert_true(fd >= 0);
	size = lseek(fd, 0, SEEK_END);
	for (off_t off = size / 3; off < size / 3 + 300; off += 7)
		assert_int_equal(pwrite(fd, "\xff", 1, off), 1);
	close(fd);
	whole = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(whole);
	assert_true(whole->damaged_regions > 0);
	streamed = trace__open_file(f->path, err, sizeof(err));
	assert_non_null(streamed);
	assert_int_equal(streamed->damaged_regions, whole->damaged_regions);
	assert_int_equal(streamed->skipped_records, whole->skipped_records);
	assert_int_equal(trace__for_each_event(streamed, collect_one, &c), 0);
	assert_int_equal(c.nr, whole->nr_events);
	for (i = 0; i < c.nr; i++) {
		assert_memory_equal(&c.ev[i], &whole->events[i], sizeof(c.ev[i]));
		flagged += !!(c.ev[i].flags & EVF_AFTER_LOSS);
	}
	assert_true(flagged > 0);
	assert_int_equal(flagged, streamed->nr_after_loss);
	free(c.ev);
	trace__free(streamed);
	trace__free(whole);
}

static void test_streamed_pass_stops_where_the_callback_says(void **state)
{
	struct fixture *f = *state;
	struct collect c = { .stop_at = 100 };
	struct trace *t;
	char err[256];

	write_rounds(f->path, 100);
	t = trace__open_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(trace__for_each_event(t, collect_one, &c), -EINTR);
	assert_int_equal(c.nr, 100);
	free(c.ev);
	trace__free(t);
}

/* The file replaced between passes: refused, never half-analyzed. */
static void test_streamed_pass_refuses_a_file_changed_since_it_was_opened(void **state)
{
	struct fixture *f = *state;
	struct collect c = {};
	struct trace *t;
	char err[256];
	int fd;

	write_rounds(f->path, 100);
	t = trace__open_file(f->path, err, sizeof(err));
	assert_non_null(t);
	fd = open(f->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage!", 8), 8);
	close(fd);
	assert_int_equal(trace__for_each_event(t, collect_one, &c), -ESTALE);
	free(c.ev);
	trace__free(t);
}

/* Streamed or whole, the analysis finds the same: one inversion, no race. */
static void test_streamed_analysis_finds_what_the_whole_trace_finds(void **state)
{
	struct fixture *f = *state;
	struct findings whole_fs, stream_fs;
	struct analyze_live live;
	struct trace *whole, *streamed;
	char err[256];

	write_rounds(f->path, 300);
	whole = trace__read_file(f->path, err, sizeof(err));
	streamed = trace__open_file(f->path, err, sizeof(err));
	assert_non_null(whole);
	assert_non_null(streamed);
	analyze_ok(whole, &whole_fs, &live);
	analyze_ok(streamed, &stream_fs, &live);
	assert_int_equal(count_kind(&whole_fs, FINDING_LOCK_ORDER_INVERSION), 1);
	assert_int_equal(count_kind(&whole_fs, FINDING_DATA_RACE), 0);
	assert_int_equal(stream_fs.nr, whole_fs.nr);
	for (size_t i = 0; i < whole_fs.nr; i++)
		assert_int_equal(stream_fs.items[i].kind, whole_fs.items[i].kind);
	findings__clear(&whole_fs);
	findings__clear(&stream_fs);
	trace__free(streamed);
	trace__free(whole);
}

/*
 * Memory bounded by live state: 100 times the events, the same state in
 * the analyzer, the same summaries in the trace, and the heap the
 * streamed trace holds does not grow with the file (the whole-trace
 * reader's does, by at least an event's size per event).
 */
static void test_streamed_state_does_not_grow_with_events(void **state)
{
	struct fixture *f = *state;
	const unsigned rounds[2] = { 200, 20000 };
	struct analyze_live live[2];
	size_t heap_streamed[2], heap_whole[2], events[2];
	struct findings fs;
	char err[256];

	for (int i = 0; i < 2; i++) {
		struct mallinfo2 before, after;
		struct trace *t;

		write_rounds(f->path, rounds[i]);
		before = mallinfo2();
		t = trace__open_file(f->path, err, sizeof(err));
		assert_non_null(t);
		after = mallinfo2();
		heap_streamed[i] = after.uordblks + after.hblkhd - before.uordblks - before.hblkhd;
		events[i] = t->event_count;
		analyze_ok(t, &fs, &live[i]);
		assert_int_equal(count_kind(&fs, FINDING_LOCK_ORDER_INVERSION), 1);
		findings__clear(&fs);
		assert_int_equal(t->nr_stack_uses, 12);
		assert_int_equal(t->nr_event_threads, 3);
		trace__free(t);

		before = mallinfo2();
		t = trace__read_file(f->path, err, sizeof(err));
		assert_non_null(t);
		after = mallinfo2();
		heap_whole[i] = after.uordblks + after.hblkhd - before.uordblks - before.hblkhd;
		trace__free(t);
	}
	assert_true(events[1] > 90 * events[0]);
	assert_memory_equal(&live[0], &live[1], sizeof(live[0]));
	assert_int_equal(live[1].locks_held, 0);
	assert_int_equal(live[1].race_words, 1);
	assert_int_equal(heap_streamed[1], heap_streamed[0]);
	assert_true(heap_whole[1] >= events[1] * sizeof(struct ipcrace_event));
}

/* `ipcrace dump` of a streamed trace: the listing of the trace read whole, line for line. */
static char *dump_to_string(const struct trace *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(dump__write(out, t), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static void test_streamed_dump_lists_what_the_whole_dump_lists(void **state)
{
	struct fixture *f = *state;
	struct trace *whole, *streamed;
	char err[256], count[64], *a, *b;

	write_rounds(f->path, 300);
	whole = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(whole);
	streamed = trace__open_file(f->path, err, sizeof(err));
	assert_non_null(streamed);
	a = dump_to_string(whole);
	b = dump_to_string(streamed);
	assert_non_null(strstr(a, "lock-acquired"));
	snprintf(count, sizeof(count), "\n# %zu events read", whole->nr_events);
	assert_true(whole->nr_events > 2000);
	assert_non_null(strstr(a, count));
	assert_string_equal(a, b);
	free(a);
	free(b);
	trace__free(streamed);
	trace__free(whole);
}

/* --- analysis in the first pass (analyze_stream) ----------------------------- */

/* Two finding lists, field by field: the same findings in the same order. */
static void findings_equal(const struct findings *x, const struct findings *y)
{
	assert_int_equal(x->nr, y->nr);
	for (size_t i = 0; i < x->nr; i++) {
		const struct finding *a = &x->items[i], *b = &y->items[i];

		assert_int_equal(a->kind, b->kind);
		assert_memory_equal(&a->object, &b->object, sizeof(a->object));
		assert_int_equal(a->nr_accesses, b->nr_accesses);
		assert_memory_equal(a->accesses, b->accesses, sizeof(a->accesses));
		assert_int_equal(a->nr_cycle, b->nr_cycle);
		for (size_t k = 0; k < a->nr_cycle; k++)
			assert_memory_equal(&a->cycle[k], &b->cycle[k], sizeof(a->cycle[k]));
	}
}

/* The findings of the usual passes over the file read whole. */
static void findings_of_passes(const char *path, struct findings *fs, struct analyze_live *live)
{
	char err[256];
	struct trace *t = trace__read_file(path, err, sizeof(err));

	assert_non_null(t);
	analyze_ok(t, fs, live);
	trace__free(t);
}

/* Opened with a stream; left: the passes it must still make. */
static void findings_of_stream(const char *path, bool remap, int left,
			       struct findings *fs, struct analyze_live *live)
{
	struct analyze_opts opts = { .live = live };
	struct analyze_stream *s = analyze_stream__new();
	char err[256];
	struct trace *t;

	assert_non_null(s);
	t = trace__open_file_each(path, analyze_stream__event, s, err, sizeof(err));
	assert_non_null(t);
	if (remap) {
		/* as report__merge_stacks does for snapshots with the same frames */
		struct ipcrace_key k = { .a = 12 };

		t->stack_remap = keymap__new();
		assert_non_null(t->stack_remap);
		assert_int_equal(keymap__set(t->stack_remap, &k, 11), 0);
	}
	assert_int_equal(analyze_stream__passes_left(s, t), left);
	memset(fs, 0, sizeof(*fs));
	assert_int_equal(analyze_stream__finish(s, t, &opts, fs), 0);
	analyze_stream__free(s);
	trace__free(t);
}

/* Locks only: analyzed in the first pass, the findings of the usual passes. */
static void test_first_pass_analysis_finds_what_the_passes_find(void **state)
{
	struct fixture *f = *state;
	struct findings passes, stream;
	struct analyze_live live_passes, live_stream;

	write_rounds_with(f->path, 300, false);
	findings_of_passes(f->path, &passes, &live_passes);
	findings_of_stream(f->path, false, 0, &stream, &live_stream);
	assert_int_equal(count_kind(&passes, FINDING_LOCK_ORDER_INVERSION), 1);
	assert_int_equal(count_kind(&passes, FINDING_UNLOCK_NOT_HELD), 1);
	findings_equal(&passes, &stream);
	assert_memory_equal(&live_passes, &live_stream, sizeof(live_passes));
	findings__clear(&passes);
	findings__clear(&stream);
}

/* Damage in the middle: the same gaps seen in the first pass as in a later one. */
static void test_first_pass_analysis_of_a_damaged_file(void **state)
{
	struct fixture *f = *state;
	struct findings passes, stream;
	struct analyze_live live_passes, live_stream;
	off_t size;
	int fd;

	write_rounds_with(f->path, 500, false);
	fd = open(f->path, O_RDWR);
	assert_true(fd >= 0);
	size = lseek(fd, 0, SEEK_END);
	for (off_t off = size / 2; off < size / 2 + 300; off += 7)
		assert_int_equal(pwrite(fd, "\xff", 1, off), 1);
	close(fd);
	findings_of_passes(f->path, &passes, &live_passes);
	findings_of_stream(f->path, false, 0, &stream, &live_stream);
	findings_equal(&passes, &stream);
	assert_memory_equal(&live_passes, &live_stream, sizeof(live_passes));
	findings__clear(&passes);
	findings__clear(&stream);
}

/*
 * Stacks merged after the first pass (report__merge_stacks): the detection
 * once more (not the atomic variables' pass: there were none), with the
 * usual passes' findings under the new ids.
 */
static void test_first_pass_analysis_gives_way_to_merged_stacks(void **state)
{
	struct fixture *f = *state;
	struct findings stream;
	struct analyze_live live_stream;

	struct findings passes;
	struct analyze_live live_passes;
	struct ipcrace_key k = { .a = 12 };
	char err[256];
	struct trace *t;

	/* stack 12 read as 11: the findings must name 11 */
	write_rounds_with(f->path, 300, false);
	findings_of_stream(f->path, true, 1, &stream, &live_stream);
	/* the usual passes over the trace in memory, its events renumbered */
	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	t->stack_remap = keymap__new();
	assert_non_null(t->stack_remap);
	assert_int_equal(keymap__set(t->stack_remap, &k, 11), 0);
	for (size_t i = 0; i < t->nr_events; i++)
		t->events[i].stack_id = trace__stack_id(t, t->events[i].stack_id);
	analyze_ok(t, &passes, &live_passes);
	trace__free(t);
	findings_equal(&passes, &stream);
	assert_memory_equal(&live_passes, &live_stream, sizeof(live_passes));
	findings__clear(&passes);
	assert_int_equal(count_kind(&stream, FINDING_LOCK_ORDER_INVERSION), 1);
	for (size_t i = 0; i < stream.nr; i++)
		for (size_t k = 0; k < stream.items[i].nr_cycle; k++)
			assert_true(stream.items[i].cycle[k].who.stack_id != 12);
	findings__clear(&stream);
}

/*
 * An 8-byte write by tid at off of the shared file; unresolved: BPF found
 * no key (the analyzer looks the address up in the mappings).
 */
static void emit_write(struct writer *wr, __u32 tid, __u64 off, __u32 flags, __u64 stack,
		       bool unresolved)
{
	struct ipcrace_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = IPCRACE_REC_EVENT;
	e.hdr.size = sizeof(e);
	e.ts = ++wr->ts;
	e.type = EV_MEM_ACCESS;
	e.pid = PID;
	e.tid = tid;
	e.obj = OBJ_MEMORY;
	e.flags = EVF_WRITE | flags | (unresolved ? EVF_KEY_UNRESOLVED : 0);
	e.stack_id = stack;
	e.addr = 0x7f0000000000ull + off;
	e.arg0 = 0x401000 + stack;
	e.arg1 = 8;
	snprintf(e.comm, sizeof(e.comm), "t%u", tid);
	if (!unresolved) {
		e.key.space = KEY_FILE;
		e.key.a = 0x17;
		e.key.b = 4242;
		e.key.c = off;
	}
	assert_int_equal(trace_writer__add_event(wr->w, &e), 0);
}

/*
 * Locks first (the stream analyzes them), then word W written by two
 * threads and, last, an atomic RMW of W: W is atomic for the whole run,
 * no race; word X written by both races.
 */
static void write_late_atomic(const char *path, bool x_unresolved, bool atomic_unresolved)
{
	struct trace_header h = { .start_mono_ns = 1 };
	struct trace_footer foot = { .end_mono_ns = 1ull << 40 };
	struct trace_process p = { .ts = 1, .pid = PID, .exit_status = -1 };
	struct trace_mapping m = {
		.ts = 1, .start = 0x7f0000000000ull, .end = 0x7f0000001000ull, .dev = 0x17,
		.ino = 4242, .pid = PID, .prot = 3, .flags = MAPF_SHARED,
	};
	struct writer wr = { .ts = 10 };

	strcpy(p.comm, "late");
	strcpy(m.path, "/dev/shm/late");
	wr.w = trace_writer__open(path, &h);
	assert_non_null(wr.w);
	assert_int_equal(trace_writer__add_process(wr.w, &p), 0);
	assert_int_equal(trace_writer__add_mapping(wr.w, &m), 0);
	for (int i = 0; i < 50; i++) {
		lock(&wr, 1, 0x0, 11);
		unlock(&wr, 1, 0x0, 12);
	}
	emit_write(&wr, 1, 0x100, 0, 41, false);
	emit_write(&wr, 2, 0x100, 0, 42, false);
	emit_write(&wr, 1, 0x200, 0, 44, x_unresolved);
	emit_write(&wr, 2, 0x200, 0, 45, x_unresolved);
	emit_write(&wr, 1, 0x100, EVF_ATOMIC, 43, atomic_unresolved);
	assert_int_equal(trace_writer__close(wr.w, &foot), 0);
}

/*
 * Plain accesses are analyzed in the first pass, but a variable made
 * atomic at the end is atomic from the start: the first pass notes the
 * atomic variables instead, one pass is left (both when the atomic
 * access's address must be looked up), and the findings are the same.
 */
static void test_first_pass_notes_atomic_variables_for_the_pass_left(void **state)
{
	struct fixture *f = *state;
	struct findings passes, stream;
	struct analyze_live live_passes, live_stream;
	const struct { bool x_unresolved, atomic_unresolved; int left; } cases[] = {
		{ false, false, 1 }, { true, false, 1 }, { false, true, 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_late_atomic(f->path, cases[i].x_unresolved, cases[i].atomic_unresolved);
		findings_of_passes(f->path, &passes, &live_passes);
		findings_of_stream(f->path, false, cases[i].left, &stream, &live_stream);
		assert_int_equal(count_kind(&passes, FINDING_DATA_RACE), 1);
		assert_int_equal(passes.items[0].object.key.c, 0x200);
		findings_equal(&passes, &stream);
		assert_memory_equal(&live_passes, &live_stream, sizeof(live_passes));
		findings__clear(&passes);
		findings__clear(&stream);
	}
}

/* Plain accesses, no atomic variable: checked in the first pass, the same findings. */
static void test_first_pass_analysis_checks_plain_accesses(void **state)
{
	struct fixture *f = *state;
	struct findings passes, stream;
	struct analyze_live live_passes, live_stream;

	write_rounds_with(f->path, 300, true);
	findings_of_passes(f->path, &passes, &live_passes);
	findings_of_stream(f->path, false, 0, &stream, &live_stream);
	findings_equal(&passes, &stream);
	assert_memory_equal(&live_passes, &live_stream, sizeof(live_passes));
	findings__clear(&passes);
	findings__clear(&stream);
}

/*
 * Analyzed in the first pass, memory is still the live state: 100 times
 * the events, the same heap held by the stream and the trace at the end
 * (to malloc's bookkeeping), the same live state, the same findings.
 */
static void test_first_pass_analysis_does_not_grow_with_events(void **state)
{
	struct fixture *f = *state;
	/* the first run warms malloc up (its thresholds move): not compared */
	const unsigned rounds[3] = { 200, 200, 20000 };
	struct analyze_live live[3];
	size_t heap[3], events[3];
	struct findings fs[3];

	for (int i = 0; i < 3; i++) {
		struct analyze_opts opts = { .live = &live[i] };
		struct mallinfo2 before, after;
		struct analyze_stream *s;
		char err[256];
		struct trace *t;

		write_rounds_with(f->path, rounds[i], true);
		before = mallinfo2();
		s = analyze_stream__new();
		assert_non_null(s);
		t = trace__open_file_each(f->path, analyze_stream__event, s, err, sizeof(err));
		assert_non_null(t);
		after = mallinfo2();
		heap[i] = after.uordblks + after.hblkhd - before.uordblks - before.hblkhd;
		events[i] = t->event_count;
		assert_int_equal(analyze_stream__passes_left(s, t), 0);
		memset(&fs[i], 0, sizeof(fs[i]));
		assert_int_equal(analyze_stream__finish(s, t, &opts, &fs[i]), 0);
		analyze_stream__free(s);
		trace__free(t);
	}
	assert_true(events[2] > 90 * events[1]);
	/*
	 * malloc's own bookkeeping moves by a chunk or two between runs (48
	 * bytes seen); events kept would be 120 bytes each, 2 MB here
	 */
	assert_true(heap[2] < heap[1] + 1024 && heap[1] < heap[2] + 1024);
	assert_memory_equal(&live[1], &live[2], sizeof(live[1]));
	assert_int_equal(count_kind(&fs[2], FINDING_LOCK_ORDER_INVERSION), 1);
	assert_int_equal(fs[1].nr, fs[2].nr);
	for (int i = 0; i < 3; i++)
		findings__clear(&fs[i]);
}

/* The first pass's events are those of every later pass, damage or not. */
static void test_first_pass_hands_over_the_events_of_later_passes(void **state)
{
	struct fixture *f = *state;
	struct collect first = {}, later = {};
	char err[256];
	struct trace *t;
	off_t size;
	int fd;

	write_rounds(f->path, 400);
	fd = open(f->path, O_RDWR);
	assert_true(fd >= 0);
	size = lseek(fd, 0, SEEK_END);
	assert_int_equal(pwrite(fd, "\xff\xff", 2, size / 3), 2);
	close(fd);
	t = trace__open_file_each(f->path, collect_one, &first, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->nr_after_loss > 0);
	assert_int_equal(trace__for_each_event(t, collect_one, &later), 0);
	assert_int_equal(first.nr, later.nr);
	assert_int_equal(first.nr, t->event_count);
	assert_memory_equal(first.ev, later.ev, first.nr * sizeof(first.ev[0]));
	free(first.ev);
	free(later.ev);
	trace__free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		tmp_trace_test(test_streamed_trace_delivers_the_events_the_reader_stores),
		tmp_trace_test(test_streamed_trace_keeps_the_gaps_of_a_damaged_file),
		tmp_trace_test(test_streamed_pass_stops_where_the_callback_says),
		tmp_trace_test(test_streamed_pass_refuses_a_file_changed_since_it_was_opened),
		tmp_trace_test(test_streamed_analysis_finds_what_the_whole_trace_finds),
		tmp_trace_test(test_streamed_state_does_not_grow_with_events),
		tmp_trace_test(test_streamed_dump_lists_what_the_whole_dump_lists),
		tmp_trace_test(test_first_pass_analysis_finds_what_the_passes_find),
		tmp_trace_test(test_first_pass_analysis_of_a_damaged_file),
		tmp_trace_test(test_first_pass_analysis_gives_way_to_merged_stacks),
		tmp_trace_test(test_first_pass_hands_over_the_events_of_later_passes),
		tmp_trace_test(test_first_pass_notes_atomic_variables_for_the_pass_left),
		tmp_trace_test(test_first_pass_analysis_checks_plain_accesses),
		tmp_trace_test(test_first_pass_analysis_does_not_grow_with_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
