// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reports/sarif.c: SARIF 2.1.0 of findings whose stacks are this test's
 * own functions (symbolized through /proc/self/maps), so the locations
 * can be checked against known lines.
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
#include "reports/report.h"
#include "json_check.h"
#include "self_maps.h"

/* --- code to point at -------------------------------------------------------- */

static __attribute__((noinline)) void *capture_return_address(void)
{
	void *ra = __builtin_return_address(0);

	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

static int lock_site_line;
__attribute__((noinline)) void *sarif_probe_lock_site(void)
{
	void *ra;

	lock_site_line = __LINE__ + 1;
	ra = capture_return_address();
	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

static int other_site_line;
__attribute__((noinline)) void *sarif_probe_other_site(void)
{
	void *ra;

	other_site_line = __LINE__ + 1;
	ra = capture_return_address();
	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

/* --- fixture ------------------------------------------------------------------- */

#define FAKE_DEV makedev(0, 26)
#define BANK_INO 4242
#define EVIL_MODULE "/tmp/evil\x1b dir/lib\"x.so"
#define EVIL_BASE 0x10000000ull
#define STACK_LOCK 1
#define STACK_OTHER 2
#define STACK_EVIL 3

struct fixture {
	struct trace t;
	struct trace_process proc;
	struct ipcrace_stack stacks[3];
	struct finding f[3];
	struct findings fs;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct trace_mapping *m;

	assert_non_null(fx);
	fx->t.nr_mappings = read_self_maps(&fx->t.mappings, getpid(), 1);
	/* a library without symbols, at a path a hostile program chose */
	fx->t.mappings = realloc(fx->t.mappings, (fx->t.nr_mappings + 1) * sizeof(*m));
	assert_non_null(fx->t.mappings);
	m = &fx->t.mappings[fx->t.nr_mappings++];
	*m = (struct trace_mapping){ .ts = 1, .start = EVIL_BASE, .end = EVIL_BASE + 0x1000,
				     .pid = getpid(), .prot = PROT_EXEC };
	strcpy(m->path, EVIL_MODULE);
	fx->proc = (struct trace_process){ .pid = getpid(), .exit_status = -1 };
	strcpy(fx->proc.comm, "sarif");
	fx->t.processes = &fx->proc;
	fx->t.nr_processes = 1;
	fx->stacks[0] = (struct ipcrace_stack){ .id = STACK_LOCK, .nr = 1,
		.ips = { (__u64)(uintptr_t)sarif_probe_lock_site() } };
	fx->stacks[1] = (struct ipcrace_stack){ .id = STACK_OTHER, .nr = 1,
		.ips = { (__u64)(uintptr_t)sarif_probe_other_site() } };
	fx->stacks[2] = (struct ipcrace_stack){ .id = STACK_EVIL, .nr = 1, .flags = STACKF_EXACT_IP,
		.ips = { EVIL_BASE + 0x123 } };
	fx->t.stacks = fx->stacks;
	fx->t.nr_stacks = 3;
	fx->t.has_footer = true;
	fx->fs.items = fx->f;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	size_t i;

	for (i = 0; i < fx->fs.nr; i++)
		free(fx->f[i].cycle);
	free(fx->t.mappings);
	free(fx);
	return 0;
}

static struct finding_object mutex_at(__u64 off)
{
	return (struct finding_object){
		.key = { .a = FAKE_DEV, .b = BANK_INO, .c = off, .space = KEY_FILE },
		.pid = getpid(), .obj = OBJ_MUTEX,
	};
}

static struct finding_access access_at(__u64 ts, __u32 tid, __u64 stack_id, __u32 flags)
{
	struct finding_access a = { .ts = ts, .stack_id = stack_id, .pid = getpid(), .tid = tid,
				    .flags = flags };

	strcpy(a.comm, "sarif");
	return a;
}

/* M0 => M40 requested at the lock site, M40 => M0 at the other site */
static void add_lock_order(struct fixture *fx)
{
	struct finding_edge *e = calloc(2, sizeof(*e));
	struct finding *f = &fx->f[fx->fs.nr++];

	assert_non_null(e);
	e[0].held = mutex_at(0);
	e[0].lock = mutex_at(0x40);
	e[0].who = access_at(100, 1, STACK_LOCK, 0);
	e[0].held_stack_id = STACK_OTHER;
	e[1].held = mutex_at(0x40);
	e[1].lock = mutex_at(0);
	e[1].who = access_at(200, 2, STACK_OTHER, 0);
	e[1].held_stack_id = STACK_LOCK;
	*f = (struct finding){ .kind = FINDING_LOCK_ORDER_INVERSION, .cycle = e, .nr_cycle = 2 };
}

static void add_double_lock(struct fixture *fx, __u64 stack_id)
{
	struct finding *f = &fx->f[fx->fs.nr++];

	*f = (struct finding){ .kind = FINDING_DOUBLE_LOCK, .object = mutex_at(0x40),
			       .nr_accesses = 1 };
	f->accesses[0] = access_at(300, 1, stack_id, 0);
}

static void add_race(struct fixture *fx, __u64 first_stack, __u64 second_stack)
{
	struct finding *f = &fx->f[fx->fs.nr++];

	*f = (struct finding){ .kind = FINDING_DATA_RACE, .object = mutex_at(0x80), .nr_accesses = 2 };
	f->object.obj = OBJ_MEMORY;
	f->accesses[0] = access_at(400, 1, first_stack, EVF_WRITE);
	f->accesses[1] = access_at(500, 2, second_stack, EVF_WRITE);
}

static char *render(const struct fixture *fx)
{
	struct report_opts opts = { .format = REPORT_SARIF };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report__write(f, &fx->t, &fx->fs, &opts), 0);
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

/* The text of the first "key": "..." value after p, into buf. */
static const char *string_after(const char *p, const char *key, char *buf, size_t len)
{
	char needle[64];
	const char *v, *end;

	snprintf(needle, sizeof(needle), "\"%s\": \"", key);
	v = strstr(p, needle);
	assert_non_null(v);
	v += strlen(needle);
	end = strchr(v, '"');
	assert_non_null(end);
	assert_true((size_t)(end - v) < len);
	memcpy(buf, v, end - v);
	buf[end - v] = '\0';
	return end;
}

/* --- tests ------------------------------------------------------------------------ */

static void test_sarif_has_version_schema_and_a_rule_per_kind(void **state)
{
	static const char *const kinds[] = {
		"data-race", "lock-order-inversion", "double-lock", "unlock-not-held",
		"lock-held-at-exit",
	};
	struct fixture *fx = *state;
	char *out, want[64];
	const char *rules;
	size_t i;

	out = render(fx);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "\"version\": \"2.1.0\""));
	assert_non_null(strstr(out, "\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\""));
	assert_non_null(strstr(out, "\"name\": \"ipcrace\""));
	assert_non_null(strstr(out, "\"results\": []"));
	/* rule i is kind i: results point at it by ruleIndex */
	rules = strstr(out, "\"rules\": [");
	assert_non_null(rules);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(want, sizeof(want), "\"id\": \"%s\"", kinds[i]);
		rules = strstr(rules, want);
		if (!rules)
			fail_msg("rule %zu is not %s", i, kinds[i]);
	}
	assert_int_equal(count(out, "\"shortDescription\": {"), 5);
	free(out);
}

static void test_sarif_one_result_per_finding_with_rule_and_level(void **state)
{
	struct fixture *fx = *state;
	const char *lo, *dl;
	char *out;

	add_lock_order(fx);
	add_double_lock(fx, STACK_LOCK);
	out = render(fx);
	assert_true(json_is_valid(out));
	assert_int_equal(count(out, "\"ruleId\": "), 2);
	lo = strstr(out, "\"ruleId\": \"lock-order-inversion\",\n"
			 "          \"ruleIndex\": 1,\n          \"level\": \"error\"");
	dl = strstr(out, "\"ruleId\": \"double-lock\",\n"
			 "          \"ruleIndex\": 2,\n          \"level\": \"warning\"");
	assert_non_null(lo);
	assert_non_null(dl);
	assert_true(lo < dl);
	assert_non_null(strstr(lo, "\"text\": \"lock-order inversion between 2 locks: "));
	assert_non_null(strstr(dl, "\"text\": \"double lock of mutex in file dev 0:26 inode 4242 +0x40"));
	free(out);
}

static void test_sarif_location_is_first_symbolized_frame_with_line(void **state)
{
	struct fixture *fx = *state;
	char *out, uri[1024], want[64];
	const char *p;

	add_lock_order(fx);
	out = render(fx);
	p = strstr(out, "\"locations\": [");
	assert_non_null(p);
	string_after(p, "uri", uri, sizeof(uri));
	if (strncmp(uri, "file:///", 8) || !strstr(uri, "/test_sarif.c"))
		fail_msg("uri %s", uri);
	snprintf(want, sizeof(want), "\"startLine\": %d", lock_site_line);
	assert_non_null(strstr(p, want));
	assert_true(strstr(p, want) < strstr(p, "\"relatedLocations\""));
	assert_non_null(strstr(p, "\"name\": \"sarif_probe_lock_site\""));
	/* the other edge and where each held lock was taken */
	p = strstr(p, "\"relatedLocations\": [");
	assert_non_null(p);
	snprintf(want, sizeof(want), "\"startLine\": %d", other_site_line);
	assert_non_null(strstr(p, want));
	assert_non_null(strstr(p, "\"text\": \"mutex in file dev 0:26 inode 4242 +0x40 requested by "
				  "thread T1 (pid "));
	assert_non_null(strstr(p, "\"codeFlows\": ["));
	assert_int_equal(count(p, "\"threadFlows\": ["), 1);
	free(out);
}

/*
 * The same pair of code locations in either order is one bug: one result
 * standing for both occurrences; another pair is another result, with
 * another fingerprint.
 */
static void test_sarif_swapped_accesses_are_one_result(void **state)
{
	struct fixture *fx = *state;
	char a[64], b[64];
	char *out;

	add_race(fx, STACK_LOCK, STACK_OTHER);
	add_race(fx, STACK_OTHER, STACK_LOCK);
	add_race(fx, STACK_LOCK, STACK_LOCK);
	out = render(fx);
	assert_true(json_is_valid(out));
	assert_int_equal(count(out, "\"ruleId\": \"data-race\""), 2);
	assert_non_null(strstr(out, "\"occurrences\": 2"));
	string_after(string_after(out, "ipcraceFingerprint/v1", a, sizeof(a)),
		     "ipcraceFingerprint/v1", b, sizeof(b));
	assert_int_equal(strlen(a), 16);
	assert_string_not_equal(a, b);
	free(out);
}

static void test_sarif_percent_encodes_hostile_module_path(void **state)
{
	struct fixture *fx = *state;
	char *out;

	add_double_lock(fx, STACK_EVIL);
	out = render(fx);
	assert_true(json_is_valid(out));
	assert_false(has_raw_control(out, true));
	assert_non_null(strstr(out, "\"uri\": \"file:///tmp/evil%1B%20dir/lib%22x.so\""));
	assert_non_null(strstr(out, "\"relativeAddress\": 291"));
	assert_null(strstr(out, "\"startLine\""));
	free(out);
}

static void test_sarif_incomplete_trace_warns_in_invocation(void **state)
{
	struct fixture *fx = *state;
	char *out;

	fx->t.has_footer = false;
	fx->t.truncated = true;
	out = render(fx);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "\"text\": \"INCOMPLETE trace: no footer: the recording was cut "
				    "off, later events are missing; the file ends inside a record (0 bytes "
				    "after the last whole one)\""));
	free(out);
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_sarif_has_version_schema_and_a_rule_per_kind),
		FX_TEST(test_sarif_one_result_per_finding_with_rule_and_level),
		FX_TEST(test_sarif_location_is_first_symbolized_frame_with_line),
		FX_TEST(test_sarif_swapped_accesses_are_one_result),
		FX_TEST(test_sarif_percent_encodes_hostile_module_path),
		FX_TEST(test_sarif_incomplete_trace_warns_in_invocation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
