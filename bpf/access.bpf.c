// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Access probes (DESIGN.md, "Memory accesses: observed, not instrumented"):
 * one program attached at every planned instruction of the traced code
 * (tracer/access_plan.c plans them, tracer/access_probes.c attaches them in
 * groups with uprobe_multi links). The attach cookie is the probe's id: its
 * operands (access_ops) are evaluated from the registers before the
 * instruction runs, and each access becomes an EV_MEM_ACCESS with its size,
 * read/write/atomic and stack, the identity resolved as for locks.
 *
 * Budgets: a probe records its first access_budget hits in each thread and
 * then nothing more in that thread. Every hit still traps (a uprobe is an
 * int3, and most instructions are then single-stepped: two exceptions), so
 * once a probe's hits reach access_trap_cap, or two threads have spent
 * their budget at it, its group is flagged in access_group_capped and the
 * consumer woken: userspace detaches the group (its link) and the hot loop
 * stops trapping.
 */
#include "common.bpf.h"
#include "access_maps.h"

/* Set by userspace before load. */
const volatile __u32 access_budget = 64;
const volatile __u32 access_trap_cap = 1024;

/* Read by userspace (mapped .bss), written here. */
__u64 access_capped;		/* groups flagged so far: userspace compares with its count */
__u64 access_recorded;		/* accesses recorded */
__u64 access_own_stack;		/* accesses dropped: the thread's own stack */
__u64 access_over_budget;	/* hits past the thread's budget (trapped for nothing) */
__u64 access_group_capped[ACCESS_GROUPS_MAX];	/* 64 bits: BPF's compare-and-swap */

/* Threads that must spend their budget at a probe before its group goes. */
#define SPENT_THREADS 2
/*
 * Below a thread's fsbase lie its static TLS blocks (glibc puts them at the
 * top of a thread's stack mapping): addresses this close under fsbase are
 * not taken for the thread's stack.
 */
#define TLS_RESERVE (16u << 10)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ACCESS_PROBES_MAX);
	__type(key, __u32);
	__type(value, struct access_probe_desc);
} access_ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ACCESS_PROBES_MAX);
	__type(key, __u32);
	__type(value, struct access_probe_hits);
} access_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, struct access_budget_key);
	__type(value, __u32);
} access_budgets SEC(".maps");

/* Per thread: where its stack is, and the part of it shared by pointer. */
struct access_thread {
	__u64 vm_lo, vm_hi;	/* the mapping holding its stack pointer */
	__u64 own_hi;		/* own stack: [vm_lo, own_hi) */
	__u64 esc_lo, esc_hi;	/* touched by AOP_FRAME operands: recorded */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct access_thread);
} access_threads SEC(".maps");

/*
 * enum access_reg -> index of the register in struct pt_regs (x86-64). A
 * switch, not a table: a static table in .rodata does not survive linking
 * the BPF objects into one (bpftool gen object).
 */
static __always_inline __u32 preg_index(__u8 reg)
{
	switch (reg) {
	case AREG_RAX: return 10;
	case AREG_RCX: return 11;
	case AREG_RDX: return 12;
	case AREG_RBX: return 5;
	case AREG_RSP: return 19;
	case AREG_RBP: return 4;
	case AREG_RSI: return 13;
	case AREG_RDI: return 14;
	case AREG_R8: return 9;
	case AREG_R9: return 8;
	case AREG_R10: return 7;
	case AREG_R11: return 6;
	case AREG_R12: return 3;
	case AREG_R13: return 2;
	case AREG_R14: return 1;
	case AREG_R15: return 0;
	default: return 0xff;	/* AREG_NONE, or AREG_RIP (handled by the caller) */
	}
}

#define PREG_NR 21	/* 8-byte slots in struct pt_regs */
#define PREG_FLAGS 18
#define PREG_SP 19
#define EFLAGS_DF (1u << 10)

static __always_inline __u64 reg_value(const __u64 *regs, __u8 reg)
{
	__u32 i = preg_index(reg);

	if (i >= PREG_NR)
		return 0;
	return regs[i];
}

static __always_inline void group_cap(__u32 group)
{
	if (group >= ACCESS_GROUPS_MAX)
		return;
	if (__sync_val_compare_and_swap(&access_group_capped[group], 0, 1) == 0) {
		struct ipcrace_rec r = { .kind = IPCRACE_REC_WAKE, .size = sizeof(r) };

		__sync_fetch_and_add(&access_capped, 1);
		bpf_ringbuf_output(&events, &r, sizeof(r), BPF_RB_FORCE_WAKEUP);
	}
}

struct access_stack_vma {
	__u64 lo, hi;
	bool found;
};

static long access_stack_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct access_stack_vma *s = data;

	s->lo = BPF_CORE_READ(vma, vm_start);
	s->hi = BPF_CORE_READ(vma, vm_end);
	s->found = true;
	return 0;
}

/* Brings t's stack bounds up to date for stack pointer sp. */
static __always_inline void thread_stack(struct access_thread *t, struct task_struct *task,
					 __u64 sp)
{
	struct access_stack_vma s = {};
	__u64 fsbase;

	if (sp >= t->vm_lo && sp < t->vm_hi)
		return;
	if (bpf_find_vma(task, sp, access_stack_vma_cb, &s, 0) || !s.found)
		return;
	t->vm_lo = s.lo;
	t->vm_hi = s.hi;
	t->own_hi = s.hi;
	fsbase = BPF_CORE_READ(task, thread.fsbase);
	if (fsbase > s.lo && fsbase <= s.hi)
		t->own_hi = fsbase - TLS_RESERVE > sp ? fsbase - TLS_RESERVE : sp;
}

static __always_inline void record_operand(struct pt_regs *ctx, const __u64 *regs, __u64 ip,
					   const struct access_operand *op,
					   struct access_thread *t, struct task_struct *task)
{
	__u64 addr, size = op->size, elem = op->size;
	struct ipcrace_event *e;
	bool own;

	addr = op->base == AREG_RIP ? ip + op->rip_delta : reg_value(regs, op->base);
	addr += reg_value(regs, op->index) * op->scale + (__s64)op->disp;
	if (op->seg == ASEG_FS)
		addr += BPF_CORE_READ(task, thread.fsbase);
	else if (op->seg == ASEG_GS)
		addr += BPF_CORE_READ(task, thread.gsbase);
	if (op->flags & AOP_REP) {
		__u64 count = reg_value(regs, AREG_RCX);

		if (!count)
			return;		/* a rep with rcx 0 touches nothing */
		size = elem * count;
		if (regs[PREG_FLAGS] & EFLAGS_DF)
			addr -= size - elem;
	}
	if (t) {
		if (op->flags & AOP_FRAME) {
			if (!t->esc_hi || addr < t->esc_lo)
				t->esc_lo = addr;
			if (addr + size > t->esc_hi)
				t->esc_hi = addr + size;
		} else {
			own = addr >= t->vm_lo && addr < t->own_hi;
			if (own && !(addr >= t->esc_lo && addr < t->esc_hi)) {
				__sync_fetch_and_add(&access_own_stack, 1);
				return;
			}
		}
	}
	e = event_reserve(EV_MEM_ACCESS, OBJ_MEMORY);
	if (!e)
		return;
	e->addr = addr;
	e->arg0 = ip + op->ip_delta;
	e->arg1 = size;
	e->flags |= EVF_PROBE;
	if (op->flags & AOP_WRITE)
		e->flags |= EVF_WRITE;
	if (op->flags & AOP_READ)
		e->flags |= EVF_READ;
	if (op->flags & AOP_ATOMIC)
		e->flags |= EVF_ATOMIC;
	resolve_key(e, addr);
	/*
	 * Frame 0 is the end of the instruction, as a watchpoint hit reports
	 * it (the symbolizer's "return address - 1" lands inside it): the
	 * same access seen both ways has one stack, and one report.
	 */
	e->stack_id = capture_stack(ctx, ip + op->rip_delta, 0);
	__sync_fetch_and_add(&access_recorded, 1);
	record_submit(e);
}

SEC("uprobe")
int access_probe(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), n, ip;
	struct access_budget_key bk = { .tid = (__u32)id };
	struct task_struct *task;
	struct access_probe_desc *d;
	struct access_probe_hits *h;
	struct access_thread *t;
	__u64 regs[PREG_NR];
	__u32 probe, zero = 0, *used;

	if (!is_traced(id >> 32))
		return 0;
	probe = bpf_get_attach_cookie(ctx);
	d = bpf_map_lookup_elem(&access_ops, &probe);
	h = bpf_map_lookup_elem(&access_hits, &probe);
	if (!d || !h)
		return 0;
	n = __sync_fetch_and_add(&h->hits, 1) + 1;
	if (n == access_trap_cap)
		group_cap(d->group);
	bk.probe = probe;
	used = bpf_map_lookup_elem(&access_budgets, &bk);
	if (!used) {
		bpf_map_update_elem(&access_budgets, &bk, &zero, BPF_NOEXIST);
		used = bpf_map_lookup_elem(&access_budgets, &bk);
		if (!used)
			return 0;
	}
	if (*used >= access_budget) {
		__sync_fetch_and_add(&access_over_budget, 1);
		return 0;
	}
	*used += 1;
	if (*used == access_budget &&
	    __sync_add_and_fetch(&h->threads_spent, 1) == SPENT_THREADS)
		group_cap(d->group);

	if (bpf_probe_read_kernel(regs, sizeof(regs), ctx))
		return 0;
	ip = bpf_get_func_ip(ctx);
	task = bpf_get_current_task_btf();
	t = bpf_task_storage_get(&access_threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (t)
		thread_stack(t, task, regs[PREG_SP]);
	if (d->nr_ops > 0)
		record_operand(ctx, regs, ip, &d->ops[0], t, task);
	if (d->nr_ops > 1)
		record_operand(ctx, regs, ip, &d->ops[1], t, task);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
