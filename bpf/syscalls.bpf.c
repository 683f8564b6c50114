// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Raw syscall tracepoints: one sys_enter and one sys_exit program for every
 * syscall, filtered to the traced processes first. Arguments of interesting
 * syscalls are stashed at entry per thread and events emitted at exit with
 * the result: address-space changes (so identities and symbols stay right)
 * and, in ipc.bpf.h, the IPC the happens-before order is built from. The
 * exit also stops a traced process where userspace must act first
 * (stops.bpf.h). These run for every syscall on the host: an untraced
 * thread's exit costs one task storage lookup, its entry a switch on the
 * number and, for an interesting one, a lookup of its process.
 */
#include "common.bpf.h"
#include "key.bpf.h"
#include "syscalls.bpf.h"
#include "stops.bpf.h"

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
 * reserved, so it comes first in the stream. Returns what the new
 * mapping is (MAPPING_*, for the stops).
 */
IPCRACE_SUBPROG int emit_mapping(__u16 type, __u64 addr, __u64 len, __u64 arg1)
{
	struct ipcrace_key key = {};
	struct ipcrace_event *e;
	int what = 0;

	layout_changed(current_tgid());
	if (type != EV_MUNMAP && type != EV_SHMDT)
		what = resolve_mapping_key(&key, addr, arg1);
	e = event_reserve(type, OBJ_MEMORY);
	if (!e)
		return what;
	e->addr = addr;
	e->arg0 = len;
	e->arg1 = arg1;
	e->key = key;
	if (key.space == KEY_FILE)
		record_submit_now(e);
	else
		record_submit(e);
	return what;
}

/*
 * sys_enter's body; direct: channels named with direct loads (a constant,
 * one per variant below).
 */
static __always_inline int syscall_entry(void *ctx, long id, bool direct)
{
	struct task_struct *task;
	struct syscall_args *a;
	struct pt_regs *regs;

	if (!syscall_is_interesting(id))
		return 0;
	task = bpf_get_current_task_btf();
	/*
	 * A thread with a slot is one of a traced process (only a traced
	 * one gets it, and a process leaves the traced set only once it
	 * has exited): the hash lookup of its process is made once, at its
	 * first interesting syscall. The arguments go straight into the
	 * slot, with no copy on the stack: ipc_enter is inlined here and
	 * calls emit_chan, which calls capture_stack, and the three frames
	 * must stay within the verifier's 512 bytes.
	 */
	a = bpf_task_storage_get(&pending_syscalls, task, NULL, 0);
	if (!a) {
		if (!is_traced(task->tgid))
			return 0;
		a = bpf_task_storage_get(&pending_syscalls, task, NULL,
					 BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!a) {
			note_loss();	/* out of memory: the syscall's events are lost */
			return 0;
		}
	}
	/*
	 * The registers as the syscall entry saved them (the tracepoint's
	 * own argument, as a typed pointer): loaded directly, no helper call
	 * per register or for the block.
	 */
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	a->nr = id;
	a->args[0] = regs->di;
	a->args[1] = regs->si;
	a->args[2] = regs->dx;
	a->args[3] = regs->r10;
	a->args[4] = regs->r8;
	a->args[5] = regs->r9;
	for (int i = 0; i < 4; i++)
		a->extra[i] = 0;
	a->stack_id = 0;
	if (syscall_enter(ctx, a, direct) != 0)
		a->nr = SYSCALL_NONE;
	return 0;
}

/*
 * Two variants of one program; userspace loads one (tracer/bpf_objects.c):
 * sys_enter where the kernel has bpf_rdonly_cast (Linux 6.2), which names
 * channels with direct loads, else sys_enter_probe, with probe reads.
 */
SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	return syscall_entry(ctx, id, true);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_probe, struct pt_regs *regs, long id)
{
	return syscall_entry(ctx, id, false);
}

static __always_inline bool syscall_is_fork(long nr)
{
	return nr == NR_clone || nr == NR_fork || nr == NR_vfork || nr == NR_clone3;
}

/*
 * A syscall exit of a thread with no pending syscall storage: untraced, or
 * traced with no interesting syscall yet, a new process at its first return
 * from fork among them (storage is not inherited). Only with STOP_ON_FORK,
 * and only for a result of 0, is it looked at: a traced thread gets its
 * storage here, so that it passes once, and a new process is stopped.
 */
static __always_inline void exit_without_storage(struct pt_regs *regs)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct syscall_args *a;

	if (!is_traced(id >> 32))
		return;
	a = bpf_task_storage_get(&pending_syscalls, bpf_get_current_task_btf(), NULL,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (a)
		a->nr = SYSCALL_NONE;
	/* the child's return; a new thread inherits its creator's slots */
	if ((__u32)id == id >> 32 && syscall_is_fork(BPF_CORE_READ(regs, orig_ax)))
		stop_current(ARM_FORK, 0);
}

/* mmap, mremap, shmat's result: an address, not an error */
static __always_inline bool mapped(long ret)
{
	return ret >= 0 || ret < -4095;
}

/* A mapping event, then the stop it may call for (the event comes first in the stream). */
static __always_inline void map_exit(__u16 type, long ret, __u64 len, __u64 arg1)
{
	int what = emit_mapping(type, ret, len, arg1);

	stop_after_map(ret, what & MAPPING_SHARED_FILE, what & MAPPING_WRITABLE);
}

/* set at fork, cleared by exec (include/linux/sched.h) */
#define IPCRACE_PF_FORKNOEXEC 0x00000040

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct syscall_args *a;

	a = bpf_task_storage_get(&pending_syscalls, task, NULL, 0);
	if (!a) {
		/* a process that exec'd since its fork is no new one: no lookup */
		if (ret == 0 && (stop_wanted & STOP_ON_FORK) &&
		    (task->flags & IPCRACE_PF_FORKNOEXEC))
			exit_without_storage(regs);
		return 0;
	}
	if (a->nr == SYSCALL_NONE)
		return 0;
	switch (a->nr) {
	case NR_mmap:
		if (mapped(ret))
			map_exit(EV_MMAP, ret, a->args[1], a->args[2] | a->args[3] << 32);
		break;
	case NR_munmap:
		if (ret == 0)
			emit_mapping(EV_MUNMAP, a->args[0], a->args[1], 0);
		break;
	case NR_mremap:
		if (mapped(ret))
			emit_mapping(EV_MREMAP, ret, a->args[2], a->args[0]);
		break;
	case NR_shmat:
		if (mapped(ret))
			map_exit(EV_SHMAT, ret, 0, a->args[0]);
		break;
	case NR_shmdt:
		if (ret == 0)
			emit_mapping(EV_SHMDT, a->args[0], 0, 0);
		break;
	case NR_execve:
	case NR_execveat:
		stop_after_exec(ret);
		break;
	default:
		syscall_exit(ctx, a, ret);
		break;
	}
	a->nr = SYSCALL_NONE;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
