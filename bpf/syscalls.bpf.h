/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Syscall numbers and per-syscall hooks used by syscalls.bpf.c (x86-64). */
#ifndef IPCRACE_SYSCALLS_BPF_H
#define IPCRACE_SYSCALLS_BPF_H

#include "common.bpf.h"
#include "file_path.bpf.h"
#include "signal.bpf.h"

enum {
	NR_mmap = 9,
	NR_munmap = 11,
	NR_mremap = 25,
	NR_shmat = 30,
	NR_shmdt = 67,
	NR_rt_sigaction = 13,
	NR_clone = 56,
	NR_fork = 57,
	NR_vfork = 58,
	NR_execve = 59,
	NR_execveat = 322,
	NR_clone3 = 435,
};

struct syscall_args {
	__u64 nr;
	__u64 args[6];
	__u64 extra[4];		/* state read at entry (e.g. a channel's identity) */
	__u64 stack_id;		/* stack of a lock attempt, repeated on its acquired event */
};

#include "ipc.bpf.h"

static __always_inline bool syscall_is_interesting(long nr)
{
	switch (nr) {
	case NR_mmap:
	case NR_munmap:
	case NR_mremap:
	case NR_shmat:
	case NR_shmdt:
	case NR_rt_sigaction:
	case NR_execve:
	case NR_execveat:
		return true;
	default:
		return ipc_syscall_is_interesting(nr);
	}
}

/*
 * Entry hook for syscalls other than the mapping ones: emit release-type
 * events, read state that is only valid at entry. Returns 0 to keep the
 * arguments for the exit hook, non-zero when nothing is needed at exit.
 * direct: channels are named with direct loads (chan_direct.bpf.h).
 */
static __always_inline int syscall_enter(void *ctx, struct syscall_args *a, bool direct)
{
	switch (a->nr) {
	case NR_mmap:
	case NR_munmap:
	case NR_mremap:
	case NR_shmat:
	case NR_shmdt:
	case NR_execve:
	case NR_execveat:
		return 0;
	case NR_rt_sigaction:
		/* a new action: what the thread did so far is before its handler's runs */
		if (a->args[1])
			emit_signal(EV_SIGNAL_SEND, current_tgid(), a->args[0], SIGNAL_BY_SIGACTION);
		return 1;
	default:
		return ipc_enter(ctx, a, direct);
	}
}

/* Exit hook: acquire-type events with the result. */
static __always_inline void syscall_exit(void *ctx, struct syscall_args *a, long ret)
{
	ipc_exit(ctx, a, ret);
}

struct mapping_lookup {
	__u64 addr;
	struct ipcrace_key key;
	struct file *file;
	unsigned long flags;
};

static long vma_to_mapping_key(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct mapping_lookup *l = data;
	struct file *file = BPF_CORE_READ(vma, vm_file);

	l->flags = BPF_CORE_READ(vma, vm_flags);
	if (file) {
		key_from_file(&l->key, file);
		l->key.c = BPF_CORE_READ(vma, vm_pgoff) << 12;
		l->file = file;
	}
	return 0;
}

#define IPCRACE_PROT_EXEC 0x4
#define IPCRACE_VM_WRITE 0x00000002UL
#define IPCRACE_VM_SHARED 0x00000008UL

/* What resolve_mapping_key found (for the stops, bpf/stops.bpf.h). */
#define MAPPING_SHARED_FILE	1	/* a shared file, shmem (shared anonymous, SysV) included */
#define MAPPING_WRITABLE	2

/*
 * The file behind a new mapping (shared or not): KEY_FILE(dev, ino, file
 * offset). Code mappings also get their path sent, for symbolization.
 * Returns MAPPING_* bits.
 */
static __always_inline int resolve_mapping_key(struct ipcrace_key *key, __u64 addr, __u64 prot)
{
	struct mapping_lookup l = { .addr = addr };
	int what = 0;

	if (bpf_find_vma(bpf_get_current_task_btf(), addr, vma_to_mapping_key, &l, 0) != 0)
		return 0;
	*key = l.key;
	if (l.file && (prot & IPCRACE_PROT_EXEC))
		emit_file_path(l.file);
	if (l.file && (l.flags & IPCRACE_VM_SHARED))
		what |= MAPPING_SHARED_FILE;
	if (l.flags & IPCRACE_VM_WRITE)
		what |= MAPPING_WRITABLE;
	return what;
}

#endif /* IPCRACE_SYSCALLS_BPF_H */
