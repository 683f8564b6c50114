// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Live stacks for `ipcrace hang`: reports/unwind_live.c (process_vm_readv,
 * /proc/PID/map_files) from the registers the task iterator read. The
 * thread is never stopped. A thread blocked inside a function some tracer
 * put a return probe on (ipcrace check does, on pthread_mutex_lock) has the
 * [uprobes] trampoline as that frame's return address: the iterator reads
 * the real one from the kernel's record, and the walk reads it instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../reports/unwind_live.h"
#include "hang_stack.h"

#define HANG_UNWIND_MAX 64

struct hang_stacks {
	struct unwinder *u;
};

struct hang_stacks *hang_stacks__new(const struct trace *t)
{
	struct hang_stacks *hs = calloc(1, sizeof(*hs));

	(void)t;
	if (!hs) {
		errno = ENOMEM;
		return NULL;
	}
	hs->u = unwinder__new();
	if (!hs->u) {
		free(hs);
		return NULL;
	}
	return hs;
}

void hang_stacks__free(struct hang_stacks *hs)
{
	if (!hs)
		return;
	unwinder__free(hs->u);
	free(hs);
}

size_t hang_stacks__unwind(struct hang_stacks *hs, const struct hang_task *task, __u64 *ips,
			   __u64 (*frame_regs)[UREG_NR], size_t max)
{
	struct unwind_frame frames[HANG_UNWIND_MAX];
	__u64 regs[UREG_NR] = {
		[UREG_IP] = task->regs.ip, [UREG_SP] = task->regs.sp, [UREG_BP] = task->regs.bp,
		[UREG_BX] = task->regs.bx, [UREG_R12] = task->regs.r12, [UREG_R13] = task->regs.r13,
		[UREG_R14] = task->regs.r14, [UREG_R15] = task->regs.r15,
	};
	struct unwind_patch patches[HANG_URET_MAX];
	size_t nr_patches = 0;
	int n;

	if (!max || !task->regs.ip)
		return 0;
	/* a pending uretprobe's trampoline is read as the address it replaced */
	for (size_t i = 0; i < task->nr_uret && i < HANG_URET_MAX; i++)
		patches[nr_patches++] = (struct unwind_patch){
			.addr = task->uret_slot[i], .value = task->uret_ret[i],
		};
	n = unwind_live__stack_regs(hs->u, task->tgid, regs, patches, nr_patches, frames,
				    frame_regs, max < HANG_UNWIND_MAX ? max : HANG_UNWIND_MAX);
	if (n <= 0) {
		ips[0] = task->regs.ip;	/* in no known mapping: the address alone */
		if (frame_regs)
			memcpy(frame_regs[0], regs, sizeof(regs));
		return 1;
	}
	for (int i = 0; i < n; i++)
		ips[i] = frames[i].ip;
	return n;
}
