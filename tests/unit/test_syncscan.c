// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * syncscan: which executable mappings make a process's synchronization
 * partly unseen. The file scanned is this test's own executable, which
 * holds an atomic (bump below): a program with atomics.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "tracer/syncscan.h"

static atomic_long counter;

/* a LOCK-prefixed instruction in this executable */
static __attribute__((noinline, used)) long bump(void)
{
	return atomic_fetch_add(&counter, 1);
}

static void self_mapping(struct trace_mapping *m, __u32 pid)
{
	struct stat st;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	n = readlink("/proc/self/exe", m->path, sizeof(m->path) - 1);
	assert_true(n > 0);
	m->path[n] = '\0';
	assert_int_equal(stat(m->path, &st), 0);
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->pid = pid;
	m->prot = PROT_READ | PROT_EXEC;
	m->start = 0x400000;
	m->end = 0x500000;
	m->ts = 7;
}

static void test_uncovered_program_with_atomics_is_unseen_once_per_process(void **state)
{
	struct syncscan *sc = syncscan__new();
	struct ipcrace_event ev;
	struct trace_mapping m;

	(void)state;
	assert_true(bump() >= 0);
	assert_non_null(sc);
	self_mapping(&m, 100);
	assert_true(syncscan__mapping(sc, &m, false, &ev));
	assert_int_equal(ev.type, EV_SYNC_UNSEEN);
	assert_int_equal(ev.pid, 100);
	assert_true(ev.arg0 >= 1);
	assert_int_equal(ev.arg1, UNSEEN_CODE_EXECUTABLE);
	assert_true(syncscan__pid_unseen(sc, 100));
	/* the same process again: told already */
	assert_false(syncscan__mapping(sc, &m, false, &ev));
	/* another process of the same file: its own event */
	m.pid = 101;
	assert_true(syncscan__mapping(sc, &m, false, &ev));
	assert_int_equal(ev.pid, 101);
	assert_int_equal(syncscan__nr_files(sc), 1);
	syncscan__free(sc);
}

/* Covered: the access probes were attached to the file for that process. */
static void test_covered_program_is_seen(void **state)
{
	struct syncscan *sc = syncscan__new();
	struct ipcrace_event ev;
	struct trace_mapping m;

	(void)state;
	self_mapping(&m, 200);
	assert_false(syncscan__mapping(sc, &m, true, &ev));
	assert_false(syncscan__pid_unseen(sc, 200));
	/*
	 * The same file in a process the probes did not get (over the run's
	 * limit): unseen there. Asked for is not attached.
	 */
	m.pid = 201;
	assert_true(syncscan__mapping(sc, &m, false, &ev));
	assert_true(syncscan__pid_unseen(sc, 201));
	assert_false(syncscan__pid_unseen(sc, 200));
	syncscan__free(sc);
}

static void test_data_mapping_and_runtime_do_not_count(void **state)
{
	struct syncscan *sc = syncscan__new();
	struct ipcrace_event ev;
	struct trace_mapping m;

	(void)state;
	self_mapping(&m, 300);
	m.prot = PROT_READ | PROT_WRITE;
	assert_false(syncscan__mapping(sc, &m, false, &ev));
	self_mapping(&m, 300);
	snprintf(m.path, sizeof(m.path), "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_false(syncscan__mapping(sc, &m, false, &ev));
	assert_false(syncscan__pid_unseen(sc, 300));
	syncscan__free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uncovered_program_with_atomics_is_unseen_once_per_process),
		cmocka_unit_test(test_covered_program_is_seen),
		cmocka_unit_test(test_data_mapping_and_runtime_do_not_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
