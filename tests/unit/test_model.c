// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reports/model.c: the report model built once from findings: one bug per
 * kind and pair of code sites (TSan's deduplication) with its occurrences
 * and objects, the SUMMARY frame in the target's own code past the C
 * runtime, suppressions applied and counted. Stacks are this test's own
 * functions (symbolized through /proc/self/maps) and a fake libc.
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
#include <unistd.h>

#include "analyzer/findings.h"
#include "analyzer/trace.h"
#include "analyzer/syncvis.h"
#include "reports/model.h"
#include "reports/report.h"
#include "reports/suppress.h"
#include "self_maps.h"

static __attribute__((noinline)) void *capture_return_address(void)
{
	void *ra = __builtin_return_address(0);

	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

__attribute__((noinline)) void *model_probe_writer_a(void)
{
	void *ra = capture_return_address();

	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

__attribute__((noinline)) void *model_probe_writer_b(void)
{
	void *ra = capture_return_address();

	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

#define FAKE_LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define LIBC_BASE 0x20000000ull
#define STACK_A 1		/* own code */
#define STACK_B 2		/* own code, another function */
#define STACK_LIBC_A 3		/* #0 in libc, then writer_a */
#define STACK_ONLY_LIBC 4	/* libc only */
#define MAX_FINDINGS 32

struct fixture {
	struct trace t;
	struct trace_process proc;
	struct ipcrace_stack stacks[4];
	struct finding f[MAX_FINDINGS];
	struct findings fs;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct trace_mapping *m;
	__u64 a, b;

	assert_non_null(fx);
	fx->t.nr_mappings = read_self_maps(&fx->t.mappings, getpid(), 1);
	fx->t.mappings = realloc(fx->t.mappings, (fx->t.nr_mappings + 1) * sizeof(*m));
	assert_non_null(fx->t.mappings);
	m = &fx->t.mappings[fx->t.nr_mappings++];
	*m = (struct trace_mapping){ .ts = 1, .start = LIBC_BASE, .end = LIBC_BASE + 0x1000,
				     .pid = getpid(), .prot = PROT_EXEC };
	strcpy(m->path, FAKE_LIBC);
	fx->proc = (struct trace_process){ .pid = getpid(), .exit_status = -1 };
	strcpy(fx->proc.comm, "model");
	fx->t.processes = &fx->proc;
	fx->t.nr_processes = 1;
	a = (__u64)(uintptr_t)model_probe_writer_a();
	b = (__u64)(uintptr_t)model_probe_writer_b();
	fx->stacks[0] = (struct ipcrace_stack){ .id = STACK_A, .nr = 1, .ips = { a } };
	fx->stacks[1] = (struct ipcrace_stack){ .id = STACK_B, .nr = 1, .ips = { b } };
	fx->stacks[2] = (struct ipcrace_stack){ .id = STACK_LIBC_A, .nr = 2, .flags = STACKF_EXACT_IP,
		.ips = { LIBC_BASE + 0x40, a } };
	fx->stacks[3] = (struct ipcrace_stack){ .id = STACK_ONLY_LIBC, .nr = 1,
		.flags = STACKF_EXACT_IP, .ips = { LIBC_BASE + 0x80 } };
	fx->t.stacks = fx->stacks;
	fx->t.nr_stacks = 4;
	fx->t.has_footer = true;
	fx->fs.items = fx->f;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->t.mappings);
	free(fx);
	return 0;
}

static struct finding_access access_at(__u64 ts, __u32 tid, __u64 stack_id)
{
	struct finding_access a = { .ts = ts, .stack_id = stack_id, .pid = getpid(), .tid = tid,
				    .flags = EVF_WRITE };

	strcpy(a.comm, "model");
	return a;
}

/* A write/write race on word off of one shared object, between two stacks. */
static void add_race(struct fixture *fx, __u64 off, __u64 stack1, __u64 stack2)
{
	struct finding *f;

	assert_true(fx->fs.nr < MAX_FINDINGS);
	f = &fx->f[fx->fs.nr++];
	memset(f, 0, sizeof(*f));
	f->kind = FINDING_DATA_RACE;
	f->object = (struct finding_object){
		.key = { .a = makedev(0, 26), .b = 4242, .c = off, .space = KEY_FILE },
		.addr = 0x7f0000000000ull + off, .size = 8, .pid = getpid(), .obj = OBJ_MEMORY,
	};
	f->accesses[0] = access_at(100 + fx->fs.nr, 1, stack1);
	f->accesses[1] = access_at(50 + fx->fs.nr, 2, stack2);
	f->nr_accesses = 2;
}

static void test_runtime_modules_are_libc_loader_and_friends(void **state)
{
	(void)state;
	assert_true(report__module_is_runtime("/lib/x86_64-linux-gnu/libc.so.6"));
	assert_true(report__module_is_runtime("/lib64/ld-linux-x86-64.so.2"));
	assert_true(report__module_is_runtime("/lib/x86_64-linux-gnu/libpthread.so.0"));
	assert_true(report__module_is_runtime("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"));
	assert_true(report__module_is_runtime("[vdso]"));
	assert_false(report__module_is_runtime("/usr/bin/postgres"));
	assert_false(report__module_is_runtime("/usr/lib/libcrypto.so.3"));
	assert_false(report__module_is_runtime("/opt/app/libcache.so"));
	assert_false(report__module_is_runtime(NULL));
}

/* 16 words, same two code sites (either order): one bug saying 16. */
static void test_race_over_words_at_same_sites_is_one_bug(void **state)
{
	struct fixture *fx = *state;
	struct report_model *m;
	size_t i;

	for (i = 0; i < 16; i++)
		add_race(fx, 8 * i, i % 2 ? STACK_A : STACK_B, i % 2 ? STACK_B : STACK_A);
	add_race(fx, 0, STACK_A, STACK_B);	/* word 0 again */
	add_race(fx, 0x100, STACK_A, STACK_A);	/* another pair of sites */
	m = report_model__new(&fx->t, &fx->fs, NULL);
	assert_non_null(m);
	assert_int_equal(m->nr_findings, 18);
	assert_int_equal(m->nr_bugs, 2);
	assert_int_equal(m->bugs[0].occurrences, 17);
	assert_int_equal(m->bugs[0].nr_objects, 16);
	assert_int_equal(m->bugs[0].objects[3].key.c, 24);
	assert_ptr_equal(m->bugs[0].f, &fx->f[0]);
	assert_int_equal(m->bugs[1].occurrences, 1);
	assert_int_equal(m->bugs[1].nr_objects, 1);
	report_model__free(m);
}

/* SUMMARY past libc's frame, to the caller in the program's own code. */
static void test_summary_frame_skips_the_c_runtime(void **state)
{
	struct fixture *fx = *state;
	struct report_model *m;

	add_race(fx, 0, STACK_LIBC_A, STACK_B);
	add_race(fx, 8, STACK_ONLY_LIBC, STACK_ONLY_LIBC);
	m = report_model__new(&fx->t, &fx->fs, NULL);
	assert_non_null(m);
	assert_int_equal(m->nr_bugs, 2);
	assert_true(m->bugs[0].has_summary);
	assert_non_null(m->bugs[0].summary.function);
	assert_string_equal(m->bugs[0].summary.function, "model_probe_writer_a");
	assert_string_equal(m->bugs[0].suppression, "race:model_probe_writer_a");
	/* only the runtime: its top frame, by module and offset */
	assert_true(m->bugs[1].has_summary);
	assert_string_equal(m->bugs[1].summary.module, FAKE_LIBC);
	assert_int_equal(m->bugs[1].summary.offset, 0x80);
	assert_string_equal(m->bugs[1].suppression, "race:libc.so.6");
	report_model__free(m);
}

static struct suppressions *rules(const char *text)
{
	struct suppressions *s = suppressions__new();
	char err[256];

	assert_non_null(s);
	assert_int_equal(suppressions__load_buf(s, "t.supp", text, err, sizeof(err)), 0);
	return s;
}

static void test_suppressed_findings_leave_no_bug_and_count_per_rule(void **state)
{
	struct fixture *fx = *state;
	struct suppressions *s;
	struct report_model *m;

	add_race(fx, 0, STACK_A, STACK_B);
	add_race(fx, 8, STACK_A, STACK_B);
	add_race(fx, 0x100, STACK_LIBC_A, STACK_LIBC_A);
	add_race(fx, 0x200, STACK_B, STACK_B);
	/* the libc race is in writer_a too: both rules could match it, the first wins */
	s = rules("called_from_lib:libc.so\nrace:^model_probe_writer_a$\ndeadlock:model_probe\n");
	m = report_model__new(&fx->t, &fx->fs, s);
	assert_non_null(m);
	assert_int_equal(m->nr_suppressed, 3);
	assert_int_equal(m->nr_bugs, 1);
	assert_int_equal(m->bugs[0].f->object.key.c, 0x200);
	assert_int_equal(suppressions__rule(s, 0)->hits, 1);
	assert_int_equal(suppressions__rule(s, 1)->hits, 2);
	assert_int_equal(suppressions__rule(s, 2)->hits, 0);
	report_model__free(m);
	suppressions__free(s);
}

static void test_object_rule_matches_the_object_name(void **state)
{
	struct fixture *fx = *state;
	struct suppressions *s;
	struct report_model *m;

	add_race(fx, 0, STACK_A, STACK_B);
	s = rules("object:inode 4242\n");
	m = report_model__new(&fx->t, &fx->fs, s);
	assert_non_null(m);
	assert_int_equal(m->nr_suppressed, 1);
	assert_int_equal(m->nr_bugs, 0);
	report_model__free(m);
	suppressions__free(s);

	s = rules("object:inode 4243\n");
	m = report_model__new(&fx->t, &fx->fs, s);
	assert_non_null(m);
	assert_int_equal(m->nr_bugs, 1);
	report_model__free(m);
	suppressions__free(s);
}

/* What a report over fs says, in format fmt, and how many reports count. */
static char *report_text(struct fixture *fx, enum report_format fmt, size_t *nr_reported)
{
	struct report_opts ro = { .format = fmt };
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(report__write_counted(out, &fx->t, &fx->fs, &ro, nr_reported), 0);
	fclose(out);
	return buf;
}

/*
 * A race in a process whose synchronization ipcrace cannot all see is a
 * candidate: listed apart (one line of text, JSON "candidates", a SARIF
 * note), never a report that counts; confirmed, it is a report again.
 */
static void test_candidates_are_listed_apart_and_not_counted(void **state)
{
	struct fixture *fx = *state;
	struct report_model *m;
	size_t nr_reported = 99;
	char *text;

	add_race(fx, 0, STACK_A, STACK_B);
	fx->f[0].status = FINDING_CANDIDATE;
	fx->f[0].unseen = (struct finding_unseen){ .why = SYNCVIS_UNPROBED_CODE, .pid = getpid(),
						   .addr = LIBC_BASE + 0x40, .count = 3, .ts = 2 };
	m = report_model__new(&fx->t, &fx->fs, NULL);
	assert_non_null(m);
	assert_int_equal(m->nr_bugs, 0);
	assert_int_equal(m->nr_candidates, 1);
	assert_int_equal(m->nr_findings, 0);
	report_model__free(m);

	text = report_text(fx, REPORT_TEXT, &nr_reported);
	assert_int_equal(nr_reported, 0);
	assert_non_null(strstr(text, "ipcrace: candidate data race, not confirmed (not counted): write in model_probe_writer_"));
	assert_non_null(strstr(text, "atomic instructions in code the access probes do not cover (3 in libc.so.6"));
	assert_null(strstr(text, "WARNING: ipcrace: data race"));
	assert_non_null(strstr(text, "ipcrace: no findings"));
	free(text);

	text = report_text(fx, REPORT_JSON, &nr_reported);
	assert_int_equal(nr_reported, 0);
	assert_non_null(strstr(text, "\"findings\": []"));
	assert_non_null(strstr(text, "\"candidates\": [\n    {\n      \"kind\": \"data-race\""));
	assert_non_null(strstr(text, "\"status\": \"candidate\""));
	assert_non_null(strstr(text, "\"why\": \"unprobed-code\""));
	free(text);

	text = report_text(fx, REPORT_SARIF, &nr_reported);
	assert_non_null(strstr(text, "\"level\": \"note\""));
	free(text);

	fx->f[0].status = FINDING_CONFIRMED;
	text = report_text(fx, REPORT_TEXT, &nr_reported);
	assert_int_equal(nr_reported, 1);
	assert_non_null(strstr(text, "WARNING: ipcrace: data race"));
	assert_non_null(strstr(text, "confirmed: a conflicting access happened while the first was held"));
	free(text);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runtime_modules_are_libc_loader_and_friends),
		T(test_race_over_words_at_same_sites_is_one_bug),
		T(test_summary_frame_skips_the_c_runtime),
		T(test_suppressed_findings_leave_no_bug_and_count_per_rule),
		T(test_object_rule_matches_the_object_name),
		T(test_candidates_are_listed_apart_and_not_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
