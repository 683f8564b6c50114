// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A message handed between two processes with a flag in shared memory
 * (fixtures/clean_flag_handoff): the producer writes the message and
 * stores the flag (a release store, a plain move), the consumer polls the
 * flag with acquire loads, reads the message and gives the flag back with
 * an xchg, which the producer's acquire load waits for before the next
 * message. The events are those of a kept failing run (22:39, two busy
 * loops on the CPUs): the producer's load that read the xchg's 0 was
 * recorded at its probe, before it ran, and the thread was preempted
 * before it ran: the consumer's read and xchg reached the trace in
 * between. Analyzed by the whole driver (analyze_trace: the flag is atomic
 * from its first event). And the same handoff with no RMW at all.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/analyze.h"
#include "analyzer/findings.h"

#define CONSUMER 100
#define PRODUCER 200
#define FLAG 0x0
#define MESSAGE 0x8
#define MAX_STREAM 32

#define PROBE_READ (EVF_PROBE | EVF_READ)
#define PROBE_WRITE (EVF_PROBE | EVF_WRITE)
#define PROBE_RMW (EVF_PROBE | EVF_READ | EVF_WRITE | EVF_ATOMIC)

struct stream {
	struct ipcrace_event ev[MAX_STREAM];
	size_t nr;
	__u64 ts;
};

/* The next event of the stream: a word of the mailbox, 10 us after the last. */
static void emit(struct stream *s, __u16 type, __u32 pid, __u32 flags, __u64 ip, __u64 off)
{
	struct ipcrace_event *e;

	assert_true(s->nr < MAX_STREAM);
	e = &s->ev[s->nr++];
	memset(e, 0, sizeof(*e));
	e->hdr.kind = IPCRACE_REC_EVENT;
	e->hdr.size = sizeof(*e);
	e->type = type;
	e->pid = pid;
	e->tid = pid;
	e->ts = s->ts += 10000;
	e->obj = OBJ_MEMORY;
	e->key = (struct ipcrace_key){ .a = 0x1b, .b = 6126, .c = off, .space = KEY_FILE };
	e->addr = 0x7f0000000000ull + pid * 0x1000 + off;	/* mapped apart */
	e->arg0 = ip;
	e->arg1 = off == MESSAGE ? 8 : 4;
	e->flags = flags;
	strcpy(e->comm, "clean_flag_hand");
}

static void access_(struct stream *s, __u32 pid, __u32 flags, __u64 ip, __u64 off)
{
	emit(s, EV_MEM_ACCESS, pid, flags, ip, off);
}

/* take(): the flag is 1, read the message, xchg the flag back to 0. */
static void take(struct stream *s)
{
	access_(s, CONSUMER, PROBE_READ, 0x12b5, FLAG);
	access_(s, CONSUMER, PROBE_READ, 0x12bb, MESSAGE);
	/* the xchg's release, recorded before it runs, then the xchg after it ran */
	emit(s, EV_ATOMIC_RELEASE, CONSUMER, EVF_PROBE | EVF_ATOMIC, 0x12c4, FLAG);
	access_(s, CONSUMER, PROBE_RMW, 0x12c4, FLAG);
}

/*
 * One round and the start of the next: post() stores the message and the
 * flag, the next post() loads the flag (its record flagged as given), the
 * consumer takes the message, and the producer writes the next one.
 */
static size_t races(__u32 load_flags, bool load_before_write)
{
	struct analyze_opts opts = { 0 };
	struct findings out = { 0 };
	struct stream s = { .nr = 0 };
	struct trace t;
	size_t i, nr = 0;

	access_(&s, PRODUCER, PROBE_READ | EVF_AFTER_RUN, 0x122f, FLAG);
	access_(&s, PRODUCER, PROBE_WRITE, 0x1235, MESSAGE);
	access_(&s, PRODUCER, PROBE_WRITE, 0x1239, FLAG);
	if (load_before_write)
		access_(&s, PRODUCER, load_flags, 0x122f, FLAG);
	take(&s);
	access_(&s, PRODUCER, PROBE_WRITE, 0x1235, MESSAGE);

	memset(&t, 0, sizeof(t));
	t.events = s.ev;
	t.nr_events = s.nr;
	assert_int_equal(analyze_trace(&t, &opts, &out), 0);
	for (i = 0; i < out.nr; i++)
		nr += out.items[i].kind == FINDING_DATA_RACE;
	findings__clear(&out);
	return nr;
}

/*
 * The failing run: the load recorded before it ran read the xchg's 0
 * (else the producer would have slept, not written): it is ordered after
 * the release that reached the trace before the producer's next event.
 */
static void test_load_recorded_before_it_ran_takes_a_later_release(void **state)
{
	(void)state;
	assert_int_equal(races(PROBE_READ, true), 0);
}

/*
 * A load recorded after it ran (the probe after it) read what came
 * before its record: a release after it orders nothing.
 */
static void test_load_recorded_after_it_ran_takes_no_later_release(void **state)
{
	(void)state;
	assert_int_equal(races(PROBE_READ | EVF_AFTER_RUN, true), 1);
}

/* A watchpoint hit reports a load after it ran, too. */
static void test_watchpoint_load_takes_no_later_release(void **state)
{
	(void)state;
	assert_int_equal(races(EVF_READ, true), 1);
}

/* A producer that does not wait for the flag still races. */
static void test_write_without_a_load_of_the_flag_races(void **state)
{
	(void)state;
	assert_int_equal(races(0, false), 1);
}

/*
 * No RMW anywhere (fixtures/clean_acqrel_flag_procs): the consumer gives
 * the flag back with a release store. Only the source says the flag is
 * atomic (EVF_ORDERED); without it the flag's own accesses are data.
 */
static size_t acqrel_races(__u32 ordered)
{
	struct analyze_opts opts = { 0 };
	struct findings out = { 0 };
	struct stream s = { .nr = 0 };
	struct trace t;
	size_t i, nr = 0;

	access_(&s, PRODUCER, PROBE_READ | EVF_AFTER_RUN | ordered, 0x122f, FLAG);
	access_(&s, PRODUCER, PROBE_WRITE, 0x1235, MESSAGE);
	access_(&s, PRODUCER, PROBE_WRITE | ordered, 0x1239, FLAG);
	access_(&s, CONSUMER, PROBE_READ | EVF_AFTER_RUN | ordered, 0x12b5, FLAG);
	access_(&s, CONSUMER, PROBE_READ, 0x12bb, MESSAGE);
	access_(&s, CONSUMER, PROBE_WRITE | ordered, 0x12c4, FLAG);
	access_(&s, PRODUCER, PROBE_READ | EVF_AFTER_RUN | ordered, 0x122f, FLAG);
	access_(&s, PRODUCER, PROBE_WRITE, 0x1235, MESSAGE);

	memset(&t, 0, sizeof(t));
	t.events = s.ev;
	t.nr_events = s.nr;
	assert_int_equal(analyze_trace(&t, &opts, &out), 0);
	for (i = 0; i < out.nr; i++)
		nr += out.items[i].kind == FINDING_DATA_RACE;
	findings__clear(&out);
	return nr;
}

static void test_acquire_release_flag_without_rmw_orders_when_the_source_says(void **state)
{
	(void)state;
	assert_int_equal(acqrel_races(EVF_ORDERED), 0);
	assert_true(acqrel_races(0) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_recorded_before_it_ran_takes_a_later_release),
		cmocka_unit_test(test_load_recorded_after_it_ran_takes_no_later_release),
		cmocka_unit_test(test_watchpoint_load_takes_no_later_release),
		cmocka_unit_test(test_write_without_a_load_of_the_flag_races),
		cmocka_unit_test(test_acquire_release_flag_without_rmw_orders_when_the_source_says),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
