// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The globals a program's threads may share from its first instruction,
 * from its own symbol table: its .data and .bss objects, not the C
 * runtime's (objects copied from libc, crt bookkeeping) nor read-only
 * data. Checked on this test's own executable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "tracer/exe_globals.h"

#define MAX_GLOBALS 4096

/* the linker's: the load base of a PIE (its first segment is at 0) */
extern char __executable_start;

long probe_bss_counter;
int probe_data_flag = 5;
const int probe_read_only = 3;
static long probe_static_total;

struct listing {
	struct exe_global g[MAX_GLOBALS];
	int n;
	uintptr_t base;
};

static struct listing *list_self(void)
{
	static struct listing l;
	bool relative = false;

	l.n = exe_globals__list("/proc/self/exe", l.g, MAX_GLOBALS, &relative);
	assert_true(l.n > 0);
	l.base = relative ? (uintptr_t)&__executable_start : 0;
	return &l;
}

static bool listed(const struct listing *l, const void *addr)
{
	for (int i = 0; i < l->n; i++)
		if (l->base + l->g[i].vaddr == (uintptr_t)addr)
			return true;
	return false;
}

static void test_lists_own_data_and_bss_objects(void **state)
{
	struct listing *l = list_self();

	(void)state;
	probe_static_total++;	/* used: stays in the symbol table */
	assert_true(listed(l, &probe_bss_counter));
	assert_true(listed(l, &probe_data_flag));
	assert_true(listed(l, &probe_static_total));
}

static void test_leaves_out_read_only_and_copied_libc_objects(void **state)
{
	struct listing *l = list_self();

	(void)state;
	assert_false(listed(l, &probe_read_only));
	/* a copy relocation puts libc's stderr in our .bss: not ours to watch */
	assert_false(listed(l, &stderr));
	assert_false(listed(l, &stdout));
}

static void test_runtime_names_are_recognised(void **state)
{
	(void)state;
	assert_true(exe_globals__runtime_name("completed.0"));
	assert_true(exe_globals__runtime_name("__dso_handle"));
	assert_true(exe_globals__runtime_name("__TMC_END__"));
	assert_true(exe_globals__runtime_name("_IO_stdin_used"));
	assert_true(exe_globals__runtime_name("stderr@GLIBC_2.2.5"));
	assert_true(exe_globals__runtime_name("_ZSt4cout@GLIBCXX_3.4"));
	assert_true(exe_globals__runtime_name("environ"));
	assert_true(exe_globals__runtime_name("optarg"));
	assert_false(exe_globals__runtime_name("hits"));
	assert_false(exe_globals__runtime_name("counter.1"));	/* a function's static */
	assert_false(exe_globals__runtime_name("_ZN3app5countE"));	/* C++ app::count */
	assert_false(exe_globals__runtime_name("_total"));
}

static void test_unreadable_file_is_an_error(void **state)
{
	struct exe_global g[1];
	bool relative;

	(void)state;
	assert_true(exe_globals__list("/nonexistent/ipcrace", g, 1, &relative) < 0);
	assert_true(exe_globals__list("/proc/self/status", g, 1, &relative) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists_own_data_and_bss_objects),
		cmocka_unit_test(test_leaves_out_read_only_and_copied_libc_objects),
		cmocka_unit_test(test_runtime_names_are_recognised),
		cmocka_unit_test(test_unreadable_file_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
