// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reports/perfetto.c: the Chrome trace-event JSON of a synthetic trace of
 * two processes, a writer holding a mutex in /dev/shm/bank while it sends
 * two messages down a pipe, and a reader receiving them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "analyzer/findings.h"
#include "analyzer/trace.h"
#include "reports/report.h"
#include "json_check.h"

#define FAKE_DEV makedev(0, 26)
#define PIPE_DEV makedev(0, 13)
#define BANK_INO 4242
#define PIPE_INO 777
#define BASE_NS 1000000ull
#define WRITER 100
#define READER 200
#define MAX_EVENTS 32

struct fixture {
	struct trace t;
	struct trace_process procs[2];
	struct trace_mapping maps[2];
	struct ipcrace_event ev[MAX_EVENTS];
	struct findings fs;
	struct finding f;
};

static struct ipcrace_key bank_key(__u64 off)
{
	return (struct ipcrace_key){ .a = FAKE_DEV, .b = BANK_INO, .c = off, .space = KEY_FILE };
}

static struct ipcrace_key pipe_key(void)
{
	return (struct ipcrace_key){ .a = PIPE_DEV, .b = PIPE_INO, .c = CHANKEY_INODE,
				     .space = KEY_FILE };
}

/* Appends an event at BASE_NS + rel_ns; comm like the kernel's, not NUL-terminated at 16. */
static struct ipcrace_event *add_event(struct fixture *fx, __u64 rel_ns, __u32 pid, __u32 tid,
				       enum ipcrace_event_type type, const char *comm)
{
	struct ipcrace_event *e;

	assert_true(fx->t.nr_events < MAX_EVENTS);
	e = &fx->ev[fx->t.nr_events++];
	*e = (struct ipcrace_event){ .ts = BASE_NS + rel_ns, .pid = pid, .tid = tid, .type = type };
	memcpy(e->comm, comm, strnlen(comm, sizeof(e->comm)));
	return e;
}

static void add_lock(struct fixture *fx, __u64 rel_ns, __u32 tid, enum ipcrace_event_type type,
		     __u64 off)
{
	struct ipcrace_event *e = add_event(fx, rel_ns, WRITER, tid, type, "writer");

	e->obj = OBJ_MUTEX;
	e->key = bank_key(off);
	e->addr = 0x7f0000000000 + off;
}

static void add_chan(struct fixture *fx, __u64 rel_ns, __u32 pid, enum ipcrace_event_type type,
		     __u64 bytes, const char *comm)
{
	struct ipcrace_event *e = add_event(fx, rel_ns, pid, pid, type, comm);

	e->obj = OBJ_PIPE;
	e->key = pipe_key();
	e->arg0 = bytes;
	e->arg1 = type == EV_CHAN_SEND ? 4 : 3;
	if (type == EV_CHAN_RECV)
		e->result = (__s32)bytes;
}

static struct trace_mapping bank_mapping(__u32 pid, __u64 start)
{
	struct trace_mapping m = {
		.ts = 1, .start = start, .end = start + 0x1000, .dev = FAKE_DEV, .ino = BANK_INO,
		.pid = pid, .prot = PROT_READ | PROT_WRITE, .flags = MAPF_SHARED,
	};

	strcpy(m.path, "/dev/shm/bank");
	return m;
}

/* Two processes, the reader with a hostile comm; no events yet. */
static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->t.header.start_mono_ns = BASE_NS;
	fx->procs[0] = (struct trace_process){ .pid = WRITER, .exit_status = -1 };
	strcpy(fx->procs[0].comm, "writer");
	strcpy(fx->procs[0].exe, "/usr/bin/writer");
	fx->procs[1] = (struct trace_process){ .pid = READER, .ppid = WRITER, .exit_status = -1 };
	strcpy(fx->procs[1].comm, "\x1b]0;pwn\a\"rd");
	fx->t.processes = fx->procs;
	fx->t.nr_processes = 2;
	fx->maps[0] = bank_mapping(WRITER, 0x7f0000000000);
	fx->maps[1] = bank_mapping(READER, 0x7f1000000000);
	fx->t.mappings = fx->maps;
	fx->t.nr_mappings = 2;
	fx->t.events = fx->ev;
	fx->t.has_footer = true;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->f.cycle);
	free(fx);
	return 0;
}

/*
 * The writer waits 2 µs for the mutex, holds it 6 µs and sends 5 then 7
 * bytes while holding it; the reader receives 5 then 7 bytes.
 */
static void add_pipe_exchange(struct fixture *fx)
{
	add_lock(fx, 1000, WRITER, EV_LOCK_ATTEMPT, 0x40);
	add_lock(fx, 3000, WRITER, EV_LOCK_ACQUIRED, 0x40);
	add_chan(fx, 4000, WRITER, EV_CHAN_SEND, 5, "writer");
	add_chan(fx, 5000, WRITER, EV_CHAN_SEND, 7, "writer");
	add_chan(fx, 6000, READER, EV_CHAN_RECV, 5, "\x1b]0;pwn\a\"rd");
	add_chan(fx, 7000, READER, EV_CHAN_RECV, 7, "\x1b]0;pwn\a\"rd");
	add_lock(fx, 9000, WRITER, EV_LOCK_RELEASE, 0x40);
	add_event(fx, 10000, READER, READER, EV_EXIT, "\x1b]0;pwn\a\"rd")->flags = EVF_GROUP_DEAD;
}

/* bank+0x0 => bank+0x40 => bank+0x0, the second edge the later one */
static void add_lock_order_finding(struct fixture *fx)
{
	struct finding_edge *e = calloc(2, sizeof(*e));

	assert_non_null(e);
	e[0].held = (struct finding_object){ .key = bank_key(0), .pid = WRITER, .obj = OBJ_MUTEX };
	e[0].lock = (struct finding_object){ .key = bank_key(0x40), .pid = WRITER, .obj = OBJ_MUTEX };
	e[0].who = (struct finding_access){ .ts = BASE_NS + 3000, .pid = WRITER, .tid = WRITER };
	strcpy(e[0].who.comm, "writer");
	e[1].held = e[0].lock;
	e[1].lock = e[0].held;
	e[1].who = (struct finding_access){ .ts = BASE_NS + 8000, .pid = WRITER, .tid = WRITER + 1 };
	strcpy(e[1].who.comm, "writer");
	fx->f = (struct finding){ .kind = FINDING_LOCK_ORDER_INVERSION, .cycle = e, .nr_cycle = 2 };
	fx->fs.items = &fx->f;
	fx->fs.nr = 1;
}

static char *render(const struct trace *t, const struct findings *fs)
{
	struct report_opts opts = { .format = REPORT_PERFETTO };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report__write(f, t, fs, &opts), 0);
	fclose(f);
	/* REPORTS_TEST_SHOW=1 shows what the assertions look at */
	if (getenv("REPORTS_TEST_SHOW"))
		fputs(buf, stderr);
	return buf;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/*
 * The "id" of every trace event with "ph": ph, in document order. Flow
 * events hold no nested object, so an event ends at the next '}'.
 */
static size_t flow_ids(const char *doc, const char *ph, long *ids, size_t max)
{
	char needle[32];
	const char *p = doc, *end, *id;
	size_t n = 0;

	snprintf(needle, sizeof(needle), "\"ph\":\"%s\"", ph);
	while ((p = strstr(p, needle))) {
		end = strchr(p, '}');
		id = strstr(p, "\"id\":");
		assert_non_null(end);
		if (id && id < end && n < max)
			ids[n++] = strtol(id + 5, NULL, 10);
		p = end;
	}
	return n;
}

/* Each send flow has one receive flow with the same id; returns the pairs. */
static size_t assert_flows_paired(const char *doc)
{
	long s[16], f[16];
	size_t ns = flow_ids(doc, "s", s, 16), nf = flow_ids(doc, "f", f, 16), i, j, hits;

	assert_int_equal(ns, nf);
	for (i = 0; i < ns; i++) {
		for (hits = 0, j = 0; j < nf; j++)
			hits += s[i] == f[j];
		assert_int_equal(hits, 1);
		for (hits = 0, j = 0; j < ns; j++)
			hits += s[i] == s[j];
		assert_int_equal(hits, 1);
	}
	/* a flow's end binds to the slice that encloses it */
	assert_int_equal(count(doc, "\"ph\":\"f\""), count(doc, "\"bp\":\"e\""));
	return ns;
}

static void test_perfetto_pipe_messages_become_paired_flows(void **state)
{
	struct fixture *fx = *state;
	char *out;

	add_pipe_exchange(fx);
	out = render(&fx->t, &fx->fs);
	assert_true(json_is_valid(out));
	assert_int_equal(assert_flows_paired(out), 2);
	/* each end sits at the start of a short slice on its own thread */
	assert_non_null(strstr(out, "{\"name\":\"send pipe inode 777 (dev 0:13), 5 bytes\",\"cat\":\"ipc\","
				    "\"ph\":\"X\",\"ts\":4.000,\"pid\":100,\"tid\":100,\"dur\":1.000"));
	assert_non_null(strstr(out, "{\"name\":\"message\",\"cat\":\"ipc\",\"ph\":\"s\",\"ts\":4.000,"
				    "\"pid\":100,\"tid\":100,\"id\":1}"));
	assert_non_null(strstr(out, "{\"name\":\"message\",\"cat\":\"ipc\",\"ph\":\"f\",\"ts\":6.000,"
				    "\"pid\":200,\"tid\":200,\"id\":1,\"bp\":\"e\"}"));
	assert_non_null(strstr(out, "{\"name\":\"message\",\"cat\":\"ipc\",\"ph\":\"f\",\"ts\":7.000,"
				    "\"pid\":200,\"tid\":200,\"id\":2,\"bp\":\"e\"}"));
	assert_non_null(strstr(out, "\"displayTimeUnit\":\"ns\""));
	free(out);
}

static void test_perfetto_lock_wait_and_hold_are_slices_in_microseconds(void **state)
{
	struct fixture *fx = *state;
	char *out;

	add_pipe_exchange(fx);
	out = render(&fx->t, &fx->fs);
	assert_non_null(strstr(out, "{\"name\":\"wait mutex in /dev/shm/bank +0x40\",\"cat\":\"lock\","
				    "\"ph\":\"X\",\"ts\":1.000,\"pid\":100,\"tid\":100,\"dur\":2.000,"));
	assert_non_null(strstr(out, "{\"name\":\"hold mutex in /dev/shm/bank +0x40\",\"cat\":\"lock\","
				    "\"ph\":\"X\",\"ts\":3.000,\"pid\":100,\"tid\":100,\"dur\":6.000,"));
	assert_non_null(strstr(out, "\"released\":true"));
	assert_int_equal(count(out, "\"ph\":\"X\""), 2 + 4);
	free(out);
}

/* A lock call without a return probe (EVF_ACQUIRE_DEFERRED): a hold from the call, no wait. */
static void test_perfetto_deferred_acquisition_holds_from_the_call(void **state)
{
	struct fixture *fx = *state;
	char *out;

	add_lock(fx, 1000, WRITER, EV_LOCK_ATTEMPT, 0x40);
	fx->ev[fx->t.nr_events - 1].flags = EVF_ACQUIRE_DEFERRED;
	add_chan(fx, 4000, WRITER, EV_CHAN_SEND, 5, "writer");
	add_lock(fx, 9000, WRITER, EV_LOCK_RELEASE, 0x40);
	out = render(&fx->t, &fx->fs);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "{\"name\":\"hold mutex in /dev/shm/bank +0x40\",\"cat\":\"lock\","
				    "\"ph\":\"X\",\"ts\":1.000,\"pid\":100,\"tid\":100,\"dur\":8.000,"));
	assert_null(strstr(out, "\"name\":\"wait mutex"));
	assert_non_null(strstr(out, "\"released\":true"));
	free(out);
}

static void test_perfetto_names_tracks_and_escapes_hostile_comm(void **state)
{
	struct fixture *fx = *state;
	char *out;

	add_pipe_exchange(fx);
	out = render(&fx->t, &fx->fs);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":100,\"tid\":100,"
				    "\"args\":{\"name\":\"writer\"}}"));
	assert_non_null(strstr(out, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":100,\"tid\":100,"
				    "\"args\":{\"name\":\"writer\"}}"));
	assert_non_null(strstr(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":200,\"tid\":200,"
				    "\"args\":{\"name\":\"\\u001b]0;pwn\\u0007\\\"rd\"}}"));
	assert_non_null(strstr(out, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":200,\"tid\":200,"
				    "\"args\":{\"name\":\"\\u001b]0;pwn\\u0007\\\"rd\"}}"));
	assert_false(has_raw_control(out, true));
	assert_non_null(strstr(out, "\"name\":\"process exit\",\"cat\":\"process\",\"ph\":\"i\",\"ts\":10.000,"));
	free(out);
}

static void test_perfetto_finding_is_global_marker_at_latest_edge(void **state)
{
	struct fixture *fx = *state;
	const char *p;
	char *out;

	add_pipe_exchange(fx);
	add_lock_order_finding(fx);
	out = render(&fx->t, &fx->fs);
	assert_true(json_is_valid(out));
	p = strstr(out, "{\"name\":\"lock-order-inversion: lock-order inversion between 2 locks: "
			"mutex in /dev/shm/bank +0x0 => mutex in /dev/shm/bank +0x40 => "
			"mutex in /dev/shm/bank +0x0\",\"cat\":\"finding\",\"ph\":\"i\",\"ts\":8.000,"
			"\"pid\":100,\"tid\":101,\"s\":\"g\",\"args\":{\"kind\":\"lock-order-inversion\",");
	assert_non_null(p);
	assert_non_null(strstr(p, "\"cycle\":[{\"lock\":\"mutex in /dev/shm/bank +0x40\","
				  "\"acquired_while_holding\":\"mutex in /dev/shm/bank +0x0\",\"pid\":100,"));
	free(out);
}

static void test_perfetto_empty_trace_is_valid_json(void **state)
{
	struct trace t = { 0 };
	struct findings fs = { 0 };
	char *out;

	(void)state;
	out = render(&t, &fs);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "{\"traceEvents\":["));
	assert_int_equal(count(out, "\"ph\":"), 1);	/* the incomplete-trace marker */
	free(out);
}

static void test_perfetto_truncated_trace_closes_open_slices_at_its_end(void **state)
{
	struct fixture *fx = *state;
	char *out;

	/* cut off while holding the lock and before the message was read */
	add_lock(fx, 1000, WRITER, EV_LOCK_ATTEMPT, 0x40);
	add_lock(fx, 3000, WRITER, EV_LOCK_ACQUIRED, 0x40);
	add_chan(fx, 4000, WRITER, EV_CHAN_SEND, 5, "writer");
	add_lock(fx, 5000, WRITER + 1, EV_LOCK_ATTEMPT, 0x40);
	fx->t.has_footer = false;
	fx->t.truncated = true;
	out = render(&fx->t, &fx->fs);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "\"ph\":\"X\",\"ts\":3.000,\"pid\":100,\"tid\":100,\"dur\":2.000,"));
	assert_non_null(strstr(out, "\"released\":false,\"open_at_trace_end\":true"));
	assert_non_null(strstr(out, "\"acquired\":false,\"open_at_trace_end\":true"));
	assert_non_null(strstr(out, "\"name\":\"INCOMPLETE trace: results may be missing events\""));
	assert_int_equal(assert_flows_paired(out), 0);
	free(out);
}

static void test_perfetto_stream_reads_split_and_join_messages(void **state)
{
	struct fixture *fx = *state;
	char *out;

	/* 10 bytes read as 4 + 6, then 3 + 3 bytes read at once */
	add_chan(fx, 1000, WRITER, EV_CHAN_SEND, 10, "writer");
	add_chan(fx, 2000, READER, EV_CHAN_RECV, 4, "reader");
	add_chan(fx, 3000, READER, EV_CHAN_RECV, 6, "reader");
	add_chan(fx, 4000, WRITER, EV_CHAN_SEND, 3, "writer");
	add_chan(fx, 5000, WRITER, EV_CHAN_SEND, 3, "writer");
	add_chan(fx, 6000, READER, EV_CHAN_RECV, 6, "reader");
	out = render(&fx->t, &fx->fs);
	assert_true(json_is_valid(out));
	assert_int_equal(assert_flows_paired(out), 4);
	assert_int_equal(count(out, "\"ph\":\"s\",\"ts\":1.000,"), 2);
	assert_int_equal(count(out, "\"ph\":\"f\",\"ts\":6.000,"), 2);
	/* a send slice ends where the thread's next event starts */
	assert_non_null(strstr(out, "\"ph\":\"X\",\"ts\":4.000,\"pid\":100,\"tid\":100,\"dur\":1.000,"));
	free(out);
}

static void test_perfetto_hand_over_hand_locks_stay_nested(void **state)
{
	struct fixture *fx = *state;
	char *out;

	/* A, B, unlock A, unlock B: B's hold is cut and continued */
	add_lock(fx, 1000, WRITER, EV_LOCK_ACQUIRED, 0x0);
	add_lock(fx, 2000, WRITER, EV_LOCK_ACQUIRED, 0x40);
	add_lock(fx, 3000, WRITER, EV_LOCK_RELEASE, 0x0);
	add_lock(fx, 5000, WRITER, EV_LOCK_RELEASE, 0x40);
	out = render(&fx->t, &fx->fs);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "\"name\":\"hold mutex in /dev/shm/bank +0x0\",\"cat\":\"lock\","
				    "\"ph\":\"X\",\"ts\":1.000,\"pid\":100,\"tid\":100,\"dur\":2.000,"));
	assert_non_null(strstr(out, "\"name\":\"hold mutex in /dev/shm/bank +0x40\",\"cat\":\"lock\","
				    "\"ph\":\"X\",\"ts\":2.000,\"pid\":100,\"tid\":100,\"dur\":1.000,"));
	assert_non_null(strstr(out, "\"name\":\"hold mutex in /dev/shm/bank +0x40\",\"cat\":\"lock\","
				    "\"ph\":\"X\",\"ts\":3.000,\"pid\":100,\"tid\":100,\"dur\":2.000,"));
	assert_int_equal(count(out, "\"continued\":true"), 1);
	free(out);
}

static void test_report_format_parse_accepts_sarif_and_perfetto(void **state)
{
	enum report_format f;

	(void)state;
	assert_int_equal(report_format__parse("perfetto", &f), 0);
	assert_int_equal(f, REPORT_PERFETTO);
	assert_int_equal(report_format__parse("sarif", &f), 0);
	assert_int_equal(f, REPORT_SARIF);
	assert_int_equal(report_format__parse("Perfetto", &f), -EINVAL);
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_perfetto_pipe_messages_become_paired_flows),
		FX_TEST(test_perfetto_lock_wait_and_hold_are_slices_in_microseconds),
		FX_TEST(test_perfetto_deferred_acquisition_holds_from_the_call),
		FX_TEST(test_perfetto_names_tracks_and_escapes_hostile_comm),
		FX_TEST(test_perfetto_finding_is_global_marker_at_latest_edge),
		cmocka_unit_test(test_perfetto_empty_trace_is_valid_json),
		FX_TEST(test_perfetto_truncated_trace_closes_open_slices_at_its_end),
		FX_TEST(test_perfetto_stream_reads_split_and_join_messages),
		FX_TEST(test_perfetto_hand_over_hand_locks_stay_nested),
		cmocka_unit_test(test_report_format_parse_accepts_sarif_and_perfetto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
