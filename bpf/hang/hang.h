/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The record bpf/hang/hang.bpf.c writes for each thread it is asked about,
 * shared with tracer/hang_scan.c. Like bpf/events.h: fixed-width types only,
 * 8-byte fields first, included after vmlinux.h or <linux/types.h>.
 */
#ifndef IPCRACE_HANG_H
#define IPCRACE_HANG_H

#define HANG_COMM_LEN 16

/*
 * The user registers of a thread as the kernel saved them when it entered
 * the kernel (for a thread blocked in a system call: the registers at the
 * syscall instruction, orig_ax the system call number, di..r9 its
 * arguments). Read by a task iterator, without stopping the thread.
 */
struct hang_regs {
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__u64 bx;
	__u64 r12;
	__u64 r13;
	__u64 r14;
	__u64 r15;
	__u64 ax;
	__u64 cx;
	__u64 dx;
	__u64 si;
	__u64 di;
	__u64 r8;
	__u64 r9;
	__u64 r10;
	__u64 r11;
	__u64 orig_ax;		/* system call number, -1 when not in one */
	__u64 flags;
};

#define HANG_URET_MAX 8

struct hang_task {
	struct hang_regs regs;
	__u64 fsbase;
	/*
	 * nvcsw + nivcsw: a thread that is blocked at two looks with the same
	 * count never ran in between, so it waited on the same thing all along.
	 */
	__u64 nr_switches;
	/*
	 * The thread's pending uretprobe returns, innermost first (any
	 * tracer's, ipcrace check's included): the kernel replaced the return
	 * address at uret_slot[i] on the user stack with its trampoline; the
	 * real one is uret_ret[i]. Stacks read through them, not the trampoline.
	 */
	__u64 uret_slot[HANG_URET_MAX];
	__u64 uret_ret[HANG_URET_MAX];
	__u32 tgid;
	__u32 tid;
	__u32 state;		/* task->__state (TASK_INTERRUPTIBLE, ...) */
	__u32 kthread;		/* 1: a kernel thread (no user registers) */
	__u32 nr_uret;
	__u32 exit_state;	/* task->exit_state: EXIT_ZOMBIE, EXIT_DEAD, 0 while alive */
	char comm[HANG_COMM_LEN];
};

#endif /* IPCRACE_HANG_H */
