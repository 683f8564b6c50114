/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * For the trace tests: a fresh temporary directory per test with one file
 * path in it (t.trace), as a cmocka fixture (tmp_trace_test). Include
 * after <cmocka.h>.
 */
#ifndef IPCRACE_TEST_TMP_TRACE_H
#define IPCRACE_TEST_TMP_TRACE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	char path[128];
};

static int tmp_trace_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/ipcrace-test-trace.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/t.trace", f->dir);
	*state = f;
	return 0;
}

static int tmp_trace_teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A test run with the fixture: its state is a struct fixture. */
#define tmp_trace_test(fn) cmocka_unit_test_setup_teardown(fn, tmp_trace_setup, tmp_trace_teardown)

#endif /* IPCRACE_TEST_TMP_TRACE_H */
