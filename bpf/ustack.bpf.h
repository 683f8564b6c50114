/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * User stacks of events: a call-site key from the registers and stack words,
 * each new stack sent once (frame-pointer walk and, with --call-graph dwarf,
 * a snapshot of the stack bytes), named by its id after.
 */
#ifndef IPCRACE_USTACK_BPF_H
#define IPCRACE_USTACK_BPF_H

#include "common.bpf.h"

/* Stacks already sent to userspace, by hash: sent once, named by id after. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} stacks_seen SEC(".maps") __weak;

/* Per-CPU scratch for a stack being captured (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ipcrace_stack);
} stack_scratch SEC(".maps") __weak;

/*
 * Stack snapshots (--call-graph dwarf): bytes of the user stack sent with
 * each new call site, 0 for frame-pointer walks only. Set by userspace
 * before load; at most IPCRACE_USTACK_MAX.
 */
const volatile __u32 ustack_size __weak = 0;

#define USTACK_PAGE 4096

/*
 * Per-CPU scratch for a snapshot being built (16 KiB: not on the BPF
 * stack). The slack lets a page-sized read start anywhere in data[] as far
 * as the verifier can tell; what is sent never goes past data[].
 */
struct ustack_scratch {
	struct ipcrace_ustack u;
	__u8 slack[USTACK_PAGE];
	struct stack_memo fresh;	/* the call site being keyed */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ustack_scratch);
} ustack_scratch SEC(".maps") __weak;

static long stack_vma_found(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct stack_vma *v = data;

	v->start = BPF_CORE_READ(vma, vm_start);
	v->end = BPF_CORE_READ(vma, vm_end);
	return 0;
}

/*
 * End of the mapping holding sp (the top of this thread's stack). Threads
 * keep their stacks: cached in the thread's state, looked up again only
 * when sp has left the cached range (exec, sigaltstack). 0 when sp is in no
 * mapping.
 */
static __always_inline __u64 stack_top(struct thread_state *ts, __u64 sp)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct stack_vma v = {};

	if (ts && ts->stack.start <= sp && sp < ts->stack.end)
		return ts->stack.end;
	if (bpf_find_vma(task, sp, stack_vma_found, &v, 0) || !(v.start <= sp && sp < v.end))
		return 0;
	if (ts)
		ts->stack = v;
	return v.end;
}

/*
 * The user registers, by direct loads: bpf_task_pt_regs gives a BTF
 * pointer the verifier lets a program read (one helper call per register,
 * as BPF_CORE_READ makes, cost more than the rest of a seen call site).
 */
static __always_inline void user_regs(__u64 *r)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	r[UREG_IP] = regs->ip;
	r[UREG_SP] = regs->sp;
	r[UREG_BP] = regs->bp;
	r[UREG_BX] = regs->bx;
	r[UREG_R12] = regs->r12;
	r[UREG_R13] = regs->r13;
	r[UREG_R14] = regs->r14;
	r[UREG_R15] = regs->r15;
}

static __always_inline __u64 hash_mix(__u64 hash, __u64 v)
{
	hash ^= v;
	return hash * 0x100000001b3ULL;
}

/* Bytes of the stack a call-site key looks at (see capture_stack). */
#define USTACK_SCAN 1024

/* Bytes of stack a snapshot of this thread can take: ustack_size, or less at the top. */
static __always_inline __u32 ustack_len(const __u64 *regs, __u64 top)
{
	__u32 len = ustack_size;

	if (top <= regs[UREG_SP])
		return 0;
	if (top - regs[UREG_SP] < len)
		len = top - regs[UREG_SP];
	return len & ~7u;
}

/*
 * Mixes into hash the words of the first USTACK_SCAN stack bytes that
 * point into the executable's code, with their positions: the return
 * addresses of the program's own frames, which tell two call chains apart
 * where the depth and the frame-pointer walk (useless without frame
 * pointers) do not. u->data gets the bytes read; m->pos and m->val the
 * first STACK_MEMO_WORDS such words, m->words how many there were.
 */
#define CODE_SCAN_RUN 8

struct code_scan {
	const __u64 *words;		/* USTACK_SCAN bytes of stack */
	struct stack_memo *m;
	__u64 lo, span;			/* the executable's code: [lo, lo + span) */
	__u32 n;			/* words read */
	__u32 found;
	__u64 hash;
};

static long code_scan_run(__u64 run, void *data)
{
	struct code_scan *cs = data;
	__u32 first = run * CODE_SCAN_RUN;

	if (first > USTACK_SCAN / 8 - CODE_SCAN_RUN)
		return 1;
#pragma clang loop unroll(full)
	for (__u32 k = 0; k < CODE_SCAN_RUN; k++) {
		__u64 w = cs->words[first + k];

		if (first + k < cs->n && w - cs->lo < cs->span) {
			cs->hash = hash_mix(cs->hash, w + first + k);
			cs->m->pos[cs->found & (STACK_MEMO_WORDS - 1)] = first + k;
			cs->m->val[cs->found & (STACK_MEMO_WORDS - 1)] = w;
			cs->found++;
		}
	}
	return 0;
}

/* The scan into hash; false when the stack could not be read (m is then no memo). */
static __always_inline bool hash_code_words(struct ipcrace_ustack *u, struct stack_memo *m,
					    const __u64 *regs, __u32 len, __u64 *hash)
{
	struct mm_struct *mm = BPF_CORE_READ(bpf_get_current_task_btf(), mm);
	__u64 code[2] = {}, lo, hi;
	__u32 scan = len < USTACK_SCAN ? len : USTACK_SCAN;

	m->words = 0;
	m->span = 0;
	/* not task->mm directly: the verifier looks a loaded pointer's type up
	 * by name in all of vmlinux's BTF (four linear searches per path that
	 * reaches the load), which made a third of the tracer's start-up;
	 * start_code and end_code are adjacent, read in one call */
	if (bpf_core_field_offset(struct mm_struct, end_code) ==
	    bpf_core_field_offset(struct mm_struct, start_code) + sizeof(code[0])) {
		bpf_probe_read_kernel(code, sizeof(code), __builtin_preserve_access_index(&mm->start_code));
	} else {
		code[0] = BPF_CORE_READ(mm, start_code);
		code[1] = BPF_CORE_READ(mm, end_code);
	}
	lo = code[0];
	hi = code[1];
	barrier_var(scan);
	if (scan > USTACK_SCAN)
		scan = USTACK_SCAN;
	if (!scan)
		return true;
	if (bpf_probe_read_user(u->data, scan, (void *)regs[UREG_SP]))
		return false;
	/* eight words a callback: bpf_loop's call per word cost more than the
	 * rest of a seen call site, and an unrolled loop is verified again at
	 * every branch */
	{
		struct code_scan cs = { .words = (const __u64 *)u->data, .m = m, .lo = lo,
					.span = hi - lo, .n = scan / 8, .hash = *hash };

		bpf_loop((cs.n + CODE_SCAN_RUN - 1) / CODE_SCAN_RUN, code_scan_run, &cs, 0);
		*hash = cs.hash;
		m->words = cs.found < 0xffff ? cs.found : 0xffff;
		if (cs.found)
			m->span = (m->pos[(cs.found - 1) & (STACK_MEMO_WORDS - 1)] + 1) * 8;
	}
	return true;
}

/*
 * A call site the thread keyed before: the same sp, stack top, first frame
 * and flags, and each code word its key was made of still at its place
 * (one read of the stack up to the last of them, no scan). The frames
 * between sp and a code word are then the same functions at the same call
 * sites: a return address sits where its caller's sp at the call was,
 * which the frames above it fix, and the frames below it are what sp and
 * the first frame fix. Chains that differ only in library frames can share
 * a key, as the scan lets them (a library frame in one replaced by an
 * executable frame of the same size in the other as well: the scan would
 * see the new code word, the memo does not look for it).
 */
static __always_inline bool memo_holds(const struct stack_memo *m, struct ipcrace_ustack *u,
				       const __u64 *regs, __u64 top, __u64 first, __u32 flags)
{
	const __u64 *w = (const __u64 *)u->data;
	__u32 span = m->span;

	if (m->sp != regs[UREG_SP] || m->top != top || m->first != first || m->flags != flags ||
	    m->words > STACK_MEMO_WORDS)
		return false;
	if (!m->words)
		return true;
	/* the bound checked on the register the call gets */
	barrier_var(span);
	if (span == 0 || span > USTACK_SCAN)
		return false;
	barrier_var(span);
	span &= 2 * USTACK_SCAN - 1;
	if (span == 0 || span > USTACK_SCAN)
		return false;
	if (bpf_probe_read_user(u->data, span, (void *)regs[UREG_SP]))
		return false;
#pragma clang loop unroll(full)
	for (__u32 k = 0; k < STACK_MEMO_WORDS; k++)
		if (k < m->words && w[m->pos[k] & (USTACK_SCAN / 8 - 1)] != m->val[k])
			return false;
	return true;
}

/*
 * The thread's memo of the call site at (sp, first), or the slot to
 * replace: a thread's call sites at one stack pointer (a lock and its
 * unlock in a loop) are often a few bytes apart, and direct-mapped slots
 * made such neighbours evict each other.
 */
static __always_inline struct stack_memo *memo_slot(struct thread_state *ts, __u64 sp, __u64 first)
{
	__u32 victim;

#pragma clang loop unroll(full)
	for (__u32 k = 0; k < THREAD_MEMO_SLOTS; k++)
		if (ts->memo[k].sp == sp && ts->memo[k].first == first)
			return &ts->memo[k];
	victim = ts->memo_next++ & (THREAD_MEMO_SLOTS - 1);
	return &ts->memo[victim];
}

/*
 * Sends the registers (regs: u->regs, read there) and len bytes of the
 * user stack as snapshot id: what an offline DWARF unwinder needs. false when the stack cannot be read
 * (the caller falls back to the frame-pointer walk).
 */
static __always_inline bool send_ustack(struct ipcrace_ustack *u, __u64 id, const __u64 *regs,
					__u32 len, __u64 first_frame, __u32 flags)
{
	__u64 sp = regs[UREG_SP], off = 0, chunk;
	__u32 rec;

	/*
	 * Page by page, up to the first page that is not there: above the
	 * first frames of the main thread lies the gap the kernel leaves
	 * below the arguments (stack randomization), never touched.
	 */
	for (int k = 0; k < IPCRACE_USTACK_MAX / USTACK_PAGE + 1; k++) {
		if (off >= len || off >= IPCRACE_USTACK_MAX)
			break;
		chunk = USTACK_PAGE - ((sp + off) & (USTACK_PAGE - 1));
		if (chunk > len - off)
			chunk = len - off;
		/* bounds the verifier can see, whatever clang made of the above */
		barrier_var(off);
		barrier_var(chunk);
		off &= 2 * IPCRACE_USTACK_MAX - 1;
		chunk &= 2 * USTACK_PAGE - 1;
		if (off >= IPCRACE_USTACK_MAX || chunk > USTACK_PAGE || chunk == 0)
			break;
		if (bpf_probe_read_user(&u->data[off], chunk, (void *)(sp + off)))
			break;
		off += chunk;
	}
	len = off & ~7u;
	if (len == 0)
		return false;
	u->hdr.kind = IPCRACE_REC_USTACK;
	rec = IPCRACE_USTACK_HDR_LEN + len;
	u->hdr.size = rec;
	u->id = id;
	u->first_frame = first_frame;
	u->size = len;
	u->flags = flags;
	barrier_var(rec);
	if (rec > sizeof(*u) || rec < IPCRACE_USTACK_HDR_LEN)
		return false;
	if (bpf_ringbuf_output(&events, u, rec, BPF_RB_NO_WAKEUP)) {
		count(CNT_LOST_STACKS);
		return true;	/* lost, not unreadable: no second record */
	}
	count(CNT_USTACKS);
	{
		__u32 key = CNT_USTACK_BYTES;
		__u64 *v = bpf_map_lookup_elem(&counters, &key);

		if (v)
			*v += rec;
	}
	return true;
}

struct ip_hash {
	struct ipcrace_stack *s;
	__u64 hash;
};

static long hash_ip(__u64 i, void *data)
{
	struct ip_hash *ih = data;

	if (i >= IPCRACE_MAX_STACK)
		return 1;
	ih->hash = hash_mix(ih->hash, ih->s->ips[i]);
	return 0;
}

/* The frame-pointer walk into s, frame 0 replaced by first_frame; its frame count. */
static __always_inline __u32 fp_walk(void *ctx, struct ipcrace_stack *s, __u64 first_frame)
{
	long n = bpf_get_stack(ctx, s->ips, sizeof(s->ips), BPF_F_USER_STACK);

	s->nr = n > 0 ? n / sizeof(__u64) : 0;
	if (first_frame && s->nr)
		s->ips[0] = first_frame;
	return s->nr;
}

/* Whether stack id was sent already: the thread's recent ids, then stacks_seen. */
static __always_inline bool stack_seen(struct thread_state *ts, __u64 id)
{
	__u64 *slot = ts ? &ts->seen[id & (THREAD_SEEN_SLOTS - 1)] : NULL;

	if (slot && *slot == id)
		return true;
	if (!bpf_map_lookup_elem(&stacks_seen, &id))
		return false;
	if (slot)
		*slot = id;
	return true;
}

static __always_inline void stack_sent(struct thread_state *ts, __u64 id)
{
	__u8 one = 1;

	bpf_map_update_elem(&stacks_seen, &id, &one, BPF_ANY);
	if (ts)
		ts->seen[id & (THREAD_SEEN_SLOTS - 1)] = id;
}

/*
 * Captures the user stack, sends it once, returns its id (0 if none).
 * first_frame replaces frame 0: a uprobe fires before the hooked function
 * sets up its frame, so a frame-pointer walk skips its caller; the caller's
 * return address is read from the top of the stack instead.
 *
 * With stack snapshots on (ustack_size), a call site seen for the first
 * time sends registers and stack bytes instead of the frame-pointer walk.
 * A call site is then keyed by the first frame (the user ip when there is
 * none), the stack depth (top of the stack mapping - sp) and the words of the top of the
 * stack that point into the executable's code: a site already seen costs
 * that, nothing more. No frame-pointer walk goes into that key: it ends in
 * a fault on the outermost frame (or on the first frame of code built
 * without frame pointers), which cost a microsecond an event here, more
 * than all the rest. Two chains that differ only in library frames, or
 * deeper than USTACK_SCAN bytes, at the same depth, share a key (the first
 * one's stack is shown). Not the user ip with a first frame: one access
 * seen by its probe (before the instruction), by a watchpoint (after it)
 * and during the probe's out-of-line step (ip in the XOL page) is one
 * stack, and one report, not three.
 */
IPCRACE_SUBPROG __u64 capture_stack(void *ctx __arg_ctx, __u64 first_frame, __u32 flags)
{
	struct thread_state *ts = thread_state();
	__u32 zero = 0, len = 0;
	struct ipcrace_stack *s;
	struct ustack_scratch *us = NULL;
	struct ipcrace_ustack *u = NULL;
	__u64 hash = 0xcbf29ce484222325ULL;
	__u64 *regs = NULL, top = 0;	/* in the scratch: a frame of 512 bytes is shared */

	s = bpf_map_lookup_elem(&stack_scratch, &zero);
	if (!s)
		return 0;
	if (ustack_size) {
		us = bpf_map_lookup_elem(&ustack_scratch, &zero);
		u = us ? &us->u : NULL;
	}
	if (u) {
		__u64 first;
		struct stack_memo *memo = NULL;

		hash ^= flags;
		regs = u->regs;
		user_regs(regs);
		top = stack_top(ts, regs[UREG_SP]);
		len = ustack_len(regs, top);
		first = first_frame ? first_frame : regs[UREG_IP];
		if (ts)
			memo = memo_slot(ts, regs[UREG_SP], first);
		if (memo && memo_holds(memo, u, regs, top, first, flags)) {
			hash = memo->id;
		} else {
			struct stack_memo *fresh = &us->fresh;
			bool read;

			hash = hash_mix(hash, first);
			hash = hash_mix(hash, top - regs[UREG_SP]);
			read = hash_code_words(u, fresh, regs, len, &hash);
			hash = hash_mix(hash, 0x75737461636bULL);	/* never an FP walk's id */
			if (hash == 0)
				hash = 1;
			if (memo && read && fresh->words <= STACK_MEMO_WORDS) {
				fresh->sp = regs[UREG_SP];
				fresh->top = top;
				fresh->first = first;
				fresh->flags = flags;
				fresh->id = hash;
				*memo = *fresh;
			}
		}
	} else {
		struct ip_hash ih = { .s = s, .hash = hash };

		if (!fp_walk(ctx, s, first_frame))
			return 0;
		/* a callback: verified once, not once per frame */
		bpf_loop(s->nr < IPCRACE_MAX_STACK ? s->nr : IPCRACE_MAX_STACK, hash_ip, &ih, 0);
		hash = ih.hash ^ flags;
	}
	if (hash == 0)
		hash = 1;
	if (stack_seen(ts, hash))
		return hash;

	if (u) {
		if (send_ustack(u, hash, regs, len, first_frame, flags)) {
			stack_sent(ts, hash);
			return hash;
		}
		count(CNT_USTACK_FALLBACK);
		if (!fp_walk(ctx, s, first_frame))
			return 0;
	}
	/* bpf_get_stack zeroed the frames past nr: the scratch goes out as is */
	s->hdr.kind = IPCRACE_REC_STACK;
	s->hdr.size = sizeof(*s);
	s->id = hash;
	s->flags = flags;
	if (bpf_ringbuf_output(&events, s, sizeof(*s), BPF_RB_NO_WAKEUP)) {
		count(CNT_LOST_STACKS);
		return 0;
	}
	stack_sent(ts, hash);
	return hash;
}

#endif /* IPCRACE_USTACK_BPF_H */
