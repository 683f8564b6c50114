// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tracer/hang_cond.c: which callee-saved registers a function keeps its
 * first two arguments in (the condition variable and the mutex of
 * pthread_cond_wait), from its code, and from a function of this very
 * executable found by address through its symbol table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/types.h>

#include "bpf/events.h"
#include "tracer/hang_cond.h"

/* glibc 2.36 (Debian 12) pthread_cond_wait up to its first call, as objdump shows it */
static const __u8 glibc_236_cond_wait[] = {
	0x41, 0x57, 0x41, 0x56, 0x41, 0xbe, 0x02, 0x00, 0x00, 0x00, 0x41, 0x55, 0x41, 0x54,
	0x49, 0x89, 0xf4,			/* mov %rsi,%r12 */
	0x55, 0x53,
	0x48, 0x89, 0xfb,			/* mov %rdi,%rbx */
	0x48, 0x81, 0xec, 0x88, 0x00, 0x00, 0x00, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00,
	0x00, 0x00, 0x48, 0x89, 0x44, 0x24, 0x78, 0x31, 0xc0,
	0xf0, 0x4c, 0x0f, 0xc1, 0x37,		/* lock xadd %r14,(%rdi) */
	0xbd, 0x08, 0x00, 0x00, 0x00, 0x44, 0x89, 0xf0, 0x83, 0xe0, 0x01, 0x89, 0x44, 0x24,
	0x20, 0x4c, 0x89, 0xf0, 0x48, 0xd1, 0xe8, 0x48, 0x89, 0x44, 0x24, 0x08, 0xf0, 0x0f,
	0xc1, 0x6f, 0x24,
	0x31, 0xf6,				/* xor %esi,%esi */
	0x4c, 0x89, 0xe7,			/* mov %r12,%rdi */
	0xc1, 0xe5, 0x07,
	0xe8, 0x02, 0x58, 0x00, 0x00,		/* call */
	0x48, 0x89, 0xf5,			/* mov %rsi,%rbp: after the call, not read */
};

static void test_glibc_prologue(void **state)
{
	int a1, a2;

	(void)state;
	assert_int_equal(hang_cond__decode(glibc_236_cond_wait, sizeof(glibc_236_cond_wait), &a1,
					   &a2), 0);
	assert_int_equal(a1, UREG_BX);
	assert_int_equal(a2, UREG_R12);
}

static void test_copy_overwritten(void **state)
{
	/* mov %rsi,%r12; xor %r12d,%r12d; mov %rdi,%r13; mov %rsi,%r13; ret */
	static const __u8 code[] = { 0x49, 0x89, 0xf4, 0x45, 0x31, 0xe4, 0x49, 0x89, 0xfd,
				     0x49, 0x89, 0xf5, 0xc3 };
	int a1, a2;

	(void)state;
	assert_int_equal(hang_cond__decode(code, sizeof(code), &a1, &a2), 0);
	assert_int_equal(a1, HANG_COND_NO_REG);
	assert_int_equal(a2, UREG_R13);
}

static void test_nothing_before_a_branch(void **state)
{
	/* jmp +0; mov %rsi,%r12; mov %rdi,%rbx */
	static const __u8 jump_first[] = { 0xeb, 0x00, 0x49, 0x89, 0xf4, 0x48, 0x89, 0xfb };
	/* mov %esi,%r12d (32 bits: not the pointer); mov %rdi,%rsi; mov %rsi,%rbp */
	static const __u8 narrow[] = { 0x41, 0x89, 0xf4, 0x48, 0x89, 0xfe, 0x48, 0x89, 0xf5 };
	int a1, a2;

	(void)state;
	assert_int_equal(hang_cond__decode(jump_first, sizeof(jump_first), &a1, &a2), -ENOENT);
	assert_int_equal(a1, HANG_COND_NO_REG);
	assert_int_equal(a2, HANG_COND_NO_REG);
	/* rsi was overwritten with rdi: rbp holds the first argument, r12 nothing */
	assert_int_equal(hang_cond__decode(narrow, sizeof(narrow), &a1, &a2), 0);
	assert_int_equal(a1, UREG_BP);
	assert_int_equal(a2, HANG_COND_NO_REG);
}

static void test_bad_input(void **state)
{
	int a1, a2;

	(void)state;
	assert_int_equal(hang_cond__decode(NULL, 4, &a1, &a2), -EINVAL);
	assert_int_equal(hang_cond__decode(glibc_236_cond_wait, 0, &a1, &a2), -EINVAL);
	/* undecodable bytes: nothing kept */
	assert_int_equal(hang_cond__decode((const __u8 *)"\x06\x06\x06", 3, &a1, &a2), -ENOENT);
}

/* A function of this executable that keeps its arguments in r15 and rbx. */
void keeps_args(void *cond, void *mutex);
__asm__(".text\n.globl keeps_args\n.type keeps_args, @function\nkeeps_args:\n"
	"push %r15\npush %rbx\nmov %rsi, %r15\nmov %rdi, %rbx\ncall keeps_args_callee\n"
	"pop %rbx\npop %r15\nret\n.size keeps_args, .-keeps_args\n"
	".globl keeps_args_callee\n.type keeps_args_callee, @function\nkeeps_args_callee:\nret\n"
	".size keeps_args_callee, .-keeps_args_callee\n");

/* the linker's: the load base of this PIE (its first segment is at file offset 0) */
extern char __executable_start;

static void test_function_of_a_file(void **state)
{
	char exe[PATH_MAX];
	struct hang_conds *c = hang_conds__new();
	/* the return address of its call: 2 + 2 + 3 + 3 + 5 bytes in */
	__u64 off = (uintptr_t)keeps_args + 15 - (uintptr_t)&__executable_start;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int a1, a2;

	(void)state;
	assert_non_null(c);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(hang_conds__arg_regs(c, getpid(), exe, off, true, &a1, &a2), 0);
	assert_int_equal(a1, UREG_BX);
	assert_int_equal(a2, UREG_R15);
	/* asked again: the same answer, from what was decoded */
	assert_int_equal(hang_conds__arg_regs(c, getpid(), exe, off - 3, false, &a1, &a2), 0);
	assert_int_equal(a2, UREG_R15);
	/* a relative path, a file that is not there */
	assert_int_equal(hang_conds__arg_regs(c, getpid(), "exe", off, true, &a1, &a2), -EINVAL);
	assert_true(hang_conds__arg_regs(c, getpid(), "/nonexistent/x", off, true, &a1, &a2) < 0);
	assert_int_equal(a1, HANG_COND_NO_REG);
	hang_conds__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glibc_prologue),
		cmocka_unit_test(test_copy_overwritten),
		cmocka_unit_test(test_nothing_before_a_branch),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_function_of_a_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
