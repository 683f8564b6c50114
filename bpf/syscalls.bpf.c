// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Raw syscall tracepoints: one sys_enter and one sys_exit program for every
 * syscall, filtered to the traced processes first. Arguments of interesting
 * syscalls are stashed at entry per thread and events emitted at exit with
 * the result: address-space changes (so identities and symbols stay right)
 * and, in ipc.bpf.h, the IPC the happens-before order is built from.
 */
#include "common.bpf.h"
#include "syscalls.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct syscall_args);
} pending_syscalls SEC(".maps");

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
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct syscall_args a = {};

	if (!syscall_is_interesting(id) || !is_traced(current_tgid()))
		return 0;
	a.nr = id;
	a.args[0] = BPF_CORE_READ(regs, di);
	a.args[1] = BPF_CORE_READ(regs, si);
	a.args[2] = BPF_CORE_READ(regs, dx);
	a.args[3] = BPF_CORE_READ(regs, r10);
	a.args[4] = BPF_CORE_READ(regs, r8);
	a.args[5] = BPF_CORE_READ(regs, r9);
	if (syscall_enter(ctx, &a) == 0)
		bpf_map_update_elem(&pending_syscalls, &tid, &a, BPF_ANY);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct syscall_args *a;

	a = bpf_map_lookup_elem(&pending_syscalls, &tid);
	if (!a)
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
	bpf_map_delete_elem(&pending_syscalls, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
