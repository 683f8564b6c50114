/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * DWARF unwinding of a user stack with libunwind's remote API: from a
 * register set and a way to read the target's memory, the return addresses
 * of the frames above, using each module's .eh_frame (through its
 * .eh_frame_hdr search table), read from its ELF file. Where a module has
 * no table, libunwind's frame-pointer step is used for that frame.
 *
 * The core knows nothing of traces: the memory callback can serve a
 * captured snapshot (reports/symbolize.c) or a live process
 * (process_vm_readv), and the module callback a trace's mapping records or
 * /proc/PID/maps. Every frame must lie in an executable mapping the module
 * callback knows: a walk that leaves them stops there, so no frame is stack
 * garbage read as a return address.
 */
#ifndef IPCRACE_UNWIND_H
#define IPCRACE_UNWIND_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "../bpf/events.h"

/* The executable mapping that holds an address. */
struct unwind_module {
	__u64 start, end;		/* the mapping, [start, end) */
	__u64 base;			/* load address of the file's offset 0 */
	const char *elf_path;		/* the file to read .eh_frame from; NULL: none */
	const char *name;		/* for -v: the module as the trace names it */
};

struct unwind_target_ops {
	/* Reads len bytes of target memory at addr: 0, or -errno (-EFAULT
	 * when those bytes are not available). Module files are read by the
	 * unwinder itself; this serves the stack. */
	int (*read_mem)(void *ctx, __u64 addr, void *buf, size_t len);
	/* The executable mapping holding addr: 0, or -ENOENT (no executable
	 * mapping: the walk ends). out's strings must live until the next
	 * call of unwinder__unwind. */
	int (*find_module)(void *ctx, __u64 addr, struct unwind_module *out);
};

enum unwind_method {
	UNWIND_REGS,			/* frame 0: the register set's ip */
	UNWIND_DWARF,			/* the previous frame's .eh_frame CFA rules */
	UNWIND_FP,			/* no unwind table there: its frame pointer */
};

struct unwind_frame {
	__u64 ip;			/* frame 0: the ip; others: return addresses */
	__u64 sp;			/* the stack pointer in that frame */
	enum unwind_method how;
};

struct unwinder;

/* NULL + errno on error. */
struct unwinder *unwinder__new(void);
void unwinder__free(struct unwinder *u);

/*
 * Unwinds from regs (UREG_* order): frames[0] is regs[UREG_IP]. Returns the
 * number of frames written (0 when the ip itself is in no executable
 * mapping), or a negative errno.
 */
int unwinder__unwind(struct unwinder *u, const struct unwind_target_ops *ops, void *ctx,
		     const __u64 regs[UREG_NR], struct unwind_frame *frames, size_t max);

/*
 * unwinder__unwind, and the registers of each frame as its unwind rules
 * recover them: frame_regs[i] (UREG_* order) for frames[i], the
 * callee-saved ones as that frame last saw them (frame 0: regs). For
 * reading what a function kept in a callee-saved register while it called
 * the next frame. Costs a read of target memory per saved register.
 */
int unwinder__unwind_regs(struct unwinder *u, const struct unwind_target_ops *ops, void *ctx,
			  const __u64 regs[UREG_NR], struct unwind_frame *frames,
			  __u64 (*frame_regs)[UREG_NR], size_t max);

/* -v: per module file, how its frames were unwound and how often. */
void unwinder__print_stats(const struct unwinder *u, FILE *out);

const char *unwind_method__name(enum unwind_method how);

#endif /* IPCRACE_UNWIND_H */
