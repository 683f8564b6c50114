// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Identity normalization, key helpers and the key map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/identity.h"

#define DEV_SHM 0x17
#define INO_SEG 4242

static struct trace_mapping mapping(__u32 pid, __u64 ts, __u64 start, __u64 end,
				    __u64 pgoff, __u64 ino, __u32 flags)
{
	struct trace_mapping m;

	memset(&m, 0, sizeof(m));
	m.pid = pid;
	m.ts = ts;
	m.start = start;
	m.end = end;
	m.pgoff = pgoff;
	m.dev = ino ? DEV_SHM : 0;
	m.ino = ino;
	m.flags = flags;
	m.prot = 3;
	return m;
}

static struct ipcrace_key key(__u32 space, __u64 a, __u64 b, __u64 c)
{
	struct ipcrace_key k = { .a = a, .b = b, .c = c, .space = space };

	return k;
}

static void test_key_equal_compares_every_field_but_padding(void **state)
{
	struct ipcrace_key x = key(KEY_FILE, 1, 2, 3), y = x;

	(void)state;
	y.__pad = 7;
	assert_true(ipcrace_key__equal(&x, &y));
	assert_int_equal(ipcrace_key__cmp(&x, &y), 0);
	assert_true(ipcrace_key__hash(&x) == ipcrace_key__hash(&y));

	y = x; y.space = KEY_PRIVATE;
	assert_false(ipcrace_key__equal(&x, &y));
	y = x; y.a = 9;
	assert_false(ipcrace_key__equal(&x, &y));
	y = x; y.b = 9;
	assert_false(ipcrace_key__equal(&x, &y));
	y = x; y.c = 9;
	assert_false(ipcrace_key__equal(&x, &y));
	assert_true(ipcrace_key__cmp(&x, &y) < 0);
	assert_true(ipcrace_key__cmp(&y, &x) > 0);
}

/* Two processes map one shm segment at different addresses (and offsets). */
static void test_shared_object_at_different_addresses_normalizes_equal(void **state)
{
	struct trace_mapping maps[] = {
		mapping(100, 10, 0x7f0000000000, 0x7f0000004000, 0, INO_SEG, MAPF_SHARED),
		mapping(200, 12, 0x7e0000001000, 0x7e0000003000, 0x1000, INO_SEG, MAPF_SHARED),
	};
	struct trace t = { .mappings = maps, .nr_mappings = 2 };
	struct ipcrace_key k1, k2;
	struct identity *id;

	(void)state;
	id = identity__new(&t);
	assert_non_null(id);
	assert_int_equal(identity__resolve(id, 100, 0x7f0000001040, 50, &k1), 0);
	assert_int_equal(identity__resolve(id, 200, 0x7e0000001040, 50, &k2), 0);
	assert_int_equal(k1.space, KEY_FILE);
	assert_int_equal(k1.a, DEV_SHM);
	assert_int_equal(k1.b, INO_SEG);
	assert_int_equal(k1.c, 0x1040);
	assert_true(ipcrace_key__equal(&k1, &k2));

	/* another word of the same segment is another object */
	assert_int_equal(identity__resolve(id, 200, 0x7e0000001048, 50, &k2), 0);
	assert_false(ipcrace_key__equal(&k1, &k2));
	identity__free(id);
}

/* A forked child that exited before its maps were read has its parent's layout. */
static void test_child_without_snapshot_resolves_through_parent(void **state)
{
	struct trace_mapping maps[] = {
		mapping(100, 10, 0x7f0000000000, 0x7f0000004000, 0, INO_SEG, MAPF_SHARED),
		mapping(100, 10, 0x560000000000, 0x560000001000, 0, 0, 0),
	};
	struct trace_process procs[] = {
		{ .pid = 100, .ppid = 0 },
		{ .pid = 300, .ppid = 100 },
	};
	struct trace t = { .mappings = maps, .nr_mappings = 2,
			   .processes = procs, .nr_processes = 2 };
	struct ipcrace_key k;
	struct identity *id;

	(void)state;
	id = identity__new(&t);
	assert_non_null(id);
	assert_int_equal(identity__resolve(id, 300, 0x7f0000000040, 50, &k), 0);
	assert_int_equal(k.space, KEY_FILE);
	assert_int_equal(k.b, INO_SEG);
	assert_int_equal(k.c, 0x40);
	/* private memory found through the parent is still the child's own */
	assert_int_equal(identity__resolve(id, 300, 0x560000000010, 50, &k), 0);
	assert_int_equal(k.space, KEY_PRIVATE);
	assert_int_equal(k.a, 300);
	/* no ancestor maps it: unresolved */
	assert_int_equal(identity__resolve(id, 999, 0x7f0000000040, 50, &k), -ENOENT);
	identity__free(id);
}

static void test_private_memory_differs_per_pid(void **state)
{
	struct trace_mapping maps[] = {
		mapping(100, 10, 0x600000, 0x700000, 0, 0, 0),
		mapping(200, 10, 0x600000, 0x700000, 0, 0, 0),
		/* a private mapping of a file is still private memory */
		mapping(100, 10, 0x800000, 0x801000, 0, 77, 0),
		/* MAP_SHARED without an inode cannot be named across processes */
		mapping(100, 10, 0x900000, 0x901000, 0, 0, MAPF_SHARED),
	};
	struct trace t = { .mappings = maps, .nr_mappings = 4 };
	struct ipcrace_key k1, k2;
	struct identity *id;

	(void)state;
	id = identity__new(&t);
	assert_non_null(id);
	assert_int_equal(identity__resolve(id, 100, 0x600010, 20, &k1), 0);
	assert_int_equal(identity__resolve(id, 200, 0x600010, 20, &k2), 0);
	assert_int_equal(k1.space, KEY_PRIVATE);
	assert_int_equal(k1.a, 100);
	assert_int_equal(k1.b, 0x600010);
	assert_false(ipcrace_key__equal(&k1, &k2));

	assert_int_equal(identity__resolve(id, 100, 0x800008, 20, &k1), 0);
	assert_int_equal(k1.space, KEY_PRIVATE);
	assert_int_equal(identity__resolve(id, 100, 0x900008, 20, &k1), 0);
	assert_int_equal(k1.space, KEY_PRIVATE);
	identity__free(id);
}

/* The address space at the event's time decides, not the latest one. */
static void test_resolve_uses_snapshot_current_at_event_time(void **state)
{
	struct trace_mapping maps[] = {
		mapping(100, 20, 0x1000, 0x2000, 0, 6, MAPF_SHARED),	/* remapped later */
		mapping(100, 10, 0x1000, 0x2000, 0, 5, MAPF_SHARED),
		mapping(100, 10, 0x5000, 0x6000, 0, 0, 0),
		mapping(100, 30, 0x8000, 0x9000, 0, 9, MAPF_SHARED),	/* mapped late */
		mapping(101, 10, 0x1000, 0x2000, 0, 99, MAPF_SHARED),
	};
	struct trace t = { .mappings = maps, .nr_mappings = 5 };
	struct ipcrace_key k;
	struct identity *id;

	(void)state;
	id = identity__new(&t);
	assert_non_null(id);
	assert_int_equal(identity__resolve(id, 100, 0x1008, 15, &k), 0);
	assert_int_equal(k.b, 5);
	assert_int_equal(identity__resolve(id, 100, 0x1008, 25, &k), 0);
	assert_int_equal(k.b, 6);
	/* before the first snapshot: the first one that holds it */
	assert_int_equal(identity__resolve(id, 100, 0x1008, 1, &k), 0);
	assert_int_equal(k.b, 5);
	/* mapped after the snapshot current at ts: a later snapshot names it */
	assert_int_equal(identity__resolve(id, 100, 0x8010, 12, &k), 0);
	assert_int_equal(k.space, KEY_FILE);
	assert_int_equal(k.b, 9);
	assert_int_equal(k.c, 0x10);
	/* the snapshot at 30 lacks 0x5000: the older one is the best guess */
	assert_int_equal(identity__resolve(id, 100, 0x5008, 35, &k), 0);
	assert_int_equal(k.space, KEY_PRIVATE);
	/* unmapped, and unknown pid */
	assert_int_equal(identity__resolve(id, 100, 0x3000, 15, &k), -ENOENT);
	assert_int_equal(identity__resolve(id, 555, 0x1008, 15, &k), -ENOENT);
	identity__free(id);
}

static struct ipcrace_event event(__u32 pid, __u64 addr, __u64 ts)
{
	struct ipcrace_event e;

	memset(&e, 0, sizeof(e));
	e.type = EV_LOCK_ATTEMPT;
	e.obj = OBJ_MUTEX;
	e.pid = pid;
	e.tid = pid;
	e.addr = addr;
	e.ts = ts;
	return e;
}

static void test_event_key_resolves_only_what_bpf_could_not(void **state)
{
	struct trace_mapping maps[] = {
		mapping(100, 10, 0x1000, 0x2000, 0x3000, 5, MAPF_SHARED),
	};
	struct trace t = { .mappings = maps, .nr_mappings = 1 };
	struct ipcrace_event e;
	struct ipcrace_key k;
	struct identity *id;

	(void)state;
	id = identity__new(&t);
	assert_non_null(id);

	/* BPF resolved it: kept as is */
	e = event(100, 0x1010, 20);
	e.key = key(KEY_FILE, 1, 2, 3);
	identity__event_key(id, &e, &k);
	assert_int_equal(k.space, KEY_FILE);
	assert_int_equal(k.b, 2);

	/* BPF said unresolved: rebuilt from the mappings */
	e.flags = EVF_KEY_UNRESOLVED;
	identity__event_key(id, &e, &k);
	assert_int_equal(k.space, KEY_FILE);
	assert_int_equal(k.a, DEV_SHM);
	assert_int_equal(k.b, 5);
	assert_int_equal(k.c, 0x3010);

	/* KEY_NONE with an address: rebuilt too */
	e = event(100, 0x1020, 20);
	identity__event_key(id, &e, &k);
	assert_int_equal(k.space, KEY_FILE);
	assert_int_equal(k.c, 0x3020);

	/* no mapping holds it: private to the process, never merged */
	e = event(100, 0x9000, 20);
	identity__event_key(id, &e, &k);
	assert_int_equal(k.space, KEY_PRIVATE);
	assert_int_equal(k.a, 100);
	assert_int_equal(k.b, 0x9000);

	/* a file lock only BPF can name: no guessing from its address */
	e = event(100, 0x1010, 20);
	e.obj = OBJ_FLOCK;
	e.flags = EVF_KEY_UNRESOLVED;
	identity__event_key(id, &e, &k);
	assert_int_equal(k.space, KEY_NONE);

	/* no object at all */
	e = event(100, 0, 20);
	identity__event_key(id, &e, &k);
	assert_int_equal(k.space, KEY_NONE);

	/* no mappings known */
	e = event(100, 0x1010, 20);
	identity__event_key(NULL, &e, &k);
	assert_int_equal(k.space, KEY_PRIVATE);
	identity__free(id);
}

static void test_keymap_sets_gets_and_grows(void **state)
{
	struct keymap *m = keymap__new();
	struct ipcrace_key k;
	__u64 v, i;

	(void)state;
	assert_non_null(m);
	k = key(KEY_FILE, 1, 2, 3);
	assert_false(keymap__get(m, &k, &v));
	for (i = 0; i < 5000; i++) {
		k = key(KEY_PRIVATE, i % 7, i, 0);
		assert_int_equal(keymap__set(m, &k, i * 3), 0);
	}
	assert_int_equal(keymap__size(m), 5000);
	for (i = 0; i < 5000; i++) {
		k = key(KEY_PRIVATE, i % 7, i, 0);
		assert_true(keymap__get(m, &k, &v));
		assert_int_equal(v, i * 3);
	}
	k = key(KEY_PRIVATE, 3, 10, 0);		/* 10 % 7 = 3: present */
	assert_int_equal(keymap__set(m, &k, 1), 0);
	assert_int_equal(keymap__size(m), 5000);
	assert_true(keymap__get(m, &k, &v));
	assert_int_equal(v, 1);
	k = key(KEY_PRIVATE, 4, 10, 0);		/* same b, other pid */
	assert_false(keymap__get(m, &k, &v));
	keymap__free(m);
	keymap__free(NULL);
	identity__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_equal_compares_every_field_but_padding),
		cmocka_unit_test(test_shared_object_at_different_addresses_normalizes_equal),
		cmocka_unit_test(test_private_memory_differs_per_pid),
		cmocka_unit_test(test_child_without_snapshot_resolves_through_parent),
		cmocka_unit_test(test_resolve_uses_snapshot_current_at_event_time),
		cmocka_unit_test(test_event_key_resolves_only_what_bpf_could_not),
		cmocka_unit_test(test_keymap_sets_gets_and_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
