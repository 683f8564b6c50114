/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The unwinder (unwind.h) on a live process: its memory read with
 * process_vm_readv, its executable mappings from /proc/PID/maps, each
 * module's ELF through /proc/PID/map_files (the file really mapped, in any
 * mount namespace, even deleted). The caller provides the registers (a
 * stopped thread's, from ptrace); nothing here stops or changes the target.
 */
#ifndef IPCRACE_UNWIND_LIVE_H
#define IPCRACE_UNWIND_LIVE_H

#include <sys/types.h>
#include "unwind.h"

/*
 * Unwinds thread tid of process pid from regs (UREG_* order). Returns the
 * number of frames in out, or a negative errno (-ESRCH: no such process).
 */
int unwind_live__stack(struct unwinder *u, pid_t pid, const __u64 regs[UREG_NR],
		       struct unwind_frame *out, size_t max);

/*
 * A word of the target's memory to read as another value: a return
 * address a uretprobe replaced with its trampoline (the [uprobes] page),
 * at the stack slot the kernel recorded, and the address it replaced.
 */
struct unwind_patch {
	__u64 addr;
	__u64 value;
};

/* unwind_live__stack, reading each patches[i].addr as patches[i].value. */
int unwind_live__stack_patched(struct unwinder *u, pid_t pid, const __u64 regs[UREG_NR],
			       const struct unwind_patch *patches, size_t nr_patches,
			       struct unwind_frame *out, size_t max);

/*
 * unwind_live__stack_patched, and each frame's registers (unwinder__unwind_regs)
 * in frame_regs when it is not NULL.
 */
int unwind_live__stack_regs(struct unwinder *u, pid_t pid, const __u64 regs[UREG_NR],
			    const struct unwind_patch *patches, size_t nr_patches,
			    struct unwind_frame *out, __u64 (*frame_regs)[UREG_NR], size_t max);

#endif /* IPCRACE_UNWIND_LIVE_H */
