// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Stops a traced process before it returns to userspace where userspace
 * must act first: after a shared mmap (a word there may need a breakpoint
 * before the process touches it), after exec, in a new process at its
 * first return from fork. Which of these is on is stop_wanted, the union
 * of what the consumers in tracer/ asked for (tracer/stops.c).
 */
#include "stops.bpf.h"

enum {
	NR_mmap = 9,
	NR_shmat = 30,
	NR_clone = 56,
	NR_fork = 57,
	NR_vfork = 58,
	NR_execve = 59,
	NR_execveat = 322,
	NR_clone3 = 435,
};

/* STOP_ON_* bits; flipped at run time by tracer/stops.c (stops__want). */
__u32 stop_wanted;

#define IPCRACE_VM_SHARED 0x00000008UL
#define IPCRACE_VM_WRITE 0x00000002UL

/* What an mmap / shmat result is: a shared file mapping, writable or not. */
struct shared_lookup {
	bool shared_file;
	bool writable;
};

static long vma_is_shared_file(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct shared_lookup *l = data;
	unsigned long flags = BPF_CORE_READ(vma, vm_flags);

	/* MAP_SHARED | MAP_ANONYMOUS and SysV shm have a (shmem) file too */
	l->shared_file = BPF_CORE_READ(vma, vm_file) && (flags & IPCRACE_VM_SHARED);
	l->writable = flags & IPCRACE_VM_WRITE;
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_stop, struct pt_regs *regs, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 want = stop_wanted, tgid = id >> 32, reason = 0;
	__u64 addr = 0;
	long nr;

	if (!want)
		return 0;
	if (!is_traced(tgid))
		return 0;
	nr = BPF_CORE_READ(regs, orig_ax);
	switch (nr) {
	case NR_mmap:
	case NR_shmat:
		if ((want & (STOP_ON_SHARED_MAP | STOP_ON_SHARED_WRITE)) &&
		    (ret >= 0 || ret < -4095)) {
			struct shared_lookup l = {};

			if (bpf_find_vma(bpf_get_current_task_btf(), ret, vma_is_shared_file,
					 &l, 0) == 0 && l.shared_file &&
			    ((want & STOP_ON_SHARED_MAP) ||
			     ((want & STOP_ON_SHARED_WRITE) && l.writable)))
				reason = ARM_MAP;
		}
		addr = ret;
		break;
	case NR_execve:
	case NR_execveat:
		if ((want & STOP_ON_EXEC) && ret == 0)
			reason = ARM_EXEC;
		break;
	case NR_clone:
	case NR_fork:
	case NR_vfork:
	case NR_clone3:
		/* the child's return; a new thread inherits its creator's slots */
		if ((want & STOP_ON_FORK) && ret == 0 && (__u32)id == tgid)
			reason = ARM_FORK;
		break;
	default:
		break;
	}
	if (reason)
		stop_current(reason, addr);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
