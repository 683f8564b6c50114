// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The happens-before edges of the thread and process lifecycle (hb.h):
 * fork, thread spawn, pthread_create's and pthread_join's returns, exit,
 * the wait that reaped a process, exec. hb.c dispatches the events.
 */
#include "hb_internal.h"

/* --- threads and processes ------------------------------------------------- */

/* fork / thread spawn: the child starts from the parent's clock. */
int spawn(struct hb *hb, const struct ipcrace_event *e, __u32 parent, bool fork)
{
	__u32 child, proc;
	int err;

	if (fork) {
		/* a new process, even if its pid was used before */
		err = proc_new(hb, (__u32)e->arg0, NULL, &proc);
	} else {
		proc = hb->threads[parent].proc;
		err = 0;
	}
	if (err)
		return err;
	/* arg1 = child tid; a fork event from an older tracer may name only the pid */
	err = thread_new(hb, (__u32)(e->arg1 ? e->arg1 : e->arg0), proc, &child);
	if (err)
		return err;
	err = vclock__join(&hb->threads[child].vc, &hb->threads[parent].vc);
	if (err)
		return err;
	if (!fork)
		hb->threads[parent].spawned = child;
	return hb_thread_tick(hb, parent);
}

/* pthread_create returned: its pthread_t names the thread it spawned. */
int thread_created(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct hb_thread *th = &hb->threads[t];
	struct ipcrace_key k = id_key(th->proc, e->arg0);
	__u32 child = th->spawned;

	th->spawned = HB_THREAD_NONE;
	if (e->result != 0 || child == HB_THREAD_NONE)
		return 0;
	return keymap__set(hb->pthreads, &k, child);
}

/*
 * pthread_join returned: the joined thread ran its last user instruction.
 * Its exit event may still be on its way (the kernel wakes the joiner when
 * it clears the tid, before the exit tracepoint), so take its clock as it is.
 */
int thread_joined(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct ipcrace_key k = id_key(hb->threads[t].proc, e->arg0);
	__u64 joined;

	if (e->result != 0 || !keymap__get(hb->pthreads, &k, &joined))
		return 0;
	return vclock__join(&hb->threads[t].vc, &hb->threads[joined].vc);
}

int thread_exit(struct hb *hb, __u32 t)
{
	struct hb_thread *th = &hb->threads[t];
	int err;

	err = vclock__join(&hb->procs[th->proc].exit_vc, &th->vc);
	if (err)
		return err;
	th->exited = true;
	return 0;
}

/*
 * wait reaped pid: everything its threads did is before. Threads whose exit
 * event was lost are dead all the same: take their clocks and retire them.
 */
int process_reaped(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct vclock *vc = &hb->threads[t].vc;
	__u32 proc, i;
	int err;

	if (e->result < 0 || !proc_find(hb, (__u32)e->arg0, &proc))
		return 0;
	err = vclock__join(vc, &hb->procs[proc].exit_vc);
	for (i = 0; !err && i < hb->ids.nr; i++) {
		if (hb->threads[i].proc != proc || hb->threads[i].exited)
			continue;
		err = vclock__join(vc, &hb->threads[i].vc);
		hb->threads[i].exited = true;
	}
	return err;
}

/* exec: a new address space, same pid; its exit still covers the old threads. */
int process_exec(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	__u32 proc;
	int err;

	err = proc_new(hb, e->pid, &hb->procs[hb->threads[t].proc], &proc);
	if (err)
		return err;
	hb->threads[t].proc = proc;
	return 0;
}
