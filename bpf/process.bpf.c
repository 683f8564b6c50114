// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Process lifecycle: keeps the set of traced processes in the kernel, so no
 * child escapes between its fork and userspace noticing it, and emits the
 * fork/exec/exit events the happens-before order is built from.
 */
#include "common.bpf.h"

/*
 * Runs in the parent after the child is fully set up and before it can run:
 * a release-type event, so everything the parent did before is ordered
 * before anything the child does.
 */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 ctid = BPF_CORE_READ(child, pid);
	struct ipcrace_event *e;
	__u8 one = 1;

	if (!is_traced(ptgid))
		return 0;
	if (ctgid != ptgid)
		bpf_map_update_elem(&traced, &ctgid, &one, BPF_ANY);

	e = event_reserve(ctgid == ptgid ? EV_THREAD_SPAWN : EV_FORK, OBJ_NONE);
	if (!e)
		return 0;
	e->arg0 = ctgid;
	e->arg1 = ctid;
	record_submit(e);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid)
{
	struct ipcrace_event *e;

	if (!is_traced(current_tgid()))
		return 0;
	e = event_reserve(EV_EXEC, OBJ_NONE);
	if (!e)
		return 0;
	e->arg0 = old_pid;
	record_submit_now(e);
	return 0;
}

/*
 * One per exiting thread. signal->live is decremented before this
 * tracepoint, so 0 means the whole process is gone (older kernels do not
 * pass group_dead as an argument).
 */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct ipcrace_event *e;
	bool group_dead;

	if (!is_traced(tgid))
		return 0;
	group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
	e = event_reserve(EV_EXIT, OBJ_NONE);
	if (e) {
		e->arg0 = BPF_CORE_READ(p, exit_code);
		if (group_dead)
			e->flags |= EVF_GROUP_DEAD;
		record_submit(e);
	}
	if (group_dead)
		bpf_map_delete_elem(&traced, &tgid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
