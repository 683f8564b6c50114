// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory accesses observed with x86 debug registers (DESIGN.md, "Memory
 * accesses: observed, not instrumented"). Userspace (tracer/watch.c) opens
 * perf breakpoints on the watched words and attaches mem_access to each.
 * The stops that let userspace arm a new word before the process touches
 * it are in sys_exit (bpf/stops.bpf.h).
 */
#include "common.bpf.h"
#include "key.bpf.h"
#include "ustack.bpf.h"
#include "watch_maps.h"
#include "access.bpf.h"

/*
 * Read the word at each hit and call a changed value a write. Off by
 * default: the read is a kernel access to a watched address, which traps
 * again (the #DB handler of a user-mode hit leaves DR7 armed); measured
 * ~80 us per hit instead of ~14 on the test VM (scratch loop, 2 cores).
 * Userspace tells reads from writes by decoding the instruction instead
 * (tracer/insn_classify.c).
 */
bool watch_compare_values;
__u32 watch_hit_budget = 64;	/* events per word until userspace resets (no watch_info) */
/*
 * Traps a word may cost before userspace is asked to park it when only
 * one thread has hit it: past its budget a lone thread's hits are not
 * recorded, but the breakpoint stays armed this much longer for a second
 * thread (or process) to come, whose first hits are recorded: a race
 * needs both, and in a short program the second one often starts after
 * the first has spent the budget.
 */
__u32 watch_trap_cap = 1024;
/* Hits recorded from threads other than a word's first, past its budget. */
#define OTHERS_RECORDED 8
/*
 * Words that reached their budget, counted for userspace: it reads this
 * (mapped, no syscall) between records and parks the slot at once. A perf
 * event cannot disable itself from BPF, and until it is parked every hit
 * still traps, recorded or not.
 */
__u64 watch_capped;
__u64 watch_over_budget;	/* hits that trapped past a budget: the cost of parking late */
__u64 watch_coalesced;		/* hits that repeated the word's last recorded one (a spin) */
__u64 watch_traps;		/* every hit of a traced process: the trap rate budget's meter */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct watch_addr);
	__type(value, struct watch_info);
} watch_info SEC(".maps");

/*
 * Last value seen of each watched word, by identity (so a write by one
 * process is not taken again as a write when another process reads it).
 * A hit that finds the value unchanged is a read (or a store of the same
 * value, which the instruction decoder corrects).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ipcrace_key);
	__type(value, __u64);
} word_value SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ipcrace_key);
	__type(value, struct word_count);
} word_hits SEC(".maps");

/*
 * Wakes the consumer now: records are submitted without a wake-up, and a
 * process stopped for arming would otherwise wait for userspace's next
 * poll timeout (10 ms a stop: 2 s for a program forking 200 times), and
 * a word to park would trap on meanwhile.
 */
static __always_inline void wake_consumer(void)
{
	struct ipcrace_rec r = { .kind = IPCRACE_REC_WAKE, .size = sizeof(r) };

	bpf_ringbuf_output(&events, &r, sizeof(r), BPF_RB_FORCE_WAKEUP);
}

/*
 * The watched bytes: an aligned 8-byte read holds them all (a breakpoint is
 * aligned to its length) and never crosses a page; x86 is little-endian.
 */
static __always_inline __u64 read_word(__u64 addr, __u32 len)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)(addr & ~7ULL));
	v >>= (addr & 7) * 8;
	if (len < 8)
		v &= (1ULL << (len * 8)) - 1;
	return v;
}

/*
 * Drops an event reserved for a hit that is not recorded: the news of a
 * loss it took over (EVF_AFTER_LOSS) goes on to the next event, or the
 * analyzer would take what follows the gap for a whole history.
 */
static __always_inline void event_discard(struct ipcrace_event *e)
{
	__u32 zero = 0, *loss;

	if (e->flags & EVF_AFTER_LOSS) {
		loss = bpf_map_lookup_elem(&loss_pending, &zero);
		if (loss)
			*loss = 1;
	}
	bpf_ringbuf_discard(e, 0);
}

/*
 * An instruction with a uprobe runs out of line, in the uprobes page of the
 * process (the XOL area), while the kernel single-steps it. A breakpoint
 * hit there is skipped when the access probe of that instruction put the
 * same access in the trace (bpf/access.bpf.h: the thread's last probe hit
 * is this instruction, and its recorded bytes overlap the watched ones).
 * Otherwise (its budget spent, or a lock probe's instruction) it is
 * recorded at the instruction's place in the program. False: skip it.
 */
#define X86_INSN_MAX 15	/* bytes in the longest x86 instruction */

static __always_inline bool xol_hit_new(__u64 *ip, __u64 addr, __u64 len)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct xol_area *xol = BPF_CORE_READ(task, mm, uprobes_state.xol_area);
	struct access_thread *t;
	__u64 start, vaddr, xol_insn;

	if (!xol)
		return true;
	start = BPF_CORE_READ(xol, vaddr);
	if (*ip < start || *ip >= start + 4096)
		return true;
	vaddr = BPF_CORE_READ(task, utask, vaddr);
	t = bpf_task_storage_get(&access_threads, task, 0, 0);
	if (t && vaddr && t->seen_ip == vaddr) {
		if ((t->seen_lo[0] < addr + len && addr < t->seen_hi[0]) ||
		    (t->seen_lo[1] < addr + len && addr < t->seen_hi[1]))
			return false;
		*ip = t->seen_end;
		return true;
	}
	/*
	 * No probe of ours ran for this step (a lock probe's instruction, or
	 * a link being closed): the trap came right after the copy in the
	 * XOL slot, so ip - xol_vaddr is the instruction's length and its end
	 * in the program is vaddr + that (decoded there like any hit).
	 */
	xol_insn = BPF_CORE_READ(task, utask, xol_vaddr);
	if (vaddr && xol_insn && *ip > xol_insn && *ip - xol_insn <= X86_INSN_MAX)
		*ip = vaddr + (*ip - xol_insn);
	else if (vaddr)
		*ip = vaddr + 1;	/* inside it: "return address - 1" symbolizes it */
	return true;
}

/*
 * A data breakpoint traps after the accessing instruction: regs->ip is the
 * next one. It is recorded as is, and frame 0 of the stack is that ip, so
 * the symbolizer's "return address - 1" lands inside the access.
 */
SEC("perf_event")
int mem_access(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = id;
	struct watch_addr wa = { .pid = tgid, .addr = ctx->addr };
	__u64 ip = PT_REGS_IP(&ctx->regs), val, *last, n, before, end;
	__u32 budget = watch_hit_budget, cap;
	struct word_count *wc, fresh = {};
	struct watch_info *wi;
	struct ipcrace_event *e;
	bool capped = false, other, record;

	if (!is_traced(tgid))
		return 0;
	__sync_fetch_and_add(&watch_traps, 1);
	wi = bpf_map_lookup_elem(&watch_info, &wa);
	if (!xol_hit_new(&ip, ctx->addr, wi ? wi->len : 8))
		return 0;
	before = ring_pos();
	e = event_reserve(EV_MEM_ACCESS, OBJ_MEMORY);
	if (!e)
		return 0;
	end = event_end_alone(before);
	e->addr = ctx->addr;
	e->arg0 = ip;
	e->arg1 = 8;
	if (wi) {
		e->key = wi->key;
		e->arg1 = wi->len;
		budget = wi->budget;
	} else {
		resolve_key(e, ctx->addr);
	}

	wc = bpf_map_lookup_elem(&word_hits, &e->key);
	if (!wc) {
		fresh.owner = tid;
		bpf_map_update_elem(&word_hits, &e->key, &fresh, BPF_NOEXIST);
		wc = bpf_map_lookup_elem(&word_hits, &e->key);
		if (!wc) {
			event_discard(e);
			return 0;
		}
	}
	/*
	 * A thread spinning on a word (a test-and-set or compare-and-swap loop)
	 * traps at the same instruction again and again. A hit by the word's
	 * last recorded thread, at the same instruction, with nothing at all
	 * reserved by anyone since that hit (the ring's producer position
	 * where that hit's record, or the last coalesced one, left it) and no
	 * event lost (this event carries the news then, and the analyzer
	 * forgets the accesses before it, the hit this one repeats among
	 * them), changes nothing the analyzer knows: its clock, and the
	 * word's, are what they were. Not recorded and not counted against
	 * the budget, so the spin cannot spend the budget and silence the
	 * hits that order the lock's holders (another thread's release, the
	 * winning exchange after it). The discarded reservation moved the
	 * position: the next hit compares with its end.
	 */
	if (wc->last_pos && wc->last_pos == before && wc->last_tid == tid && wc->last_ip == ip &&
	    !(e->flags & EVF_AFTER_LOSS)) {
		wc->last_pos = end;
		__sync_fetch_and_add(&watch_coalesced, 1);
		event_discard(e);
		return 0;
	}
	n = __sync_fetch_and_add(&wc->hits, 1) + 1;
	other = wc->owner != tid;
	/* within the budget anyone; past it the first hits of another thread */
	record = n <= budget || (other && wc->others < OTHERS_RECORDED);
	if (record && other)
		__sync_fetch_and_add(&wc->others, 1);
	cap = budget > watch_trap_cap ? budget : watch_trap_cap;
	/*
	 * Parked once two threads are recorded and the budget is spent, or
	 * when a lone thread has trapped long enough: once, so the wake-up
	 * below is not repeated for every hit in flight.
	 */
	if ((n >= budget && (wc->others >= OTHERS_RECORDED || (wc->others && !record))) ||
	    n >= cap)
		capped = __sync_val_compare_and_swap(&wc->capped, 0, 1) == 0;
	if (!record) {
		/* trapped for nothing until userspace parks the slot */
		__sync_fetch_and_add(&watch_over_budget, 1);
		event_discard(e);
		if (capped) {
			__sync_fetch_and_add(&watch_capped, 1);
			wake_consumer();
		}
		return 0;
	}

	if (watch_compare_values) {
		val = read_word(ctx->addr, e->arg1);
		last = bpf_map_lookup_elem(&word_value, &e->key);
		if (last && *last == val) {
			e->flags |= EVF_READ;
		} else {
			/* no previous value: unknown, a write only once it changes */
			e->flags |= last ? EVF_WRITE : EVF_READ;
			bpf_map_update_elem(&word_value, &e->key, &val, BPF_ANY);
		}
	}
	wc->last_tid = tid;
	wc->last_ip = ip;
	wc->last_pos = end;
	e->stack_id = capture_stack(ctx, ip, 0);
	if (capped) {
		/* the last recorded hit: userspace acts now, even if asleep */
		__sync_fetch_and_add(&watch_capped, 1);
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
		return 0;
	}
	record_submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
