// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The unwinder on a live, blocked process (what `ipcrace hang` needs): a
 * child built -O2 -fomit-frame-pointer blocks in read() three calls deep;
 * the test interrupts it with ptrace, takes its registers and unwinds its
 * stack through process_vm_readv and /proc/PID/maps (unwind_live.c). The
 * child sends the return addresses its frames must show before it blocks.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "reports/unwind_live.h"

#define NR_WANT 4

#define TRAMPOLINE 0x7fffffffe000ULL	/* where the kernel maps [uprobes] */

static int report_fd, block_fd;
static __u64 want[NR_WANT];		/* into level3, level2, level1, child_main */
static __u64 hijacked_slot;		/* set: block's return slot holds TRAMPOLINE */
static bool hijack;

static __attribute__((noinline)) void block(void)
{
	char c;

	want[0] = (__u64)(uintptr_t)__builtin_return_address(0);
	if (hijack) {
		/* what a uretprobe on block does: its return address becomes the trampoline */
		volatile __u64 *p = (volatile __u64 *)__builtin_frame_address(0);

		for (int i = 0; i < 64 && !hijacked_slot; i++)
			if (p[i] == want[0]) {
				hijacked_slot = (__u64)(uintptr_t)&p[i];
				p[i] = TRAMPOLINE;
			}
		if (write(report_fd, &hijacked_slot, sizeof(hijacked_slot)) != sizeof(hijacked_slot))
			_exit(3);
	}
	if (write(report_fd, want, sizeof(want)) != sizeof(want))
		_exit(3);
	/* never written to: blocks until killed */
	if (read(block_fd, &c, 1) < 0)
		_exit(4);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void level3(void)
{
	volatile char pad[64];

	pad[0] = 1;
	want[1] = (__u64)(uintptr_t)__builtin_return_address(0);
	block();
	__asm__ volatile("" : : "r"(pad) : "memory");
}

static __attribute__((noinline)) void level2(void)
{
	want[2] = (__u64)(uintptr_t)__builtin_return_address(0);
	level3();
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void level1(void)
{
	want[3] = (__u64)(uintptr_t)__builtin_return_address(0);
	level2();
	__asm__ volatile("" ::: "memory");
}

static void regs_from_ptrace(const struct user_regs_struct *r, __u64 *regs)
{
	regs[UREG_IP] = r->rip;
	regs[UREG_SP] = r->rsp;
	regs[UREG_BP] = r->rbp;
	regs[UREG_BX] = r->rbx;
	regs[UREG_R12] = r->r12;
	regs[UREG_R13] = r->r13;
	regs[UREG_R14] = r->r14;
	regs[UREG_R15] = r->r15;
}

/* How many of got[] appear in order in fr[1..n). */
static int frames_found(const struct unwind_frame *fr, int n, const __u64 *got)
{
	int i, k;

	for (i = 0, k = 1; i < NR_WANT && k < n; k++)
		if (fr[k].ip == got[i])
			i++;
	return i;
}

/* A child blocked in read() under level1..3, stopped; its registers in regs. */
static pid_t start_blocked_child(bool hijacked, int *report, int *blocker, __u64 *got,
				 __u64 *slot, __u64 *regs)
{
	struct user_regs_struct r;
	int status;
	pid_t child;

	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(blocker), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		report_fd = report[1];
		block_fd = blocker[0];
		hijack = hijacked;
		level1();
		_exit(0);
	}
	close(report[1]);
	close(blocker[0]);
	if (hijacked)
		assert_int_equal(read(report[0], slot, sizeof(*slot)), sizeof(*slot));
	assert_int_equal(read(report[0], got, NR_WANT * sizeof(*got)), NR_WANT * sizeof(*got));
	/* let it reach read() */
	usleep(100 * 1000);
	assert_int_equal(ptrace(PTRACE_SEIZE, child, 0, 0), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, child, 0, 0), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(ptrace(PTRACE_GETREGS, child, 0, &r), 0);
	regs_from_ptrace(&r, regs);
	return child;
}

static void stop_child(pid_t child, int *report, int *blocker)
{
	int status;

	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	close(report[0]);
	close(blocker[1]);
}

static void test_patched_return_slot_reads_the_real_caller(void **state)
{
	int report[2], blocker[2];
	struct unwind_frame fr[64];
	__u64 regs[UREG_NR], got[NR_WANT], slot = 0;
	struct unwind_patch patch;
	struct unwinder *u;
	pid_t child;
	int n;

	(void)state;
	child = start_blocked_child(true, report, blocker, got, &slot, regs);
	assert_true(slot != 0);
	u = unwinder__new();
	assert_non_null(u);
	/* the trampoline is in no module: the walk stops at block */
	n = unwind_live__stack(u, child, regs, fr, 64);
	assert_true(n >= 1);
	assert_true(frames_found(fr, n, got) < NR_WANT);
	/* read through the kernel's record of the address it replaced */
	patch = (struct unwind_patch){ .addr = slot, .value = got[0] };
	n = unwind_live__stack_patched(u, child, regs, &patch, 1, fr, 64);
	assert_int_equal(frames_found(fr, n, got), NR_WANT);
	assert_int_equal(unwind_live__stack_patched(u, child, regs, NULL, 1, fr, 64), -EINVAL);
	unwinder__free(u);
	stop_child(child, report, blocker);
}

static void test_unwinds_blocked_child(void **state)
{
	int report[2], blocker[2], n;
	struct unwind_frame fr[64];
	__u64 regs[UREG_NR], got[NR_WANT];
	struct unwinder *u;
	pid_t child;

	(void)state;
	child = start_blocked_child(false, report, blocker, got, NULL, regs);
	u = unwinder__new();
	assert_non_null(u);
	n = unwind_live__stack(u, child, regs, fr, 64);
	/* read's frame (libc), then block, level3, level2, level1, ... */
	assert_true(n >= NR_WANT + 1);
	assert_int_equal(frames_found(fr, n, got), NR_WANT);
	unwinder__free(u);
	stop_child(child, report, blocker);
	assert_int_equal(unwind_live__stack(NULL, child, regs, fr, 64), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwinds_blocked_child),
		cmocka_unit_test(test_patched_return_slot_reads_the_real_caller),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
