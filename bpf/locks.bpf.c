// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Uprobes on the lock and semaphore functions of libc (or of a static
 * binary). One program per role; what the hooked function is (mutex, rwlock
 * read side, trylock, ...) comes from the attach cookie, so one program
 * serves every function of a role. Event order (DESIGN.md): attempt at
 * entry, acquired at return with the result, release at entry.
 */
#include "common.bpf.h"

/* Attach cookie: obj | flags << 16 | LOCK_ARG2 when the lock is argument 2. */
#define COOKIE_LOCK_ARG2 (1ULL << 48)

static __always_inline __u16 cookie_obj(__u64 c) { return c & 0xffff; }
static __always_inline __u32 cookie_flags(__u64 c) { return (c >> 16) & 0xffffffff; }

struct pending_lock {
	__u64 addr;
	__u64 stack_id;
	__u64 arg0;
	struct ipcrace_key key;
	__u32 flags;
	__u16 obj;
	__u16 __pad;
};

/* Entry state carried to the return probe, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_lock);
} pending_locks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} pending_threads SEC(".maps");

/*
 * pthread_once and __cxa_guard_acquire, entry to return, per thread: apart
 * from pending_locks because the initializer pthread_once runs may take
 * locks of its own in between.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_lock);
} pending_inits SEC(".maps");

/* Offset of __kind in glibc's pthread_mutex_t on x86-64 (ABI-stable). */
#define GLIBC_MUTEX_KIND_OFF 16

/*
 * Both registers are read unconditionally: the verifier refuses a context
 * access at a computed offset, which is what a select between two fields
 * compiles to.
 */
static __always_inline __u64 lock_arg(struct pt_regs *ctx, __u64 cookie)
{
	__u64 arg1 = PT_REGS_PARM1(ctx), arg2 = PT_REGS_PARM2(ctx);

	barrier_var(arg1);
	barrier_var(arg2);
	return cookie & COOKIE_LOCK_ARG2 ? arg2 : arg1;
}

/*
 * The caller's return address, from [rsp]. Another tool's uretprobe on the
 * same function (or an ipcrace run probing at the entry while this one
 * probes further in) may already have replaced it with the uprobe
 * trampoline: the real address is then in the newest return instance.
 */
static __always_inline __u64 caller_return_address(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 ret = 0, trampoline;

	bpf_probe_read_user(&ret, sizeof(ret), (void *)PT_REGS_SP(ctx));
	trampoline = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	if (ret && ret == trampoline)
		ret = BPF_CORE_READ(task, utask, return_instances, orig_ret_vaddr);
	return ret;
}

/* Fills a lock event from the probe context; the caller submits it. */
static __always_inline struct ipcrace_event *lock_event(struct pt_regs *ctx, __u16 type,
							 __u64 cookie, bool with_stack)
{
	struct ipcrace_event *e;
	__u64 addr = lock_arg(ctx, cookie);
	__u64 stack_id = 0;
	__u32 kind = 0;

	if (with_stack)
		stack_id = capture_stack(ctx, caller_return_address(ctx), 0);
	e = event_reserve(type, cookie_obj(cookie));
	if (!e)
		return NULL;
	e->addr = addr;
	e->flags |= cookie_flags(cookie);
	e->stack_id = stack_id;
	if (e->obj == OBJ_MUTEX) {
		bpf_probe_read_user(&kind, sizeof(kind), (void *)(addr + GLIBC_MUTEX_KIND_OFF));
		e->arg0 = kind;
	}
	resolve_key(e, addr);
	return e;
}

/* Submits e and keeps what the return probe needs to report the outcome. */
static __always_inline void submit_and_stash(struct ipcrace_event *e, __u32 tid)
{
	struct pending_lock p = {
		.addr = e->addr,
		.stack_id = e->stack_id,
		.arg0 = e->arg0,
		.key = e->key,
		.flags = e->flags & ~EVF_AFTER_LOSS,
		.obj = e->obj,
	};

	record_submit(e);
	bpf_map_update_elem(&pending_locks, &tid, &p, BPF_ANY);
}

/* The return (of type) that ends the thread's pending call, with its result. */
static __always_inline void emit_return(__u32 tid, __u16 type, int result)
{
	struct pending_lock *p = bpf_map_lookup_elem(&pending_locks, &tid);
	struct ipcrace_event *e;

	if (!p)
		return;
	e = event_reserve(type, p->obj);
	if (e) {
		e->addr = p->addr;
		e->stack_id = p->stack_id;
		e->arg0 = p->arg0;
		e->key = p->key;
		e->flags |= p->flags;
		e->result = result;
		record_submit(e);
	}
	bpf_map_delete_elem(&pending_locks, &tid);
}

SEC("uprobe")
int BPF_KPROBE(lock_enter)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_lock *pending;
	struct ipcrace_event *e;

	if (!is_traced(current_tgid()))
		return 0;
	/* a spin loop that branches back over the probe: one attempt only */
	pending = bpf_map_lookup_elem(&pending_locks, &tid);
	if (pending && pending->addr == lock_arg(ctx, cookie))
		return 0;
	e = lock_event(ctx, EV_LOCK_ATTEMPT, cookie, true);
	if (e) {
		submit_and_stash(e, tid);
	} else {
		/*
		 * The attempt was lost (ring buffer full): the acquisition
		 * must still be reported, or the analyzer sees a release of a
		 * lock never taken. The key is left for the analyzer to resolve.
		 */
		struct pending_lock lost = {
			.addr = lock_arg(ctx, cookie),
			.flags = cookie_flags(cookie) | EVF_KEY_UNRESOLVED,
			.obj = cookie_obj(cookie),
			.key = { .space = KEY_PRIVATE, .a = current_tgid() },
		};

		lost.key.b = lost.addr;
		bpf_map_update_elem(&pending_locks, &tid, &lost, BPF_ANY);
	}
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lock_exit, long ret)
{
	emit_return((__u32)bpf_get_current_pid_tgid(), EV_LOCK_ACQUIRED, (int)ret);
	return 0;
}

/* unlock, sem_post: release-type, emitted before the lock is given up. */
SEC("uprobe")
int BPF_KPROBE(lock_release)
{
	struct ipcrace_event *e;

	if (!is_traced(current_tgid()))
		return 0;
	e = lock_event(ctx, EV_LOCK_RELEASE, bpf_get_attach_cookie(ctx), true);
	if (e)
		record_submit(e);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lock_destroy)
{
	struct ipcrace_event *e;

	if (!is_traced(current_tgid()))
		return 0;
	e = lock_event(ctx, EV_LOCK_DESTROY, bpf_get_attach_cookie(ctx), true);
	if (e)
		record_submit(e);
	return 0;
}

/*
 * pthread_cond_wait gives its mutex up and takes it back inside libc,
 * through internal entry points no probe sees: the entry is a release of the
 * mutex and the return an acquisition, so a signaller's unlock still orders
 * before the waiter's wake-up.
 */
SEC("uprobe")
int BPF_KPROBE(cond_wait_enter)
{
	struct ipcrace_event *e;

	if (!is_traced(current_tgid()))
		return 0;
	/* the condition variable's own words are synchronization (EV_SYNC_OBJECT) */
	e = lock_event(ctx, EV_SYNC_OBJECT, OBJ_COND, false);
	if (e)
		record_submit(e);
	e = lock_event(ctx, EV_LOCK_RELEASE, bpf_get_attach_cookie(ctx), true);
	if (e)
		submit_and_stash(e, (__u32)bpf_get_current_pid_tgid());
	return 0;
}

/* The mutex is held again when pthread_cond_*wait returns, whatever its result. */
SEC("uretprobe")
int BPF_KRETPROBE(cond_wait_exit)
{
	emit_return((__u32)bpf_get_current_pid_tgid(), EV_LOCK_ACQUIRED, 0);
	return 0;
}

/*
 * pthread_cond_init/signal/broadcast/destroy, pthread_barrier_init/destroy:
 * they name an object whose words the library reads and writes with plain
 * moves (glibc's condition variable counters are relaxed atomics), so the
 * analyzer and the watcher must know them as synchronization. No stack:
 * this event is never shown.
 */
SEC("uprobe")
int BPF_KPROBE(sync_object)
{
	struct ipcrace_event *e;

	if (!is_traced(current_tgid()))
		return 0;
	e = lock_event(ctx, EV_SYNC_OBJECT, bpf_get_attach_cookie(ctx), false);
	if (e)
		record_submit(e);
	return 0;
}

/* Offset of count in glibc's struct pthread_barrier (in, current_round, count). */
#define GLIBC_BARRIER_COUNT_OFF 8

/*
 * pthread_barrier_wait: the arrival at entry is release-type (DESIGN.md),
 * with the barrier's count, so that the analyzer can tell rounds apart;
 * the departure at return.
 */
SEC("uprobe")
int BPF_KPROBE(barrier_enter)
{
	struct ipcrace_event *e;
	__u32 count = 0;

	if (!is_traced(current_tgid()))
		return 0;
	e = lock_event(ctx, EV_BARRIER_ARRIVE, bpf_get_attach_cookie(ctx), true);
	if (!e)
		return 0;
	bpf_probe_read_user(&count, sizeof(count), (void *)(e->addr + GLIBC_BARRIER_COUNT_OFF));
	e->arg0 = count;
	submit_and_stash(e, (__u32)bpf_get_current_pid_tgid());
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(barrier_exit, long ret)
{
	emit_return((__u32)bpf_get_current_pid_tgid(), EV_BARRIER_DEPART, (int)ret);
	return 0;
}

/* pthread_create(pthread_t *thread, ...): remember where the id goes. */
SEC("uprobe")
int BPF_KPROBE(thread_create_enter, __u64 thread_ptr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!is_traced(current_tgid()))
		return 0;
	bpf_map_update_elem(&pending_threads, &tid, &thread_ptr, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(thread_create_exit, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ipcrace_event *e;
	__u64 *ptr, thread = 0;

	ptr = bpf_map_lookup_elem(&pending_threads, &tid);
	if (!ptr)
		return 0;
	bpf_probe_read_user(&thread, sizeof(thread), (void *)*ptr);
	bpf_map_delete_elem(&pending_threads, &tid);
	e = event_reserve(EV_THREAD_CREATE_RET, OBJ_NONE);
	if (!e)
		return 0;
	e->arg0 = thread;
	e->result = (int)ret;
	record_submit(e);
	return 0;
}

/* pthread_join(pthread_t thread, ...): acquire-type, at return. */
SEC("uprobe")
int BPF_KPROBE(thread_join_enter, __u64 thread)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!is_traced(current_tgid()))
		return 0;
	bpf_map_update_elem(&pending_threads, &tid, &thread, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(thread_join_exit, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ipcrace_event *e;
	__u64 *thread;

	thread = bpf_map_lookup_elem(&pending_threads, &tid);
	if (!thread)
		return 0;
	e = event_reserve(EV_THREAD_JOIN_RET, OBJ_NONE);
	if (e) {
		e->arg0 = *thread;
		e->result = (int)ret;
		record_submit(e);
	}
	bpf_map_delete_elem(&pending_threads, &tid);
	return 0;
}

/*
 * pthread_once(once_control, init): the state word at entry says whether
 * this caller may run the initializer (not started), waits (in progress)
 * or returns at once (done); the return is acquire-type.
 * __cxa_guard_acquire(guard): the return says whether the caller must
 * initialize (1) or another thread did (0). Both kept in pending_inits.
 */
static __always_inline void init_enter(struct pt_regs *ctx, __u16 type)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_lock p = {
		.addr = lock_arg(ctx, cookie),
		.obj = cookie_obj(cookie),
	};
	struct ipcrace_event *e;
	__u32 state = 0;

	if (type == EV_ONCE_ENTER) {
		e = lock_event(ctx, type, cookie, true);
		if (e) {
			bpf_probe_read_user(&state, sizeof(state), (void *)e->addr);
			e->arg0 = state;
			p.stack_id = e->stack_id;
			record_submit(e);
		}
	}
	bpf_map_update_elem(&pending_inits, &tid, &p, BPF_ANY);
}

/* The return event, its key resolved now (the object has not moved). */
static __always_inline void init_exit(__u16 type, int result)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_lock *p = bpf_map_lookup_elem(&pending_inits, &tid);
	struct ipcrace_event *e;

	if (!p)
		return;
	e = event_reserve(type, p->obj);
	if (e) {
		e->addr = p->addr;
		e->stack_id = p->stack_id;
		e->result = result;
		resolve_key(e, p->addr);
		record_submit(e);
	}
	bpf_map_delete_elem(&pending_inits, &tid);
}

SEC("uprobe")
int BPF_KPROBE(once_enter)
{
	if (is_traced(current_tgid()))
		init_enter(ctx, EV_ONCE_ENTER);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(once_exit, long ret)
{
	init_exit(EV_ONCE_RET, (int)ret);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(guard_acquire_enter)
{
	if (is_traced(current_tgid()))
		init_enter(ctx, EV_GUARD_ACQUIRE_RET);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(guard_acquire_exit, long ret)
{
	init_exit(EV_GUARD_ACQUIRE_RET, (int)ret);
	return 0;
}

/* __cxa_guard_release: release-type, before the guard byte is set. */
SEC("uprobe")
int BPF_KPROBE(guard_release)
{
	struct ipcrace_event *e;

	if (!is_traced(current_tgid()))
		return 0;
	e = lock_event(ctx, EV_GUARD_RELEASE, bpf_get_attach_cookie(ctx), true);
	if (e)
		record_submit(e);
	return 0;
}

/* An empty program: the baseline cost of a bare uprobe, for benchmarks. */
SEC("uprobe")
int BPF_KPROBE(bare_uprobe)
{
	return 0;
}
