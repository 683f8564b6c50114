// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The flight recorder (tracer/flight.c): the ring keeps the newest events
 * whole and in order across wrap-arounds, a window says it is one and
 * flags its first event as after a loss, the state a window needs
 * (processes, the mapping snapshot in effect at its start, stacks) is
 * kept, and a crash by signal is noticed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyzer/trace.h"
#include "analyzer/trace_format.h"
#include "tracer/flight.h"
#include "tracer/trace_writer.h"

static void ev_make(struct ipcrace_event *e, __u64 ts, __u32 tid, __u16 type)
{
	memset(e, 0, sizeof(*e));
	e->hdr.kind = IPCRACE_REC_EVENT;
	e->hdr.size = sizeof(*e);
	e->ts = ts;
	e->pid = 100;
	e->tid = tid;
	e->type = type;
	e->obj = OBJ_MUTEX;
}

/* Writes the window of f into a memfd and reads it back. */
static struct trace *window_of(struct flight *f)
{
	struct trace_footer foot = { .end_mono_ns = 1 };
	struct trace_header h = { .start_mono_ns = 0 };
	struct trace_writer *w;
	struct trace *t;
	char err[256];
	int fd = memfd_create("window", 0);

	assert_true(fd >= 0);
	w = trace_writer__open_fd(dup(fd), &h);
	assert_non_null(w);
	assert_int_equal(flight__write(f, w, &foot), 0);
	t = trace__read_fd(fd, "window", err, sizeof(err));
	assert_non_null(t);
	close(fd);
	return t;
}

static void test_small_story_is_whole_not_a_window(void **state)
{
	struct flight *f = flight__new(FLIGHT_MIN_BYTES);
	struct ipcrace_event e;
	struct trace *t;

	(void)state;
	assert_non_null(f);
	for (unsigned i = 0; i < 10; i++) {
		ev_make(&e, 1000 + i, 7, EV_LOCK_ATTEMPT);
		assert_int_equal(flight__add(f, TRACE_REC_EVENT, &e, sizeof(e)), 0);
	}
	t = window_of(f);
	assert_int_equal(t->nr_events, 10);
	assert_false(t->footer.flags & TRACEF_WINDOW);
	assert_false(t->events[0].flags & EVF_AFTER_LOSS);
	assert_true(trace__is_complete(t));
	trace__free(t);
	flight__free(f);
}

static void test_ring_keeps_the_newest_events_in_order(void **state)
{
	struct flight *f = flight__new(FLIGHT_MIN_BYTES);
	enum { N = 5000 };	/* ~640 KiB of events through a 64 KiB ring */
	struct ipcrace_event e;
	struct trace *t;
	char gaps[256];

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		ev_make(&e, 1000 + i, 7 + i % 3, EV_LOCK_ATTEMPT);
		e.arg0 = i;
		assert_int_equal(flight__add(f, TRACE_REC_EVENT, &e, sizeof(e)), 0);
	}
	t = window_of(f);
	/* 128-byte entries in 64 KiB, minus what wrap-around markers take */
	assert_true(t->nr_events >= FLIGHT_MIN_BYTES / 128 - 2);
	assert_true(t->nr_events <= FLIGHT_MIN_BYTES / 128);
	for (size_t i = 0; i < t->nr_events; i++)
		assert_int_equal(t->events[i].arg0, N - t->nr_events + i);
	assert_true(t->events[0].flags & EVF_AFTER_LOSS);
	for (size_t i = 1; i < t->nr_events; i++)
		assert_false(t->events[i].flags & EVF_AFTER_LOSS);
	assert_true(t->footer.flags & TRACEF_WINDOW);
	assert_int_equal(t->footer.window_start_ns, t->events[0].ts);
	assert_int_equal(t->footer.window_dropped_records, N - t->nr_events);
	assert_false(trace__is_complete(t));
	assert_int_equal(trace__exit_status(t, 0), 1);
	trace__describe_gaps(t, gaps, sizeof(gaps));
	assert_non_null(strstr(gaps, "flight-recorder window"));
	trace__free(t);
	flight__free(f);
}

static void test_window_keeps_the_state_it_needs(void **state)
{
	struct flight *f = flight__new(FLIGHT_MIN_BYTES);
	struct trace_process p = { .pid = 100, .exit_status = -1 };
	struct trace_mapping m = { .pid = 100, .start = 0x1000, .end = 0x2000 };
	struct ipcrace_stack s = { .id = 0x51, .nr = 1, .ips = { 0x401000 } };
	struct ipcrace_event e;
	struct trace *t;

	(void)state;
	strcpy(p.comm, "old-name");
	assert_int_equal(flight__add(f, TRACE_REC_PROCESS, &p, sizeof(p)), 0);
	strcpy(p.comm, "new-name");
	assert_int_equal(flight__add(f, TRACE_REC_PROCESS, &p, sizeof(p)), 0);
	assert_int_equal(flight__add(f, TRACE_REC_STACK, &s, TRACE_STACK_LEN(1)), 0);
	/* three snapshots of pid 100, at 10, 20 and (inside the window) later */
	for (__u64 ts = 10; ts <= 20; ts += 10) {
		m.ts = ts;
		assert_int_equal(flight__add(f, TRACE_REC_MAPPING, &m, sizeof(m)), 0);
	}
	for (unsigned i = 0; i < 3000; i++) {
		ev_make(&e, 100 + i, 7, EV_LOCK_ATTEMPT);
		e.stack_id = 0x51;
		if (i == 2990) {
			m.ts = e.ts;
			assert_int_equal(flight__add(f, TRACE_REC_MAPPING, &m, sizeof(m)), 0);
		}
		assert_int_equal(flight__add(f, TRACE_REC_EVENT, &e, sizeof(e)), 0);
	}
	t = window_of(f);
	assert_true(t->footer.flags & TRACEF_WINDOW);
	assert_int_equal(t->nr_processes, 1);
	assert_string_equal(t->processes[0].comm, "new-name");
	/* the stack sent long before the window is still there */
	assert_non_null(trace__find_stack(t, 0x51));
	/* the snapshot in effect at the window's start (ts 20) and the later one */
	assert_int_equal(t->nr_mappings, 2);
	assert_int_equal(t->mappings[0].ts, 20);
	assert_int_equal(t->mappings[1].ts, 100 + 2990);
	trace__free(t);
	flight__free(f);
}

static void test_crash_by_signal_is_noticed_once(void **state)
{
	struct flight *f = flight__new(FLIGHT_MIN_BYTES);
	struct ipcrace_event e;
	__u32 pid;
	int sig;

	(void)state;
	/* a normal exit, and a thread (not the last) killed: no crash */
	ev_make(&e, 1, 7, EV_EXIT);
	e.obj = 0;
	e.arg0 = 3 << 8;
	e.flags = EVF_GROUP_DEAD;
	assert_int_equal(flight__add(f, TRACE_REC_EVENT, &e, sizeof(e)), 0);
	e.arg0 = SIGSEGV;
	e.flags = 0;
	assert_int_equal(flight__add(f, TRACE_REC_EVENT, &e, sizeof(e)), 0);
	assert_false(flight__take_crash(f, &pid, &sig));
	/* SIGABRT with a core dump (0x80) ends the process */
	e.arg0 = SIGABRT | 0x80;
	e.flags = EVF_GROUP_DEAD;
	e.pid = 4242;
	assert_int_equal(flight__add(f, TRACE_REC_EVENT, &e, sizeof(e)), 0);
	assert_true(flight__take_crash(f, &pid, &sig));
	assert_int_equal(pid, 4242);
	assert_int_equal(sig, SIGABRT);
	assert_false(flight__take_crash(f, &pid, &sig));
	/* SIGTERM is an ending, not a crash */
	e.arg0 = SIGTERM;
	assert_int_equal(flight__add(f, TRACE_REC_EVENT, &e, sizeof(e)), 0);
	assert_false(flight__take_crash(f, &pid, &sig));
	flight__free(f);
}

static void test_bad_records_are_refused(void **state)
{
	struct flight *f = flight__new(0);	/* rounded up to the minimum */
	struct ipcrace_event e;

	(void)state;
	assert_non_null(f);
	assert_true(flight__memory(f) >= FLIGHT_MIN_BYTES);
	ev_make(&e, 1, 1, EV_LOCK_ATTEMPT);
	assert_int_equal(flight__add(f, TRACE_REC_EVENT, &e, sizeof(e) - 8), -EINVAL);
	assert_int_equal(flight__add(f, TRACE_REC_PROCESS, &e, sizeof(e)), -EINVAL);
	assert_int_equal(flight__add(NULL, TRACE_REC_EVENT, &e, sizeof(e)), -EINVAL);
	flight__free(f);
	flight__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_story_is_whole_not_a_window),
		cmocka_unit_test(test_ring_keeps_the_newest_events_in_order),
		cmocka_unit_test(test_window_keeps_the_state_it_needs),
		cmocka_unit_test(test_crash_by_signal_is_noticed_once),
		cmocka_unit_test(test_bad_records_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
