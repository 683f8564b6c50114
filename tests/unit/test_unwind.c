// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The DWARF unwinder on a real stack: this test (built -O2
 * -fomit-frame-pointer) captures its own registers and the top of its stack
 * three calls deep, then unwinds the copy through the callbacks, as the
 * reports do for a trace's snapshot and `hang` will for a live process.
 * The expected return addresses come from __builtin_return_address in each
 * function. Also: the snapshot store of a trace, part by part.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/ustack.h"
#include "reports/unwind.h"

#define SNAP_BYTES 8192
#define MAPS_MAX 64

struct self_map {
	__u64 start, end, offset;
	bool exec;
	char path[256];
};

/* What the capture saw, and the return addresses the walk must find. */
static __u64 regs[UREG_NR];
static unsigned char snap[SNAP_BYTES];
static size_t snap_len;
static __u64 want[4];			/* into level3, level2, level1, the test */

static struct self_map maps[MAPS_MAX];
static size_t nr_maps;

static void read_self_maps(void)
{
	char line[512], perms[8];
	unsigned long long s, e, off;
	FILE *f = fopen("/proc/self/maps", "re");

	assert_non_null(f);
	nr_maps = 0;
	while (fgets(line, sizeof(line), f) && nr_maps < MAPS_MAX) {
		struct self_map *m = &maps[nr_maps];
		int n = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perms, &off, &n) < 4)
			continue;
		m->start = s;
		m->end = e;
		m->offset = off;
		m->exec = perms[2] == 'x';
		snprintf(m->path, sizeof(m->path), "%s", n ? line + n : "");
		m->path[strcspn(m->path, "\n")] = '\0';
		nr_maps++;
	}
	fclose(f);
}

static int self_find_module(void *ctx, __u64 addr, struct unwind_module *out)
{
	size_t i, j;

	(void)ctx;
	for (i = 0; i < nr_maps; i++) {
		if (!maps[i].exec || addr < maps[i].start || addr >= maps[i].end)
			continue;
		out->start = maps[i].start;
		out->end = maps[i].end;
		out->base = maps[i].start - maps[i].offset;
		for (j = 0; j < nr_maps; j++)
			if (!strcmp(maps[j].path, maps[i].path) && maps[j].offset == 0)
				out->base = maps[j].start;
		out->elf_path = maps[i].path[0] == '/' ? maps[i].path : NULL;
		out->name = maps[i].path;
		return 0;
	}
	return -ENOENT;
}

static int snap_read_mem(void *ctx, __u64 addr, void *buf, size_t len)
{
	__u64 sp = regs[UREG_SP];

	(void)ctx;
	if (addr < sp || addr - sp > snap_len || snap_len - (addr - sp) < len)
		return -EFAULT;
	memcpy(buf, snap + (addr - sp), len);
	return 0;
}

static const struct unwind_target_ops snap_ops = {
	.read_mem = snap_read_mem,
	.find_module = self_find_module,
};

/* Bytes from sp to the end of its mapping (at most SNAP_BYTES). */
static size_t stack_room(__u64 sp)
{
	size_t i;

	for (i = 0; i < nr_maps; i++)
		if (maps[i].start <= sp && sp < maps[i].end)
			return maps[i].end - sp < SNAP_BYTES ? maps[i].end - sp : SNAP_BYTES;
	return 0;
}

/* Registers and stack bytes here, the way BPF takes them at an event. */
static __attribute__((noinline)) void capture(void)
{
	__asm__ volatile(
		"lea 0(%%rip), %%rax\n\t"
		"mov %%rax, 0(%0)\n\t"
		"mov %%rsp, 8(%0)\n\t"
		"mov %%rbp, 16(%0)\n\t"
		"mov %%rbx, 24(%0)\n\t"
		"mov %%r12, 32(%0)\n\t"
		"mov %%r13, 40(%0)\n\t"
		"mov %%r14, 48(%0)\n\t"
		"mov %%r15, 56(%0)\n\t"
		: : "r"(regs) : "rax", "memory");
	snap_len = stack_room(regs[UREG_SP]);
	memcpy(snap, (void *)(uintptr_t)regs[UREG_SP], snap_len);
	want[0] = (__u64)(uintptr_t)__builtin_return_address(0);
}

/* Frames with locals and no frame pointer, each kept by a barrier. */
static __attribute__((noinline)) int level3(int x)
{
	volatile int local[16];

	local[x & 15] = x;
	capture();
	__asm__ volatile("" ::: "memory");
	want[1] = (__u64)(uintptr_t)__builtin_return_address(0);
	return local[x & 15];
}

static __attribute__((noinline)) int level2(int x)
{
	volatile char pad[200];
	int r;

	pad[x & 127] = (char)x;
	r = level3(x + 1);
	__asm__ volatile("" ::: "memory");
	want[2] = (__u64)(uintptr_t)__builtin_return_address(0);
	return r + pad[x & 127];
}

static __attribute__((noinline)) int level1(int x)
{
	int r = level2(x * 2);

	__asm__ volatile("" ::: "memory");
	want[3] = (__u64)(uintptr_t)__builtin_return_address(0);
	return r;
}

static void test_unwinds_own_stack_without_frame_pointers(void **state)
{
	struct unwind_frame fr[32];
	struct unwinder *u = unwinder__new();
	int n, i;

	(void)state;
	assert_non_null(u);
	read_self_maps();
	level1(3);
	n = unwinder__unwind(u, &snap_ops, NULL, regs, fr, 32);
	assert_true(n >= 5);
	assert_int_equal(fr[0].how, UNWIND_REGS);
	assert_int_equal(fr[0].ip, regs[UREG_IP]);
	for (i = 0; i < 4; i++) {
		assert_int_equal(fr[i + 1].ip, want[i]);
		assert_int_equal(fr[i + 1].how, UNWIND_DWARF);
	}
	unwinder__free(u);
}

static void test_cut_snapshot_stops_inside_it(void **state)
{
	struct unwind_frame fr[32];
	struct unwinder *u = unwinder__new();
	int n, i;

	(void)state;
	assert_non_null(u);
	read_self_maps();
	level1(5);
	/* only capture's own frame: its return address and nothing above */
	snap_len = 16;
	n = unwinder__unwind(u, &snap_ops, NULL, regs, fr, 32);
	assert_true(n >= 1 && n <= 2);
	for (i = 1; i < n; i++)
		assert_int_equal(fr[i].ip, want[i - 1]);
	unwinder__free(u);
}

static void test_ip_outside_executable_mappings_gives_no_frame(void **state)
{
	struct unwind_frame fr[4];
	struct unwinder *u = unwinder__new();
	__u64 bad[UREG_NR] = { [UREG_IP] = 0x702d2d0072657672ull, [UREG_SP] = 0x1000 };

	(void)state;
	assert_non_null(u);
	read_self_maps();
	assert_int_equal(unwinder__unwind(u, &snap_ops, NULL, bad, fr, 4), 0);
	assert_int_equal(unwinder__unwind(u, NULL, NULL, bad, fr, 4), -EINVAL);
	unwinder__free(u);
}

/* A garbage return address on the stack ends the walk before it. */
static void test_garbage_return_address_ends_walk(void **state)
{
	struct unwind_frame fr[32];
	struct unwinder *u = unwinder__new();
	__u64 ascii = 0x702d2d0072657672ull;
	size_t i;
	int n;

	(void)state;
	assert_non_null(u);
	read_self_maps();
	level1(7);
	/* overwrite the return address into level2 (level3's frame top) */
	for (i = 0; i + 8 <= snap_len; i += 8)
		if (!memcmp(snap + i, &want[1], 8))
			break;
	assert_true(i + 8 <= snap_len);
	memcpy(snap + i, &ascii, 8);
	n = unwinder__unwind(u, &snap_ops, NULL, regs, fr, 32);
	assert_int_equal(n, 2);	/* capture, and the return into level3 */
	assert_int_equal(fr[1].ip, want[0]);
	unwinder__free(u);
}

static void put_header(struct ustack_table **t, __u64 id, __u32 size)
{
	struct trace_ustack h = { .id = id, .size = size };
	char err[128];

	h.regs[UREG_SP] = 0x7000;
	assert_int_equal(ustack_table__add_header(t, &h, sizeof(h), err, sizeof(err)), 0);
}

static int put_part(struct ustack_table **t, __u64 id, __u32 off, __u32 len, int fill)
{
	unsigned char buf[sizeof(struct trace_ustack_data) + USTACK_PART_MAX];
	struct trace_ustack_data d = { .id = id, .offset = off, .len = len };
	char err[128];

	memcpy(buf, &d, sizeof(d));
	memset(buf + sizeof(d), fill, len);
	return ustack_table__add_data(t, buf, sizeof(d) + len, err, sizeof(err));
}

static void test_snapshot_parts_assemble_and_a_lost_part_cuts(void **state)
{
	const struct ustack_snapshot *s;
	struct ustack_table *t = NULL;
	char err[128];

	(void)state;
	put_header(&t, 7, 6000);
	assert_int_equal(put_part(&t, 7, 0, 4000, 1), 0);
	assert_int_equal(put_part(&t, 7, 4000, 2000, 2), 0);
	put_header(&t, 9, 6000);
	assert_int_equal(put_part(&t, 9, 0, 3000, 3), 0);
	/* 3000..4000 lost: the part after it does not join */
	assert_int_equal(put_part(&t, 9, 4000, 2000, 4), 0);
	put_header(&t, 7, 100);		/* a duplicate id: the first stays */
	assert_int_equal(ustack_table__finish(t), 0);
	assert_int_equal(ustack_table__count(t), 2);

	s = ustack_table__find(t, 7);
	assert_non_null(s);
	assert_int_equal(s->have, 6000);
	assert_int_equal(s->data[3999], 1);
	assert_int_equal(s->data[4000], 2);
	s = ustack_table__find(t, 9);
	assert_non_null(s);
	assert_int_equal(s->have, 3000);
	assert_null(ustack_table__find(t, 8));

	/* malformed records are errors, with a reason */
	assert_int_equal(ustack_table__add_header(&t, "x", 1, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) > 0);
	assert_int_equal(put_part(&t, 9, 0, 0, 0), 0);
	{
		struct trace_ustack_data d = { .id = 9, .len = 50 };

		assert_int_equal(ustack_table__add_data(&t, &d, sizeof(d) + 10, err,
							sizeof(err)), -EINVAL);
	}
	{
		struct trace_ustack h = { .id = 3, .size = IPCRACE_USTACK_MAX + 1 };

		assert_int_equal(ustack_table__add_header(&t, &h, sizeof(h), err, sizeof(err)),
				 -EINVAL);
	}
	ustack_table__free(t);
	ustack_table__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwinds_own_stack_without_frame_pointers),
		cmocka_unit_test(test_cut_snapshot_stops_inside_it),
		cmocka_unit_test(test_ip_outside_executable_mappings_gives_no_frame),
		cmocka_unit_test(test_garbage_return_address_ends_walk),
		cmocka_unit_test(test_snapshot_parts_assemble_and_a_lost_part_cuts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
