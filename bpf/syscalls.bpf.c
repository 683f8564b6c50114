// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Raw syscall tracepoints: one sys_enter and one sys_exit program for every
 * syscall, filtered to the traced processes first. Arguments of interesting
 * syscalls are stashed at entry per thread and events emitted at exit with
 * the result: address-space changes (so identities and symbols stay right)
 * and, in ipc.bpf.h, the IPC the happens-before order is built from.
 */
#include "common.bpf.h"
#include "key.bpf.h"
#include "syscalls.bpf.h"

/*
 * A traced thread's syscall from entry to exit, in task local storage: the
 * exit of every syscall on the machine looks it up, and a thread that
 * never had one (untraced) has no storage at all, which is cheaper to find
 * out than a hash miss; a traced one pays no hash update and delete.
 * nr is -1 between syscalls.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct syscall_args);
} pending_syscalls SEC(".maps");

#define SYSCALL_NONE ((__u64)-1)

/*
 * The path record (for code mappings) is sent before the event is
 * reserved, so it comes first in the stream.
 */
IPCRACE_SUBPROG int emit_mapping(__u16 type, __u64 addr, __u64 len, __u64 arg1)
{
	struct ipcrace_key key = {};
	struct ipcrace_event *e;

	layout_changed(current_tgid());
	if (type != EV_MUNMAP && type != EV_SHMDT)
		resolve_mapping_key(&key, addr, arg1);
	e = event_reserve(type, OBJ_MEMORY);
	if (!e)
		return 0;
	e->addr = addr;
	e->arg0 = len;
	e->arg1 = arg1;
	e->key = key;
	if (key.space == KEY_FILE)
		record_submit_now(e);
	else
		record_submit(e);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct syscall_args a = {}, *slot;
	struct pt_regs r;

	if (!syscall_is_interesting(id) || !is_traced(current_tgid()))
		return 0;
	/* one read of the registers: a helper call per register cost more */
	if (bpf_probe_read_kernel(&r, sizeof(r), regs))
		return 0;
	a.nr = id;
	a.args[0] = r.di;
	a.args[1] = r.si;
	a.args[2] = r.dx;
	a.args[3] = r.r10;
	a.args[4] = r.r8;
	a.args[5] = r.r9;
	if (syscall_enter(ctx, &a) != 0)
		return 0;
	slot = bpf_task_storage_get(&pending_syscalls, bpf_get_current_task_btf(), NULL,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (slot)
		*slot = a;
	else
		note_loss();	/* out of memory: the exit's event is lost */
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct syscall_args *a;

	a = bpf_task_storage_get(&pending_syscalls, bpf_get_current_task_btf(), NULL, 0);
	if (!a || a->nr == SYSCALL_NONE)
		return 0;
	switch (a->nr) {
	case NR_mmap:
		if (ret >= 0 || ret < -4095)
			emit_mapping(EV_MMAP, ret, a->args[1], a->args[2] | a->args[3] << 32);
		break;
	case NR_munmap:
		if (ret == 0)
			emit_mapping(EV_MUNMAP, a->args[0], a->args[1], 0);
		break;
	case NR_mremap:
		if (ret >= 0 || ret < -4095)
			emit_mapping(EV_MREMAP, ret, a->args[2], a->args[0]);
		break;
	case NR_shmat:
		if (ret >= 0 || ret < -4095)
			emit_mapping(EV_SHMAT, ret, 0, a->args[0]);
		break;
	case NR_shmdt:
		if (ret == 0)
			emit_mapping(EV_SHMDT, a->args[0], 0, 0);
		break;
	default:
		syscall_exit(ctx, a, ret);
		break;
	}
	a->nr = SYSCALL_NONE;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
