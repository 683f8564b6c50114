// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ipcrace hang`: a task iterator that writes, for every thread of the
 * processes userspace names in `hang_tgids` (or of every process when
 * hang_all is set), its state and its saved user registers. Reading them
 * this way changes nothing in the thread: no stop, no ptrace, no probe.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "hang.h"

#define PF_KTHREAD 0x00200000

const volatile bool hang_all;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} hang_tgids SEC(".maps");

/* The return addresses uretprobes hijacked on the thread's stack (hang.h). */
static void read_uret(struct task_struct *task, struct hang_task *rec)
{
	struct return_instance *ri;

	if (!bpf_core_field_exists(task->utask))
		return;
	ri = BPF_CORE_READ(task, utask, return_instances);
	for (int i = 0; i < HANG_URET_MAX && ri; i++) {
		rec->uret_slot[i] = BPF_CORE_READ(ri, stack);
		rec->uret_ret[i] = BPF_CORE_READ(ri, orig_ret_vaddr);
		rec->nr_uret = i + 1;
		ri = BPF_CORE_READ(ri, next);
	}
}

SEC("iter/task")
int hang_dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct hang_task rec = {};
	struct pt_regs *regs;
	__u32 tgid;

	if (!task)
		return 0;
	tgid = task->tgid;
	if (!hang_all && !bpf_map_lookup_elem(&hang_tgids, &tgid))
		return 0;
	rec.tgid = tgid;
	rec.tid = task->pid;
	rec.state = BPF_CORE_READ(task, __state);
	rec.kthread = !!(task->flags & PF_KTHREAD);
	rec.exit_state = BPF_CORE_READ(task, exit_state);
	__builtin_memcpy(rec.comm, task->comm, sizeof(rec.comm));
	rec.nr_switches = BPF_CORE_READ(task, nvcsw) + BPF_CORE_READ(task, nivcsw);
	/* an exited thread has no user state left to read */
	if (!rec.kthread && !rec.exit_state) {
		regs = (struct pt_regs *)bpf_task_pt_regs(task);
		if (regs) {
			rec.regs.ip = BPF_CORE_READ(regs, ip);
			rec.regs.sp = BPF_CORE_READ(regs, sp);
			rec.regs.bp = BPF_CORE_READ(regs, bp);
			rec.regs.bx = BPF_CORE_READ(regs, bx);
			rec.regs.r12 = BPF_CORE_READ(regs, r12);
			rec.regs.r13 = BPF_CORE_READ(regs, r13);
			rec.regs.r14 = BPF_CORE_READ(regs, r14);
			rec.regs.r15 = BPF_CORE_READ(regs, r15);
			rec.regs.ax = BPF_CORE_READ(regs, ax);
			rec.regs.cx = BPF_CORE_READ(regs, cx);
			rec.regs.dx = BPF_CORE_READ(regs, dx);
			rec.regs.si = BPF_CORE_READ(regs, si);
			rec.regs.di = BPF_CORE_READ(regs, di);
			rec.regs.r8 = BPF_CORE_READ(regs, r8);
			rec.regs.r9 = BPF_CORE_READ(regs, r9);
			rec.regs.r10 = BPF_CORE_READ(regs, r10);
			rec.regs.r11 = BPF_CORE_READ(regs, r11);
			rec.regs.orig_ax = BPF_CORE_READ(regs, orig_ax);
			rec.regs.flags = BPF_CORE_READ(regs, flags);
		}
		rec.fsbase = BPF_CORE_READ(task, thread.fsbase);
		read_uret(task, &rec);
	}
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
