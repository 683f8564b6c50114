// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Access probes (DESIGN.md, "Memory accesses: observed, not instrumented"):
 * one program attached at every planned instruction of the traced code
 * (tracer/access_plan.c plans them, tracer/access_probes.c attaches them in
 * groups with uprobe_multi links). The attach cookie is the probe's id: its
 * operands (access_ops) are evaluated from the registers at the probe, and
 * each access becomes an EV_MEM_ACCESS with its size, read/write/atomic and
 * stack, the identity resolved as for locks. A plain access is recorded
 * before its instruction runs (a release store then never comes after the
 * acquire it let win); an atomic one after, by a probe at the next
 * instruction (an acquire never comes before the release it waited for).
 *
 * Budgets: a probe records its first access_budget plain accesses in each
 * thread and then no plain access more in that thread. Atomic accesses
 * (LOCK-prefixed, XCHG) spend no budget: they are synchronization, and a
 * lock's acquire lost to a spin that spent the budget orders nothing. One
 * that repeats the thread's last atomic record at the probe (same address,
 * no event reserved by anyone since) is not recorded: the analyzer's
 * clocks are what they were. Every hit still traps (a uprobe is an int3,
 * and most instructions are then single-stepped: two exceptions), so once
 * a plain probe's hits reach access_trap_cap, or two threads have spent
 * their budget at it, its group is flagged in access_group_capped and the
 * consumer woken: userspace detaches the group (its link) and the hot loop
 * stops trapping. A probe with an atomic operand is never capped: an
 * atomic costs its trap for the whole run. A probe that touches only the
 * thread's own frame (AOP_FRAME; the planner groups them apart) goes at
 * its first hit past the budget of a thread that is its process's only
 * one: no other thread can touch that frame, so the traps after are for
 * nothing (a hot loop in main over an escaped local: 4 x 1024 traps of
 * ~20 us, 80 ms, in a pipe ping-pong). A thread created later loses what
 * it would have recorded there (its own frame's accesses at that
 * instruction).
 */
#include "common.bpf.h"
#include "key.bpf.h"
#include "ustack.bpf.h"
#include "access.bpf.h"
#include "confirm.bpf.h"

/* Set by userspace before load. */
const volatile __u32 access_budget = 64;
const volatile __u32 access_trap_cap = 1024;

/* Read by userspace (mapped .bss), written here. */
__u64 access_capped;		/* groups flagged so far: userspace compares with its count */
__u64 access_frame_capped;	/* ... of them by the frame rule (a single thread spent) */
__u64 access_recorded;		/* accesses recorded */
__u64 access_own_stack;		/* accesses dropped: the thread's own stack */
__u64 access_over_budget;	/* hits past the thread's budget (trapped for nothing) */
__u64 access_sync_plain;	/* plain accesses to atomic words: recorded past the budget */
__u64 access_redundant;		/* atomic accesses repeating the thread's last one: not recorded */
__u64 access_post_deferred;	/* acquire loads left to their probe after them */
__u64 access_releases;		/* atomics' releases recorded before they ran */
__u64 access_releases_redundant;	/* ... repeating the thread's last one: not recorded */
__u64 access_shared_atomics;	/* shared words an atomic touched (access_atomic_shared) */
__u64 access_shared_learnt;	/* words a process learnt as atomic from another one's atomic */
/* Requests for a probe after an acquire load (access_maps.h); userspace serves them. */
__u64 access_post_nr;
__u32 access_post_req[ACCESS_POST_REQS_MAX];
__u64 access_group_capped[ACCESS_GROUPS_MAX];	/* 64 bits: BPF's compare-and-swap */
/* A thread's first hit at a probe: zeroes, off the BPF stack (512 bytes in all). */
__u64 access_budget_fresh[sizeof(struct access_budget) / 8];

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

/*
 * Per probe: the probe after it (its id + 1) that records its acquire
 * loads once they ran; 0 while there is none. Written by userspace.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ACCESS_PROBES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} access_post SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, struct access_budget_key);
	__type(value, struct access_budget);
} access_budgets SEC(".maps");

/*
 * Words an atomic touched, per process. A plain access to one is a C11
 * release store or acquire load (a test-and-set unlock, a flag):
 * synchronization, recorded past the budget like the atomics themselves.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, struct access_atomic_word);
	__type(value, __u8);
} access_atomic_words SEC(".maps");

/*
 * Words of shared objects an atomic touched, by identity (KEY_FILE: dev,
 * inode, offset rounded down to 8), in any traced process. A process that
 * only loads and stores a flag that another process exchanges (a mailbox
 * in shared memory) learns it from here at its first access: its loads
 * are then acquires, recorded after they ran and past the budget.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, struct ipcrace_key);
	__type(value, __u8);
} access_atomic_shared SEC(".maps");

/* An event to resolve a word's identity in, off the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ipcrace_event);
} access_key_scratch SEC(".maps");

/*
 * The registers at the probe, off the BPF stack (access_probe and
 * capture_stack share its 512 bytes). Uprobe programs do not nest on a CPU.
 */
struct access_regs {
	__u64 r[21];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct access_regs);
} access_regs_scratch SEC(".maps");

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
_Static_assert(sizeof(struct access_regs) == PREG_NR * 8, "access_regs holds a pt_regs");
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

/* Flags the group for its detach; true if this call did. */
static __always_inline bool group_cap(__u32 group)
{
	if (group >= ACCESS_GROUPS_MAX)
		return false;
	if (__sync_val_compare_and_swap(&access_group_capped[group], 0, 1) == 0) {
		struct ipcrace_rec r = { .kind = IPCRACE_REC_WAKE, .size = sizeof(r) };

		__sync_fetch_and_add(&access_capped, 1);
		bpf_ringbuf_output(&events, &r, sizeof(r), BPF_RB_FORCE_WAKEUP);
		return true;
	}
	return false;
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

static __always_inline struct access_atomic_word atomic_word(__u64 addr)
{
	struct access_atomic_word w = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.word = addr >> 3,
	};

	return w;
}

/* The word of key (resolved for an atomic's record) in access_atomic_shared. */
static __always_inline void shared_atomic_mark(const struct ipcrace_key *key)
{
	struct ipcrace_key w = *key;
	__u8 one = 1;

	if (w.space != KEY_FILE)
		return;
	w.c &= ~7ull;
	w.__pad = 0;
	if (bpf_map_lookup_elem(&access_atomic_shared, &w))
		return;
	if (!bpf_map_update_elem(&access_atomic_shared, &w, &one, BPF_NOEXIST))
		__sync_fetch_and_add(&access_shared_atomics, 1);
}

/*
 * Is the word at addr, which no atomic of this process touched, a shared
 * word another process's atomic did? Then it is one here too from now on
 * (w). Costs an identity lookup (cached per thread and process), only
 * once some shared word is known atomic.
 */
static __always_inline bool shared_atomic_learn(__u64 addr, const struct access_atomic_word *w)
{
	struct ipcrace_event *e;
	struct ipcrace_key k;
	__u32 zero = 0;
	__u8 one = 1;

	if (!access_shared_atomics)
		return false;
	e = bpf_map_lookup_elem(&access_key_scratch, &zero);
	if (!e)
		return false;
	e->pid = w->tgid;
	e->flags = 0;
	resolve_key(e, addr);
	if (e->key.space != KEY_FILE)
		return false;
	k = e->key;
	k.c &= ~7ull;
	k.__pad = 0;
	if (!bpf_map_lookup_elem(&access_atomic_shared, &k))
		return false;
	bpf_map_update_elem(&access_atomic_words, w, &one, BPF_ANY);
	__sync_fetch_and_add(&access_shared_learnt, 1);
	return true;
}

/*
 * Asks userspace once for a probe after the load operand slot of probe:
 * until it is there, the load is recorded before it runs.
 */
static __always_inline void ask_post(struct access_probe_hits *h, __u32 probe, int slot)
{
	struct ipcrace_rec r = { .kind = IPCRACE_REC_WAKE, .size = sizeof(r) };
	__u64 i;

	if (h->post_asked || __sync_val_compare_and_swap(&h->post_asked, 0, 1) != 0)
		return;
	i = __sync_fetch_and_add(&access_post_nr, 1);
	if (i >= ACCESS_POST_REQS_MAX)
		return;		/* userspace counts these as not served */
	access_post_req[i & (ACCESS_POST_REQS_MAX - 1)] = (probe << 1 | (slot & 1)) + 1;
	bpf_ringbuf_output(&events, &r, sizeof(r), BPF_RB_FORCE_WAKEUP);
}

/* What record_operand did. */
enum operand_done {
	OPD_NONE,	/* nothing: own stack, no budget, no room, an atomic's release */
	OPD_PLAIN,	/* recorded a plain access within the budget */
	OPD_SYNC,	/* recorded a plain access to an atomic word (no budget spent) */
	OPD_ATOMIC,	/* recorded an atomic access, or found it a repeat */
};

/* The address operand op names: segment base + base + index * scale + disp. */
static __always_inline __u64 operand_addr(const __u64 *regs, __u64 ip,
					  const struct access_operand *op,
					  struct task_struct *task)
{
	__u64 addr = op->base == AREG_RIP ? ip + op->rip_delta : reg_value(regs, op->base);

	addr += reg_value(regs, op->index) * op->scale + (__s64)op->disp;
	if (op->seg == ASEG_FS)
		addr += BPF_CORE_READ(task, thread.fsbase);
	else if (op->seg == ASEG_GS)
		addr += BPF_CORE_READ(task, thread.gsbase);
	return addr;
}

/*
 * The release half of an atomic RMW at ip + op->ip_delta, before it runs
 * (AOP_RELEASE): an EV_ATOMIC_RELEASE, unless it repeats the thread's last
 * one with nothing reserved or lost since (its clock is what it was: the
 * ring's producer position is where that release's record left it,
 * common.bpf.h), or the word is on the thread's own stack, or the RMW is
 * relaxed (it orders nothing). No stack: the analyzer only takes the
 * order from it.
 */
static __always_inline void record_release(const __u64 *regs, __u64 ip,
					   const struct access_operand *op,
					   struct access_thread *t, struct task_struct *task)
{
	struct access_atomic_word w;
	struct ipcrace_event *e;
	__u64 addr, now;

	if (op->flags & AOP_RELAXED)
		return;
	addr = operand_addr(regs, ip, op, task);
	if (t && addr >= t->vm_lo && addr < t->own_hi && !(addr >= t->esc_lo && addr < t->esc_hi))
		return;
	now = ring_pos();
	if (t && t->rel_pos && t->rel_addr == addr && t->rel_pos == now && !loss_unflagged()) {
		__sync_fetch_and_add(&access_releases_redundant, 1);
		return;
	}
	w = atomic_word(addr);
	if (!bpf_map_lookup_elem(&access_atomic_words, &w)) {
		__u8 one = 1;

		bpf_map_update_elem(&access_atomic_words, &w, &one, BPF_ANY);
	}
	e = event_reserve(EV_ATOMIC_RELEASE, OBJ_MEMORY);
	if (!e) {
		if (t)
			t->rel_pos = 0;
		return;
	}
	if (t) {
		t->rel_addr = addr;
		t->rel_pos = event_end_alone(now);
	}
	e->addr = addr;
	e->arg0 = ip + op->ip_delta;
	e->arg1 = op->size;
	e->flags |= EVF_PROBE | EVF_ATOMIC;
	resolve_key(e, addr);
	shared_atomic_mark(&e->key);
	__sync_fetch_and_add(&access_releases, 1);
	record_submit(e);
}

/*
 * Records one operand of the instruction at ip; a plain one past the
 * budget (plain_due false) only when an atomic touched its word. When the
 * access is in the trace now (recorded, or a redundant repeat of an
 * atomic record), its bytes go to t's seen range number slot.
 */
static __always_inline enum operand_done record_operand(struct pt_regs *ctx, const __u64 *regs,
							__u64 ip, const struct access_operand *op,
							struct access_thread *t,
							struct task_struct *task,
							struct access_budget *b, int slot,
							bool plain_due, __u32 probe,
							struct access_probe_hits *h)
{
	__u64 addr, size = op->size, elem = op->size, now = 0;
	enum operand_done done = OPD_PLAIN;
	struct access_atomic_word w;
	struct ipcrace_event *e;
	bool own;

	if (op->flags & AOP_RELEASE) {
		record_release(regs, ip, op, t, task);
		return OPD_NONE;
	}
	addr = operand_addr(regs, ip, op, task);
	if (op->flags & AOP_REP) {
		__u64 count = reg_value(regs, AREG_RCX);

		if (!count)
			return OPD_NONE;	/* a rep with rcx 0 touches nothing */
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
				return OPD_NONE;
			}
		}
	}
	w = atomic_word(addr);
	/* a candidate word (confirm.bpf.h): maybe hold here, before the access */
	if (!(op->flags & (AOP_ATOMIC | AOP_POST)))
		confirm_maybe_hold(&w, addr, size, ip + op->ip_delta, op->flags & AOP_WRITE);
	if (op->flags & AOP_ATOMIC) {
		done = OPD_ATOMIC;
		if (!bpf_map_lookup_elem(&access_atomic_words, &w)) {
			__u8 one = 1;

			bpf_map_update_elem(&access_atomic_words, &w, &one, BPF_ANY);
		}
		/*
		 * The same atomic access again with nothing reserved or lost
		 * since its record (the ring's producer position is where the
		 * record left it, common.bpf.h): it changes no clock.
		 */
		now = ring_pos();
		if (b->last_pos && b->last_addr == addr && b->last_pos == now && !loss_unflagged()) {
			__sync_fetch_and_add(&access_redundant, 1);
			goto seen;
		}
		b->last_addr = addr;
		b->last_pos = 0;	/* unknown until this access's record is in */
	} else if ((op->flags & AOP_ORDERED) || bpf_map_lookup_elem(&access_atomic_words, &w) ||
		   shared_atomic_learn(addr, &w)) {
		done = OPD_SYNC;
		/*
		 * The source names an ordered atomic: its word is one in this
		 * process now, even when only another process updates it
		 * atomically (a flag in shared memory): otherwise its acquire
		 * loads are recorded before they run, within the budget.
		 */
		if ((op->flags & AOP_ORDERED) && !bpf_map_lookup_elem(&access_atomic_words, &w)) {
			__u8 one = 1;

			bpf_map_update_elem(&access_atomic_words, &w, &one, BPF_ANY);
		}
		if (op->flags & AOP_POSTABLE) {
			__u32 *post = bpf_map_lookup_elem(&access_post, &probe);

			/*
			 * An acquire: recorded before it runs, it can come before
			 * the release it reads; the probe after it records it.
			 */
			if (post && *post) {
				__sync_fetch_and_add(&access_post_deferred, 1);
				goto seen;
			}
			ask_post(h, probe, slot);
		}
		__sync_fetch_and_add(&access_sync_plain, 1);
	} else if (!plain_due || (op->flags & AOP_POST)) {
		return OPD_NONE;	/* the probe after a load records acquires only */
	}
	e = event_reserve(EV_MEM_ACCESS, OBJ_MEMORY);
	if (!e)
		return OPD_NONE;
	if (done == OPD_ATOMIC)
		b->last_pos = event_end_alone(now);
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
	if (op->flags & AOP_RELAXED)
		e->flags |= EVF_RELAXED;
	if (op->flags & AOP_POST)
		e->flags |= EVF_AFTER_RUN;
	if (op->flags & AOP_ORDERED)
		e->flags |= EVF_ORDERED;
	resolve_key(e, addr);
	if (op->flags & (AOP_ATOMIC | AOP_ORDERED))
		shared_atomic_mark(&e->key);
	/*
	 * Frame 0 is the end of the instruction, as a watchpoint hit reports
	 * it (the symbolizer's "return address - 1" lands inside it): the
	 * same access seen both ways has one stack, and one report.
	 */
	e->stack_id = capture_stack(ctx, ip + op->rip_delta, 0);
	__sync_fetch_and_add(&access_recorded, 1);
	record_submit(e);
seen:
	if (t) {
		t->seen_lo[slot & 1] = addr;
		t->seen_hi[slot & 1] = addr + size;
		/*
		 * The RMW's own record released into the word too (or, found
		 * redundant, the one it repeats, with nothing since): the
		 * thread's last release of it ends where that record does.
		 */
		if (done == OPD_ATOMIC && t->rel_addr == addr)
			t->rel_pos = b->last_pos;
	}
	return done;
}

/* Whether the probe's site has an atomic operand. */
static __always_inline bool desc_atomic(const struct access_probe_desc *d)
{
	return (d->nr_ops > 0 && (d->ops[0].flags & AOP_ATOMIC)) ||
	       (d->nr_ops > 1 && (d->ops[1].flags & AOP_ATOMIC));
}

/* Whether every operand of the probe is the thread's own frame. */
static __always_inline bool desc_frame(const struct access_probe_desc *d)
{
	return d->nr_ops > 0 && (d->ops[0].flags & AOP_FRAME) &&
	       (d->nr_ops < 2 || (d->ops[1].flags & AOP_FRAME));
}

/*
 * One more trap at the probe; its group goes once they reach the cap, or
 * now for a frame probe whose thread (spent: past its budget) is alone in
 * its process.
 */
static __always_inline void count_trap(struct access_probe_hits *h,
				       const struct access_probe_desc *d, bool spent,
				       struct task_struct *task)
{
	__u64 n = __sync_fetch_and_add(&h->hits, 1) + 1;

	if (n == access_trap_cap)
		group_cap(d->group);
	else if (spent && desc_frame(d) &&
		 BPF_CORE_READ(task, signal, nr_threads) == 1 && group_cap(d->group))
		__sync_fetch_and_add(&access_frame_capped, 1);
}

SEC("uprobe")
int access_probe(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), ip;
	struct access_budget_key bk = { .tid = (__u32)id };
	struct access_budget *b;
	struct task_struct *task;
	struct access_probe_desc *d;
	struct access_probe_hits *h;
	struct access_thread *t;
	enum operand_done done[ACCESS_OPS_MAX] = { OPD_NONE, OPD_NONE };
	__u32 zero = 0;
	__u64 *regs;
	bool plain_due, keep, post;
	__u32 probe, nr_ops;

	if (!is_traced(id >> 32))
		return 0;
	probe = bpf_get_attach_cookie(ctx);
	d = bpf_map_lookup_elem(&access_ops, &probe);
	h = bpf_map_lookup_elem(&access_hits, &probe);
	if (!d || !h)
		return 0;
	bk.probe = probe;
	b = bpf_map_lookup_elem(&access_budgets, &bk);
	if (!b) {
		bpf_map_update_elem(&access_budgets, &bk, &access_budget_fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&access_budgets, &bk);
		if (!b)
			return 0;
	}
	nr_ops = d->nr_ops;
	plain_due = b->used < access_budget;
	task = bpf_get_current_task_btf();
	t = bpf_task_storage_get(&access_threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	ip = bpf_get_func_ip(ctx);
	/* a probe after a load shares its instruction with that one's own probe: */
	post = nr_ops > 0 && (d->ops[0].flags & AOP_POST);
	if (t && !post) {
		/* what a watchpoint hit during this instruction's step may skip */
		t->seen_ip = ip;
		/*
		 * The instruction's own operands have ip_delta 0 (a carried
		 * atomic's is negative, a release's before its RMW positive).
		 */
		t->seen_end = ip;
		if (nr_ops > 0 && !d->ops[0].ip_delta)
			t->seen_end = ip + d->ops[0].rip_delta;
		else if (nr_ops > 1 && !d->ops[1].ip_delta)
			t->seen_end = ip + d->ops[1].rip_delta;
		t->seen_lo[0] = t->seen_hi[0] = 0;
		t->seen_lo[1] = t->seen_hi[1] = 0;
	}
	regs = bpf_map_lookup_elem(&access_regs_scratch, &zero);
	if (!regs || bpf_probe_read_kernel(regs, PREG_NR * sizeof(*regs), ctx))
		return 0;
	if (t)
		thread_stack(t, task, regs[PREG_SP]);
	if (nr_ops > 0)
		done[0] = record_operand(ctx, regs, ip, &d->ops[0], post ? NULL : t, task, b, 0,
					 plain_due, probe, h);
	if (nr_ops > 1)
		done[1] = record_operand(ctx, regs, ip, &d->ops[1], t, task, b, 1, plain_due,
					 probe, h);
	if (done[0] == OPD_SYNC || done[1] == OPD_SYNC)
		h->sync = 1;
	if (!plain_due && done[0] == OPD_NONE && done[1] == OPD_NONE)
		__sync_fetch_and_add(&access_over_budget, 1);
	/*
	 * A site with an atomic, or one seen touching an atomic word, is
	 * never capped (an atomic site is a group of its own,
	 * tracer/access_plan.c): a contended lock would otherwise detach its
	 * own acquire or release and leave its holders unordered.
	 */
	keep = desc_atomic(d) || h->sync || post;
	if (!keep)
		count_trap(h, d, !plain_due, task);
	if (done[0] == OPD_PLAIN || done[1] == OPD_PLAIN) {
		b->used += 1;
		if (b->used == access_budget && !keep &&
		    __sync_add_and_fetch(&h->threads_spent, 1) == SPENT_THREADS)
			group_cap(d->group);
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
