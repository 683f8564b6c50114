// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Process lifecycle: keeps the set of traced processes in the kernel, so no
 * child escapes between its fork and userspace noticing it, and emits the
 * fork/exec/exit events the happens-before order is built from.
 */
#include "common.bpf.h"
#include "key.bpf.h"
#include "file_path.bpf.h"

/*
 * --cgroup / --unit: the traced cgroup's id (0: none), set before load.
 * Every process in it or below it is traced, including those that enter
 * it later: moved there (cgroup_attach_task) or forked into it by an
 * untraced parent (clone3 CLONE_INTO_CGROUP). Forks of traced processes
 * are followed as always, wherever they go.
 */
const volatile __u64 trace_cgroup_id;
/* ipcrace itself, never traced; its guardian's tgid is set after load */
const volatile __u32 self_tgid;
__u32 guardian_tgid;

#define CGROUP_DEPTH_MAX 16	/* levels walked up from a cgroup to find ours */

static long cgroup_step(__u64 i, void *data)
{
	struct cgroup **cg = data;
	struct cgroup_subsys_state *parent;

	if (!*cg || BPF_CORE_READ(*cg, kn, id) == trace_cgroup_id)
		return 1;
	parent = BPF_CORE_READ(*cg, self.parent);
	/* self is struct cgroup's first member: the css is the cgroup */
	*cg = parent ? (void *)parent - bpf_core_field_offset(struct cgroup, self) : NULL;
	return 0;
}

/* True when cg is the traced cgroup or below it. */
static __always_inline bool cgroup_is_traced(struct cgroup *cg)
{
	bpf_loop(CGROUP_DEPTH_MAX, cgroup_step, &cg, 0);
	return cg && BPF_CORE_READ(cg, kn, id) == trace_cgroup_id;
}

/* Marks tgid traced and tells userspace, which probes and describes it. */
static __always_inline void join_traced(__u32 tgid)
{
	struct ipcrace_join j = { .hdr = { .kind = IPCRACE_REC_JOIN, .size = sizeof(j) },
				  .pid = tgid };
	__u8 one = 1;

	if (tgid == self_tgid || tgid == guardian_tgid || is_traced(tgid))
		return;
	if (bpf_map_update_elem(&traced, &tgid, &one, BPF_NOEXIST))
		return;
	layout_changed(tgid);
	if (bpf_ringbuf_output(&events, &j, sizeof(j), BPF_RB_FORCE_WAKEUP))
		count(CNT_LOST_EVENTS);
}

/*
 * A task moved into a cgroup (one call per task). dst_cgrp may be on a v1
 * hierarchy of a hybrid system, whose ids are another numbering: only the
 * default (v2) hierarchy, the one the task's dfl_cgrp is on, counts.
 */
SEC("raw_tp/cgroup_attach_task")
int BPF_PROG(cgroup_attach_task, struct cgroup *dst_cgrp, const char *path,
	     struct task_struct *task, bool threadgroup)
{
	if (!trace_cgroup_id)
		return 0;
	if (BPF_CORE_READ(dst_cgrp, root) != BPF_CORE_READ(task, cgroups, dfl_cgrp, root))
		return 0;
	if (cgroup_is_traced(dst_cgrp))
		join_traced(BPF_CORE_READ(task, tgid));
	return 0;
}

/*
 * Runs in the parent after the child is fully set up and before it can run:
 * a release-type event, so everything the parent did before is ordered
 * before anything the child does.
 */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	/* the parent is the current task (kernel_clone): no read before the filter */
	__u32 ptgid = current_tgid(), ctgid, ctid;
	struct ipcrace_event *e;
	__u8 one = 1;

	if (!is_traced(ptgid)) {
		if (!trace_cgroup_id)
			return 0;
		/* forked straight into the traced cgroup by an untraced parent */
		ctgid = BPF_CORE_READ(child, tgid);
		if (ctgid != ptgid && cgroup_is_traced(BPF_CORE_READ(child, cgroups, dfl_cgrp)))
			join_traced(ctgid);
		return 0;
	}
	ctgid = BPF_CORE_READ(child, tgid);
	ctid = BPF_CORE_READ(child, pid);
	if (ctgid != ptgid) {
		bpf_map_update_elem(&traced, &ctgid, &one, BPF_ANY);
		/* a new process (maybe a reused pid): no cached key applies */
		layout_changed(ctgid);
	}

	e = event_reserve(ctgid == ptgid ? EV_THREAD_SPAWN : EV_FORK, OBJ_NONE);
	if (!e)
		return 0;
	e->arg0 = ctgid;
	e->arg1 = ctid;
	record_submit(e);
	return 0;
}

struct image_lookup {
	__u64 start;
	__u64 end;
	__u64 pgoff;
	struct file *file;
};

static long vma_to_image(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct image_lookup *l = data;

	l->start = BPF_CORE_READ(vma, vm_start);
	l->end = BPF_CORE_READ(vma, vm_end);
	l->pgoff = BPF_CORE_READ(vma, vm_pgoff) << 12;
	l->file = BPF_CORE_READ(vma, vm_file);
	return 0;
}

/*
 * The kernel maps the new executable itself, with no mmap call to see: its
 * text mapping is sent as an EV_MMAP with EVF_EXEC_IMAGE, with the path,
 * so a process that is gone before userspace reads /proc/PID/maps (a short
 * static binary) still symbolizes.
 */
static __always_inline void emit_exec_image(void)
{
	/* current is the exec'ing task; the raw_tp argument is no trusted pointer */
	struct task_struct *task = bpf_get_current_task_btf();
	struct image_lookup l = {};
	struct ipcrace_event *e;
	__u64 start_code = BPF_CORE_READ(task, mm, start_code);

	if (bpf_find_vma(task, start_code, vma_to_image, &l, 0) != 0 || !l.file)
		return;
	emit_file_path(l.file);
	e = event_reserve(EV_MMAP, OBJ_MEMORY);
	if (!e)
		return;
	e->addr = l.start;
	e->arg0 = l.end - l.start;
	e->arg1 = 0x1 | 0x4;	/* PROT_READ | PROT_EXEC */
	e->flags |= EVF_EXEC_IMAGE;
	key_from_file(&e->key, l.file);
	e->key.c = l.pgoff;
	record_submit(e);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid)
{
	struct ipcrace_event *e;

	if (!is_traced(current_tgid()))
		return 0;
	layout_changed(current_tgid());
	emit_exec_image();
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
	/* p is the exiting current task (do_exit): its tgid without a read */
	__u32 tgid = current_tgid();
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
	if (group_dead) {
		bpf_map_delete_elem(&traced, &tgid);
		bpf_map_delete_elem(&layout_gen, &tgid);
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
