/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The user stack of a blocked thread of a live process, from its saved
 * registers and its stack memory read with process_vm_readv: the thread
 * is not stopped. The modules come from the mapping records of the
 * process (its /proc/PID/maps snapshot).
 */
#ifndef IPCRACE_HANG_STACK_H
#define IPCRACE_HANG_STACK_H

#include <stddef.h>
#include <linux/types.h>
#include "../analyzer/trace.h"
#include "../bpf/hang/hang.h"

struct hang_stacks;

/* t's mappings must outlive it. NULL + errno on error. */
struct hang_stacks *hang_stacks__new(const struct trace *t);
void hang_stacks__free(struct hang_stacks *hs);

/*
 * Frame addresses of task (ips[0] the exact ip, the others return
 * addresses), at most max; with frame_regs (may be NULL), each frame's
 * registers (UREG_* order: what the frame's function had in its
 * callee-saved registers while it called the frame below). Returns how
 * many (0 when nothing could be read).
 */
size_t hang_stacks__unwind(struct hang_stacks *hs, const struct hang_task *task, __u64 *ips,
			   __u64 (*frame_regs)[UREG_NR], size_t max);

#endif /* IPCRACE_HANG_STACK_H */
