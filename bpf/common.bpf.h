/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps and helpers shared by every ipcrace BPF program. The .bpf.c files are
 * linked into one object (bpftool gen object), so the maps below are declared
 * __weak here and merged into one instance by the linker.
 *
 * This header is the infrastructure every program needs: the traced set,
 * counters, event reservation and submission, per-thread state. Object keys
 * are in key.bpf.h, file paths in file_path.bpf.h, user stacks in
 * ustack.bpf.h; include what the program uses.
 */
#ifndef IPCRACE_COMMON_BPF_H
#define IPCRACE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

#define MAX_TRACED 65536

/*
 * A global subprogram: the verifier checks it once per program, with its
 * arguments as any value of their types, instead of once per call site and
 * path (capture_stack inlined made sys_enter alone take 0.1 s to verify).
 * Arguments are scalars, ctx (__arg_ctx) or pointers to memory that may be
 * NULL; the result is an integer. __weak: each .bpf.c includes it, the
 * linker keeps one.
 */
#define IPCRACE_SUBPROG __weak __noinline
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))

/* Ring buffer size, set by userspace before load (power of two pages). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps") __weak;

/* Traced processes, by tgid. Maintained from fork/exit inside BPF. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TRACED);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* written per process: nothing to preallocate */
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps") __weak;

static __always_inline void count(enum ipcrace_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);

	if (v)
		*v += 1;
}

static __always_inline bool is_traced(__u32 tgid)
{
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* Kernel dev_t (major << 20 | minor) to the glibc dev_t that stat shows. */
static __always_inline __u64 user_dev(__u32 kdev)
{
	__u64 major = kdev >> 20, minor = kdev & 0xfffff;

	return ((major & 0xfffff000ULL) << 32) | ((major & 0xfffULL) << 8) |
	       ((minor & 0xffffff00ULL) << 12) | (minor & 0xffULL);
}

/* Set when an event was lost, cleared by the next event that carries the news. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} loss_pending SEC(".maps") __weak;

/*
 * Whether anything was reserved since a record: a watched word's hit that
 * repeats the same thread's last recorded hit of it at the same
 * instruction is redundant when nothing was (bpf/memory.bpf.c, a spinning
 * lock), and so is an atomic access or release that repeats the thread's
 * last one (bpf/access.bpf.c). The ring's producer position tells, and no
 * event pays for it: the kernel advances it under the ring's lock by the
 * record's length at every reservation on any CPU (records discarded
 * later included; stacks, paths and wake-ups too, which only makes the
 * answer "something" more often), so a position unchanged since a
 * record's end means nothing was reserved since. A failed reservation
 * leaves it where it was: that is a lost event, which loss_pending
 * (above) shows until the next event carries the news, so the programs
 * asking check that too.
 */
static __always_inline __u64 ring_pos(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_PROD_POS);
}

/* An event's length in the ring: its header, the event, rounded to 8 bytes. */
#define EVENT_RING_LEN ((sizeof(struct ipcrace_event) + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL)

/*
 * The end in the ring of the event just reserved, given the producer
 * position read before event_reserve: exact only when nothing else was
 * reserved between that reading and this one (the position moved by this
 * event's length alone). Otherwise 0, "unknown": another CPU's record may
 * have come before this event or after it, and a position read after it
 * could already include a later record, which would make the next repeat
 * look like one with nothing in between (a release dropped so, a false
 * race). A record is never at position 0's end, so 0 matches nothing.
 */
static __always_inline __u64 event_end_alone(__u64 before)
{
	__u64 after = ring_pos();

	return after - before == EVENT_RING_LEN ? after : 0;
}

/* Whether an event was lost and no event has carried the news yet (see loss_pending). */
static __always_inline bool loss_unflagged(void)
{
	__u32 zero = 0, *loss = bpf_map_lookup_elem(&loss_pending, &zero);

	return loss && *loss;
}

/* Records submitted on this CPU (record_submit): a count no other CPU writes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} events_submitted SEC(".maps") __weak;

/*
 * Wake the consumer only when the buffer is filling up: a wake-up per
 * record is an irq_work and an IPI, each a VM exit on a virtual machine,
 * and userspace polls every few milliseconds anyway. Set by userspace
 * before load to an eighth of the ring (at most 1 MiB): a threshold as
 * large as a small ring (--buffer-size 1024) let it fill between polls.
 */
const volatile __u32 wakeup_bytes __weak = 1u << 20;

/*
 * The ring's fill is asked after every RB_QUERY_EVERY-th record submitted
 * on a CPU (events_submitted above), not after each record: a helper call
 * less per event, and the wake-up comes at most that many records per CPU
 * after the threshold, a few KiB of an eighth of the ring.
 */
#define RB_QUERY_EVERY 16	/* a power of two */

static __always_inline void record_submit(void *rec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&events_submitted, &zero);

	if (n && (++*n & (RB_QUERY_EVERY - 1)) == 0 &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
}

/*
 * For the rare events userspace must act on while the process still exists
 * (exec, a new file mapping: it reads /proc/PID/maps then).
 */
static __always_inline void record_submit_now(void *rec)
{
	bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP);
}

/* An event that could not be recorded: counted, and the next event carries the news. */
static __always_inline void note_loss(void)
{
	__u32 zero = 0, *loss = bpf_map_lookup_elem(&loss_pending, &zero);

	count(CNT_LOST_EVENTS);
	if (loss)
		*loss = 1;
}

/* Reserves an event and fills the common part; NULL (counted) if full. */
static __always_inline struct ipcrace_event *event_reserve(__u16 type, __u16 obj)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const __u64 *comm = (const __u64 *)task->comm;
	struct ipcrace_event *e;
	__u32 zero = 0, *loss = bpf_map_lookup_elem(&loss_pending, &zero);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_LOST_EVENTS);
		if (loss)
			*loss = 1;
		return NULL;
	}
	e->hdr.kind = IPCRACE_REC_EVENT;
	e->hdr.size = sizeof(*e);
	e->ts = bpf_ktime_get_ns();
	e->stack_id = 0;
	e->addr = 0;
	e->arg0 = 0;
	e->arg1 = 0;
	e->key.a = 0;
	e->key.b = 0;
	e->key.c = 0;
	e->key.space = KEY_NONE;
	e->key.__pad = 0;
	/* the current task's fields, loaded directly: bpf_get_current_pid_tgid's values */
	e->pid = task->tgid;
	e->tid = task->pid;
	e->type = type;
	e->obj = obj;
	e->result = 0;
	e->flags = 0;
	/* not atomic (xchg needs -mcpu=v3): a loss on another CPU between the
	 * read and the write can go unflagged; the footer still counts it */
	if (loss && *loss) {
		*loss = 0;
		e->flags = EVF_AFTER_LOSS;
	}
	e->__pad = 0;
	/*
	 * The command name as two words, not bpf_get_current_comm's copy (a
	 * helper call and a string copy, a fifth of an event): the kernel
	 * pads it with zeros when it sets it (strscpy_pad), so the bytes are
	 * the helper's.
	 */
	_Static_assert(sizeof(e->comm) == 2 * sizeof(__u64), "comm is two words");
	((__u64 *)e->comm)[0] = comm[0];
	((__u64 *)e->comm)[1] = comm[1];
	return e;
}

/* The stack mapping a thread's sp was last found in: [start, end). */
struct stack_vma {
	__u64 start;
	__u64 end;
};

#define THREAD_KEY_SLOTS 4	/* powers of two: index masks */
#define THREAD_SEEN_SLOTS 8

/* A lock key resolved by this thread, valid while the process's layout generation is gen. */
struct thread_key {
	__u64 addr;
	__u64 gen;
	struct ipcrace_key key;
};

#define STACK_MEMO_WORDS 8	/* powers of two: index masks */
#define THREAD_MEMO_SLOTS 8

/*
 * A call site this thread keyed before (ustack.bpf.h, capture_stack): the
 * registers' sp, the top of the stack, the first frame and the flags it was
 * keyed with, its id, and the code words of the stack the key was made of
 * (word index from sp, value). sp 0: an empty slot.
 */
struct stack_memo {
	__u64 sp;
	__u64 top;
	__u64 first;
	__u64 id;
	__u32 flags;
	__u16 words;			/* entries of pos[] and val[] used */
	__u16 span;			/* bytes from sp up to the last of them */
	__u8 pos[STACK_MEMO_WORDS];
	__u64 val[STACK_MEMO_WORDS];
};

/*
 * What a thread's events keep from one to the next, in task local storage:
 * one lookup instead of a hash lookup per item (each hash lookup cost as
 * much as the rest of a lock event), and freed with the thread.
 * seen[] holds stack ids this thread sent or found in stacks_seen
 * (direct-mapped by id): userspace keeps every stack it was sent, so an id
 * found here needs no second look in stacks_seen. memo[] holds call sites
 * keyed from stack snapshots (by stack pointer and first frame).
 */
struct thread_state {
	struct stack_vma stack;
	struct thread_key keys[THREAD_KEY_SLOTS];
	__u64 seen[THREAD_SEEN_SLOTS];
	struct stack_memo memo[THREAD_MEMO_SLOTS];
	__u32 memo_next;		/* the memo slot to replace next */
	__u32 __pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} thread_states SEC(".maps") __weak;

/* The current thread's state, created zeroed on its first event; NULL if out of memory. */
static __always_inline struct thread_state *thread_state(void)
{
	return bpf_task_storage_get(&thread_states, bpf_get_current_task_btf(), NULL,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
}

#endif /* IPCRACE_COMMON_BPF_H */
