/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps and helpers shared by every ipcrace BPF program. The .bpf.c files are
 * linked into one object (bpftool gen object), so the maps below are declared
 * __weak here and merged into one instance by the linker.
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

/* Stacks already sent to userspace, by hash: sent once, named by id after. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} stacks_seen SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps") __weak;

/* Per-CPU scratch for a stack being captured (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ipcrace_stack);
} stack_scratch SEC(".maps") __weak;

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

/*
 * Wake the consumer only when the buffer is filling up: a wake-up per
 * record is an irq_work and an IPI, each a VM exit on a virtual machine,
 * and userspace polls every few milliseconds anyway.
 */
#define WAKEUP_THRESHOLD (1u << 20)

static __always_inline void record_submit(void *rec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKEUP_THRESHOLD)
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

/* Set when an event was lost, cleared by the next event that carries the news. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} loss_pending SEC(".maps") __weak;

/*
 * Events reserved so far by every program (discarded ones too): a watched
 * word's hit is redundant when nothing at all was reserved since the same
 * thread's previous recorded hit of it at the same instruction
 * (bpf/memory.bpf.c, a spinning lock). Per CPU, the number the last
 * reservation on that CPU took (BPF programs here do not nest on a CPU).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} event_seq SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} event_seq_cpu SEC(".maps") __weak;

/* The number of the reservation this CPU made last (0: none). */
static __always_inline __u64 event_seq_last(void)
{
	__u32 zero = 0;
	__u64 *mine = bpf_map_lookup_elem(&event_seq_cpu, &zero);

	return mine ? *mine : 0;
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
	struct ipcrace_event *e;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0, *loss = bpf_map_lookup_elem(&loss_pending, &zero);
	__u64 *seq, *mine;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_LOST_EVENTS);
		if (loss)
			*loss = 1;
		return NULL;
	}
	seq = bpf_map_lookup_elem(&event_seq, &zero);
	mine = bpf_map_lookup_elem(&event_seq_cpu, &zero);
	if (seq && mine)
		*mine = __sync_fetch_and_add(seq, 1) + 1;
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
	e->pid = id >> 32;
	e->tid = (__u32)id;
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
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* Identity of the file behind a struct file: KEY_FILE(dev, ino, 0). */
static __always_inline void key_from_file(struct ipcrace_key *key, struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);

	key->space = KEY_FILE;
	key->a = user_dev(BPF_CORE_READ(inode, i_sb, s_dev));
	key->b = BPF_CORE_READ(inode, i_ino);
	key->c = 0;
}

/* Files whose path was already sent. */
struct file_id {
	__u64 dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct file_id);
	__type(value, __u8);
} paths_seen SEC(".maps") __weak;

#define PATH_MAX_DEPTH 16	/* components; a power of two (index masks) */

struct path_scratch {
	char buf[2 * IPCRACE_PATH_LEN];
	const unsigned char *names[PATH_MAX_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch_map SEC(".maps") __weak;

/*
 * Sends the path of f once: dentry names up to the mount root, crossing
 * mounts up to the root of the mount tree (what d_path does, which tracing
 * programs may not call). Deeper paths keep their last PATH_MAX_DEPTH
 * components.
 */
struct path_walk {
	struct dentry *d;
	struct vfsmount *vfs;
	struct mount *mnt;
	struct path_scratch *ps;
	__u32 n;
	__u32 off;
};

/* One step up: a dentry name, or a jump from a mount root to its mountpoint. */
static long path_walk_step(__u64 i, void *data)
{
	struct path_walk *w = data;
	/* locals: CO-RE must not see path_walk (not a kernel type) in a chain */
	struct dentry *d = w->d, *parent = BPF_CORE_READ(d, d_parent);
	struct vfsmount *vfs = w->vfs;
	struct mount *mnt = w->mnt, *up;

	if (d == BPF_CORE_READ(vfs, mnt_root)) {
		up = BPF_CORE_READ(mnt, mnt_parent);
		if (up == mnt)
			return 1;
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vfs = (void *)up + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	if (d == parent || w->n >= PATH_MAX_DEPTH)
		return 1;
	w->ps->names[w->n & (PATH_MAX_DEPTH - 1)] = BPF_CORE_READ(d, d_name.name);
	w->n++;
	w->d = parent;
	return 0;
}

/* Appends "/name" for component n - 1 - i (the walk collected them leaf first). */
static long path_append(__u64 i, void *data)
{
	struct path_walk *w = data;
	__u32 pos;
	long len;

	if (i >= w->n || w->off >= IPCRACE_PATH_LEN - 1)
		return 1;
	pos = w->off;
	barrier_var(pos);
	w->ps->buf[pos & (IPCRACE_PATH_LEN - 1)] = '/';
	pos = w->off + 1;
	/* the verifier needs the mask it sees: keep clang from dropping it */
	barrier_var(pos);
	pos &= IPCRACE_PATH_LEN - 1;
	len = bpf_probe_read_kernel_str(&w->ps->buf[pos], IPCRACE_PATH_LEN,
					w->ps->names[(w->n - 1 - i) & (PATH_MAX_DEPTH - 1)]);
	w->off += 1 + (len > 1 ? len - 1 : 0);
	return 0;
}

/*
 * Sends the path of f once: dentry names up to the mount root, crossing
 * mounts up to the root of the mount tree (what d_path does, which tracing
 * programs may not call). bpf_loop keeps the verifier from walking every
 * combination of the steps. Deeper paths keep their last PATH_MAX_DEPTH
 * components.
 */
static __always_inline void emit_file_path(struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct file_id id = {
		.dev = user_dev(BPF_CORE_READ(inode, i_sb, s_dev)),
		.ino = BPF_CORE_READ(inode, i_ino),
	};
	struct path_walk w = {};
	struct ipcrace_path *rec;
	__u32 zero = 0;
	__u8 one = 1;

	if (!f || bpf_map_lookup_elem(&paths_seen, &id))
		return;
	w.ps = bpf_map_lookup_elem(&path_scratch_map, &zero);
	if (!w.ps)
		return;
	w.d = BPF_CORE_READ(f, f_path.dentry);
	w.vfs = BPF_CORE_READ(f, f_path.mnt);
	w.mnt = (void *)w.vfs - bpf_core_field_offset(struct mount, mnt);
	bpf_loop(PATH_MAX_DEPTH + 8, path_walk_step, &w, 0);
	bpf_loop(PATH_MAX_DEPTH, path_append, &w, 0);
	if (w.off == 0)
		w.ps->buf[w.off++] = '/';
	w.ps->buf[w.off & (2 * IPCRACE_PATH_LEN - 1)] = '\0';

	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count(CNT_LOST_EVENTS);
		return;
	}
	rec->hdr.kind = IPCRACE_REC_PATH;
	rec->hdr.size = sizeof(*rec);
	rec->dev = id.dev;
	rec->ino = id.ino;
	bpf_probe_read_kernel(rec->path, sizeof(rec->path), w.ps->buf);
	rec->path[IPCRACE_PATH_LEN - 1] = '\0';
	record_submit(rec);
	bpf_map_update_elem(&paths_seen, &id, &one, BPF_ANY);
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

/*
 * What a thread's events keep from one to the next, in task local storage:
 * one lookup instead of a hash lookup per item (each hash lookup cost as
 * much as the rest of a lock event), and freed with the thread.
 * seen[] holds stack ids this thread sent or found in stacks_seen
 * (direct-mapped by id): userspace keeps every stack it was sent, so an id
 * found here needs no second look in stacks_seen.
 */
struct thread_state {
	struct stack_vma stack;
	struct thread_key keys[THREAD_KEY_SLOTS];
	__u64 seen[THREAD_SEEN_SLOTS];
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

struct vma_lookup {
	__u64 addr;
	struct ipcrace_key key;
	bool found;
};

#define IPCRACE_VM_SHARED 0x00000008UL

static long vma_to_key(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_lookup *l = data;
	struct file *file = BPF_CORE_READ(vma, vm_file);
	unsigned long flags = BPF_CORE_READ(vma, vm_flags);

	l->found = true;
	if (file && (flags & IPCRACE_VM_SHARED)) {
		key_from_file(&l->key, file);
		l->key.c = (BPF_CORE_READ(vma, vm_pgoff) << 12) +
			   (l->addr - BPF_CORE_READ(vma, vm_start));
	}
	return 0;
}

/*
 * Process-independent identity of the word at addr in the current process:
 * a word of a shared mapping is (dev, inode, offset) whatever the address it
 * is mapped at; anything else is (pid, address). Resolving here, at the
 * event, cannot race with a later munmap the way /proc/PID/maps could.
 */
/*
 * The same lock is looked up again and again: its key is cached per
 * (process, address) with the process's layout generation, which every
 * mapping change, exec and fork renews (layout_changed()), so a cached key
 * never outlives the mapping it came from. Saves a VMA walk per lock call.
 */
struct key_cache_id {
	__u32 tgid;
	__u32 __pad;
	__u64 addr;
};

struct key_cache_val {
	struct ipcrace_key key;
	__u64 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct key_cache_id);
	__type(value, struct key_cache_val);
} key_cache SEC(".maps") __weak;

/* tgid -> layout generation (a timestamp: unique, never reused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TRACED);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* written per process: nothing to preallocate */
	__type(key, __u32);
	__type(value, __u64);
} layout_gen SEC(".maps") __weak;

static __always_inline void layout_changed(__u32 tgid)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&layout_gen, &tgid, &now, BPF_ANY);
}

IPCRACE_SUBPROG int resolve_key(struct ipcrace_event *e, __u64 addr)
{
	struct key_cache_id id = { .addr = addr };
	struct vma_lookup l = { .addr = addr };
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *ts = thread_state();
	struct thread_key *mine = ts ? &ts->keys[(addr >> 3) & (THREAD_KEY_SLOTS - 1)] : NULL;
	struct key_cache_val *cached, fresh = {};
	__u64 *gen;

	if (!e)
		return 0;
	id.tgid = e->pid;
	gen = bpf_map_lookup_elem(&layout_gen, &id.tgid);
	if (mine && gen && mine->addr == addr && mine->gen == *gen) {
		e->key = mine->key;
		return 0;
	}
	e->key.space = KEY_PRIVATE;
	e->key.a = e->pid;
	e->key.b = addr;
	e->key.c = 0;
	cached = bpf_map_lookup_elem(&key_cache, &id);
	if (cached && gen && cached->gen == *gen) {
		e->key = cached->key;
		goto remember;
	}
	if (bpf_find_vma(task, addr, vma_to_key, &l, 0) != 0 || !l.found) {
		e->flags |= EVF_KEY_UNRESOLVED;
		return 0;
	}
	if (l.key.space == KEY_FILE)
		e->key = l.key;
	if (gen) {
		fresh.key = e->key;
		fresh.gen = *gen;
		bpf_map_update_elem(&key_cache, &id, &fresh, BPF_ANY);
	}
remember:
	if (mine && gen) {
		mine->addr = addr;
		mine->gen = *gen;
		mine->key = e->key;
	}
	return 0;
}

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
 * pointers) do not. u->data gets the bytes read.
 */
#define CODE_SCAN_RUN 8

struct code_scan {
	const __u64 *words;		/* USTACK_SCAN bytes of stack */
	__u64 lo, span;			/* the executable's code: [lo, lo + span) */
	__u32 n;			/* words read */
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

		if (first + k < cs->n && w - cs->lo < cs->span)
			cs->hash = hash_mix(cs->hash, w + first + k);
	}
	return 0;
}

static __always_inline __u64 hash_code_words(struct ipcrace_ustack *u, const __u64 *regs,
					     __u32 len, __u64 hash)
{
	struct mm_struct *mm = BPF_CORE_READ(bpf_get_current_task_btf(), mm);
	__u64 code[2] = {}, lo, hi;
	__u32 scan = len < USTACK_SCAN ? len : USTACK_SCAN;

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
	if (!scan || bpf_probe_read_user(u->data, scan, (void *)regs[UREG_SP]))
		return hash;
	/* eight words a callback: bpf_loop's call per word cost more than the
	 * rest of a seen call site, and an unrolled loop is verified again at
	 * every branch */
	{
		struct code_scan cs = { .words = (const __u64 *)u->data, .lo = lo,
					.span = hi - lo, .n = scan / 8, .hash = hash };

		bpf_loop((cs.n + CODE_SCAN_RUN - 1) / CODE_SCAN_RUN, code_scan_run, &cs, 0);
		hash = cs.hash;
	}
	return hash;
}

/*
 * Sends the registers and len bytes of the user stack as snapshot id: what
 * an offline DWARF unwinder needs. false when the stack cannot be read
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
	for (int i = 0; i < UREG_NR; i++)
		u->regs[i] = regs[i];
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
 * A call site is then keyed by the user ip, the first frame, the stack
 * depth (top of the stack mapping - sp) and the words of the top of the
 * stack that point into the executable's code: a site already seen costs
 * that, nothing more. No frame-pointer walk goes into that key: it ends in
 * a fault on the outermost frame (or on the first frame of code built
 * without frame pointers), which cost a microsecond an event here, more
 * than all the rest. Two chains that differ only in library frames, or
 * deeper than USTACK_SCAN bytes, at the same depth, share a key (the first
 * one's stack is shown).
 */
IPCRACE_SUBPROG __u64 capture_stack(void *ctx __arg_ctx, __u64 first_frame, __u32 flags)
{
	struct thread_state *ts = thread_state();
	__u32 zero = 0, len = 0;
	struct ipcrace_stack *s;
	struct ipcrace_ustack *u = NULL;
	__u64 hash = 0xcbf29ce484222325ULL;
	__u64 regs[UREG_NR] = {}, top = 0;

	s = bpf_map_lookup_elem(&stack_scratch, &zero);
	if (!s)
		return 0;
	if (ustack_size) {
		struct ustack_scratch *us = bpf_map_lookup_elem(&ustack_scratch, &zero);

		u = us ? &us->u : NULL;
	}
	if (u) {
		hash ^= flags;
		user_regs(regs);
		top = stack_top(ts, regs[UREG_SP]);
		len = ustack_len(regs, top);
		hash = hash_mix(hash, regs[UREG_IP]);
		hash = hash_mix(hash, first_frame);
		hash = hash_mix(hash, top - regs[UREG_SP]);
		hash = hash_code_words(u, regs, len, hash);
		hash = hash_mix(hash, 0x75737461636bULL);	/* never an FP walk's id */
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

#endif /* IPCRACE_COMMON_BPF_H */
