// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Which words the access probes saw shared: two threads, one writing
 * plainly; each once, as the 8-byte word the watcher names; atomics and
 * watchpoint hits never.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tracer/access_shared.h"
#include "tracer/candidates.h"
#include "tracer/private_snapshots.h"
#include "tracer/snapshots.h"

static struct ipcrace_event probe_access(__u32 pid, __u32 tid, __u64 addr, __u32 flags)
{
	struct ipcrace_event e;

	memset(&e, 0, sizeof(e));
	e.type = EV_MEM_ACCESS;
	e.pid = pid;
	e.tid = tid;
	e.addr = addr;
	e.arg1 = 4;
	e.key.space = KEY_PRIVATE;
	e.key.a = pid;
	e.key.b = addr;
	e.flags = EVF_PROBE | flags;
	return e;
}

static bool note(struct access_shared *as, struct ipcrace_event e, struct ipcrace_key *k)
{
	return access_shared__note(as, &e, k);
}

static void test_word_written_by_two_threads_is_reported_once(void **state)
{
	struct access_shared *as = access_shared__new();
	struct ipcrace_key k;

	(void)state;
	assert_false(note(as, probe_access(10, 10, 0x1004, EVF_WRITE), &k));
	assert_false(note(as, probe_access(10, 10, 0x1004, EVF_READ), &k));
	assert_true(note(as, probe_access(10, 11, 0x1004, EVF_READ), &k));
	assert_int_equal(k.space, KEY_PRIVATE);
	assert_int_equal(k.a, 10);
	assert_int_equal(k.b, 0x1000);
	assert_false(note(as, probe_access(10, 12, 0x1004, EVF_WRITE), &k));
	access_shared__free(as);
}

static void test_reads_alone_and_one_thread_alone_are_not_shared(void **state)
{
	struct access_shared *as = access_shared__new();
	struct ipcrace_key k;

	(void)state;
	assert_false(note(as, probe_access(10, 10, 0x2000, EVF_READ), &k));
	assert_false(note(as, probe_access(10, 11, 0x2000, EVF_READ), &k));
	for (int i = 0; i < 10; i++)
		assert_false(note(as, probe_access(10, 10, 0x3000, EVF_WRITE), &k));
	access_shared__free(as);
}

static void test_atomic_words_and_watchpoint_hits_are_never_promoted(void **state)
{
	struct access_shared *as = access_shared__new();
	struct ipcrace_event hit = probe_access(10, 11, 0x5000, EVF_WRITE);
	struct ipcrace_key k;

	(void)state;
	assert_false(note(as, probe_access(10, 10, 0x4000, EVF_WRITE | EVF_ATOMIC), &k));
	assert_false(note(as, probe_access(10, 11, 0x4000, EVF_WRITE), &k));
	hit.flags &= ~EVF_PROBE;
	assert_false(note(as, probe_access(10, 10, 0x5000, EVF_WRITE), &k));
	assert_false(note(as, hit, &k));
	access_shared__free(as);
}

/* Watchpoint hits have a set of their own: probe events are not taken there. */
static void test_watchpoint_hits_shared_by_two_processes(void **state)
{
	struct access_shared *as = access_shared__new();
	struct ipcrace_event a = probe_access(10, 10, 0x7f0000000108, EVF_WRITE);
	struct ipcrace_event b = probe_access(11, 11, 0x7f1000000108, EVF_WRITE);
	struct ipcrace_key k;

	(void)state;
	a.key = (struct ipcrace_key){ .space = KEY_FILE, .a = 0x17, .b = 99, .c = 0x10c };
	b.key = a.key;
	/* as probe events: not hits */
	assert_false(access_shared__note_hit(as, &a, &k));
	assert_false(access_shared__note_hit(as, &b, &k));
	a.flags &= ~EVF_PROBE;
	b.flags &= ~EVF_PROBE;
	assert_false(access_shared__note_hit(as, &a, &k));
	assert_true(access_shared__note_hit(as, &b, &k));
	assert_int_equal(k.space, KEY_FILE);
	assert_int_equal(k.c, 0x108);
	/* once per word */
	assert_false(access_shared__note_hit(as, &a, &k));
	/* and hits are not probe accesses */
	assert_false(access_shared__note(as, &a, &k));
	access_shared__free(as);
}

static void test_shared_object_word_is_its_offset(void **state)
{
	struct access_shared *as = access_shared__new();
	struct ipcrace_event a = probe_access(10, 10, 0x7f0000000104, EVF_WRITE);
	struct ipcrace_event b = probe_access(11, 11, 0x7f1000000104, EVF_WRITE);
	struct ipcrace_key k;

	(void)state;
	a.key = (struct ipcrace_key){ .space = KEY_FILE, .a = 5, .b = 77, .c = 0x104 };
	b.key = a.key;
	assert_false(note(as, a, &k));
	assert_true(note(as, b, &k));
	assert_int_equal(k.space, KEY_FILE);
	assert_int_equal(k.c, 0x100);
	access_shared__free(as);
}

static void test_promoted_word_outweighs_snapshot_words(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key hot = { .space = KEY_PRIVATE, .a = 1, .b = 0x1000 };
	struct ipcrace_key probed = { .space = KEY_PRIVATE, .a = 1, .b = 0x2000 };
	struct watch_rng r;
	int picked_probed = 0;

	(void)state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(candidates__bump(cs, &hot, 8), 0);
	assert_int_equal(candidates__promote(cs, &probed, 8), 0);
	assert_int_equal(candidates__count(cs), 2);
	watch_rng__seed(&r, 1);
	for (int i = 0; i < 100; i++) {
		struct candidates *c2 = cs;
		int k = candidates__pick(c2, &r, NULL, 0);

		assert_true(k >= 0);
		picked_probed += !memcmp(&candidates__get(cs, k)->key, &probed, sizeof(probed));
	}
	/* picks lower a word's weight: the probed word still wins most */
	assert_true(picked_probed > 50);
	candidates__free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_word_written_by_two_threads_is_reported_once),
		cmocka_unit_test(test_reads_alone_and_one_thread_alone_are_not_shared),
		cmocka_unit_test(test_atomic_words_and_watchpoint_hits_are_never_promoted),
		cmocka_unit_test(test_shared_object_word_is_its_offset),
		cmocka_unit_test(test_watchpoint_hits_shared_by_two_processes),
		cmocka_unit_test(test_promoted_word_outweighs_snapshot_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
