// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Uprobes on the lock and semaphore functions of libc (or of a static
 * binary). The attach cookie (lock_cookie.h) says what the hooked function
 * is (mutex, rwlock read side, trylock, ...) and its role: one program,
 * lock_call, serves the entry of every function and dispatches on the
 * role; one return program per role that has one. Event order (DESIGN.md):
 * attempt at entry, acquired at return with the result, release at entry.
 *
 * Where the kernel has uprobe_multi sessions (Linux 6.13), lock_call is
 * attached as one: it runs at the entry and, when the entry returns 0, at
 * the return too, and dispatches both on the role; the return programs
 * are then unused. A blocking lock of a mutex whose lock cannot fail
 * (normal, recursive, adaptive: no error check, not robust, no priority
 * protocol) then skips its return (a trap) and marks its attempt
 * EVF_ACQUIRE_DEFERRED: the analyzer takes the acquisition from the
 * thread's next event (analyzer/lock_defer.h).
 */
#include "common.bpf.h"
#include "key.bpf.h"
#include "ustack.bpf.h"
#include "lock_cookie.h"

struct pending_lock {
	__u64 addr;
	__u64 stack_id;
	__u64 arg0;
	struct ipcrace_key key;
	__u32 flags;
	__u16 obj;
	__u16 __pad;
};

/*
 * Entry state carried to the return probe, per thread, in task local
 * storage (one lookup, no hash update and delete per lock call; freed with
 * the thread): valid from the entry to the return.
 */
struct pending_slot {
	struct pending_lock lock;
	__u32 valid;
	__u32 links_epoch;	/* lock_links_epoch at the entry */
	/*
	 * A release kept pending from its first hit to its return
	 * (LOCK_COOKIE_PENDING_RELEASE): the lock's address (0: none) and the
	 * stack pointer at the site. Apart from lock, which a lock attempt
	 * may hold while a signal handler posts a semaphore.
	 */
	__u64 release_addr;
	__u64 release_sp;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending_slot);
} pending_locks SEC(".maps");

static __always_inline struct pending_slot *pending_slot(bool create)
{
	return bpf_task_storage_get(&pending_locks, bpf_get_current_task_btf(), NULL,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

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

/*
 * Processes whose probes are being armed (tracer/probes.c, a process
 * attached while it runs): a link arms its probes one after the other, and
 * a lock seen without its unlock (a lock held for ever, then a double
 * lock) or an unlock without its lock (a misuse) would follow. Their lock
 * calls are not recorded until every probe of the file is in place.
 * lock_arming_nr counts them (userspace): no lookup while it is 0.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} lock_arming SEC(".maps");

volatile __u32 lock_arming_nr;

/*
 * Bumped by userspace each time a process's lock links are made again
 * after a sampling pause (tracer/probes.c, probes__resume_pid): a call
 * entered before the pause had its return dropped with the link, so a
 * slot stashed before then is no call in progress.
 */
volatile __u32 lock_links_epoch;

static __always_inline bool lock_probes_arming(__u32 tgid)
{
	return lock_arming_nr && bpf_map_lookup_elem(&lock_arming, &tgid);
}

/* Offset of __kind in glibc's pthread_mutex_t on x86-64 (ABI-stable). */
#define GLIBC_MUTEX_KIND_OFF 16
/* __kind bits whose lock can fail: error checking; robust, priority inherit, priority protect */
#define GLIBC_MUTEX_KIND_ERRORCHECK 0x2u
#define GLIBC_MUTEX_KIND_TYPE_MASK 0x3u
#define GLIBC_MUTEX_KIND_CAN_FAIL 0x70u

/* lock_call is attached as a uprobe_multi session (set by userspace before load). */
const volatile bool lock_sessions = false;

/* The session return values of an entry: run the return, or not. */
#define SESSION_RETURN 0
#define SESSION_NO_RETURN 1

/*
 * In a session, is this run the return? There the function address (the
 * probe's) differs from the ip (the caller's); at the entry they are one.
 * Not the bpf_session_is_return kfunc: a kfunc makes libbpf load all of
 * the kernel's BTF at every start.
 */
static __always_inline bool session_is_return(struct pt_regs *ctx)
{
	return lock_sessions && bpf_get_func_ip(ctx) != PT_REGS_IP(ctx);
}

/* A lock of this mutex always succeeds: its acquisition needs no return probe. */
static __always_inline bool mutex_lock_cannot_fail(__u64 kind)
{
	return !(kind & GLIBC_MUTEX_KIND_CAN_FAIL) &&
	       (kind & GLIBC_MUTEX_KIND_TYPE_MASK) != GLIBC_MUTEX_KIND_ERRORCHECK;
}

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
	return cookie & LOCK_COOKIE_ARG2 ? arg2 : arg1;
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
	e = event_reserve(type, lock_cookie_obj(cookie));
	if (!e)
		return NULL;
	e->addr = addr;
	e->flags |= lock_cookie_flags(cookie);
	e->stack_id = stack_id;
	if (e->obj == OBJ_MUTEX) {
		bpf_probe_read_user(&kind, sizeof(kind), (void *)(addr + GLIBC_MUTEX_KIND_OFF));
		e->arg0 = kind;
	}
	resolve_key(e, addr);
	return e;
}

/*
 * Submits e and keeps what the return probe needs to report the outcome.
 * Without a slot (out of memory) the return goes unreported: flagged as a
 * loss, as a full ring buffer would be.
 */
static __always_inline void submit_and_stash(struct ipcrace_event *e, struct pending_slot *slot)
{
	if (slot) {
		slot->lock.addr = e->addr;
		slot->lock.stack_id = e->stack_id;
		slot->lock.arg0 = e->arg0;
		slot->lock.key = e->key;
		slot->lock.flags = e->flags & ~EVF_AFTER_LOSS;
		slot->lock.obj = e->obj;
		slot->valid = 1;
		slot->links_epoch = lock_links_epoch;
	}
	record_submit(e);
	if (!slot)
		note_loss();
}

/* The return (of type) that ends the thread's pending call, with its result. */
static __always_inline void emit_return(__u16 type, int result)
{
	struct pending_slot *slot = pending_slot(false);
	struct pending_lock *p;
	struct ipcrace_event *e;

	if (!slot || !slot->valid)
		return;
	slot->valid = 0;
	p = &slot->lock;
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
}

/* The attempt; SESSION_NO_RETURN when the return need not run (or another run reports it). */
static __always_inline int lock_enter(struct pt_regs *ctx, __u64 cookie)
{
	struct pending_slot *slot;
	struct ipcrace_event *e;

	/* a spin loop that branches back over the probe: one attempt only */
	slot = pending_slot(true);
	if (slot && slot->valid && slot->lock.addr == lock_arg(ctx, cookie) &&
	    slot->links_epoch == lock_links_epoch)
		return SESSION_NO_RETURN;
	e = lock_event(ctx, EV_LOCK_ATTEMPT, cookie, true);
	if (e && lock_sessions && e->obj == OBJ_MUTEX && !(e->flags & (EVF_TRY | EVF_TIMED)) &&
	    mutex_lock_cannot_fail(e->arg0)) {
		e->flags |= EVF_ACQUIRE_DEFERRED;
		record_submit(e);
		return SESSION_NO_RETURN;
	}
	if (e) {
		submit_and_stash(e, slot);
	} else if (slot) {
		/*
		 * The attempt was lost (ring buffer full): the acquisition
		 * must still be reported, or the analyzer sees a release of a
		 * lock never taken. The key is left for the analyzer to resolve.
		 */
		struct pending_lock lost = {
			.addr = lock_arg(ctx, cookie),
			.flags = lock_cookie_flags(cookie) | EVF_KEY_UNRESOLVED,
			.obj = lock_cookie_obj(cookie),
			.key = { .space = KEY_PRIVATE, .a = current_tgid() },
		};

		lost.key.b = lost.addr;
		slot->lock = lost;
		slot->valid = 1;
		slot->links_epoch = lock_links_epoch;
	}
	return SESSION_RETURN;
}

SEC("uretprobe")
int BPF_KRETPROBE(lock_exit, long ret)
{
	emit_return(EV_LOCK_ACQUIRED, (int)ret);
	return 0;
}

/*
 * Whether this hit of a pending release's site is a retry of the call
 * that is pending: the same lock and stack pointer, and the return address
 * already the uretprobe trampoline (the first hit armed the return). A new
 * call has its caller's address there, so a pending state whose return
 * never ran (a signal handler that longjmp'ed out) cannot swallow it.
 */
static __always_inline bool release_is_retry(struct pt_regs *ctx, const struct pending_slot *slot,
					     __u64 addr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 ret = 0, trampoline;

	if (slot->release_addr != addr || slot->release_sp != PT_REGS_SP(ctx))
		return false;
	bpf_probe_read_user(&ret, sizeof(ret), (void *)PT_REGS_SP(ctx));
	trampoline = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	return ret && ret == trampoline;
}

/*
 * unlock, sem_post: release-type, emitted before the lock is given up.
 * A site inside the function's retry loop (LOCK_COOKIE_PENDING_RELEASE:
 * sem_post's jcc before its compare-and-swap, which a lost race sends
 * back) is hit again by every retry of one call: the first hit emits the
 * release, which still comes before the compare-and-swap that makes the
 * post visible, and keeps it pending until the return (SESSION_RETURN,
 * or release_exit), so that the retries emit nothing.
 */
static __always_inline int lock_release(struct pt_regs *ctx, __u64 cookie)
{
	__u64 addr = lock_arg(ctx, cookie);
	struct pending_slot *slot = NULL;
	struct ipcrace_event *e;

	if (cookie & LOCK_COOKIE_PENDING_RELEASE) {
		slot = pending_slot(true);
		if (slot && release_is_retry(ctx, slot, addr))
			return SESSION_NO_RETURN;
	}
	e = lock_event(ctx, EV_LOCK_RELEASE, cookie, true);
	if (e)
		record_submit(e);
	if (!slot)
		return SESSION_NO_RETURN;
	slot->release_addr = addr;
	slot->release_sp = PT_REGS_SP(ctx);
	return SESSION_RETURN;
}

/* The return of a pending release: the next hit is a new call. */
static __always_inline void release_return(void)
{
	struct pending_slot *slot = pending_slot(false);

	if (slot)
		slot->release_addr = 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(release_exit)
{
	release_return();
	return 0;
}

static __always_inline void lock_destroy(struct pt_regs *ctx, __u64 cookie)
{
	struct ipcrace_event *e;

	e = lock_event(ctx, EV_LOCK_DESTROY, cookie, true);
	if (e)
		record_submit(e);
}

/*
 * pthread_cond_wait gives its mutex up and takes it back inside libc,
 * through internal entry points no probe sees: the entry is a release of the
 * mutex and the return an acquisition, so a signaller's unlock still orders
 * before the waiter's wake-up.
 */
static __always_inline void cond_wait_enter(struct pt_regs *ctx, __u64 cookie)
{
	struct ipcrace_event *e;

	/* the condition variable's own words are synchronization (EV_SYNC_OBJECT) */
	e = lock_event(ctx, EV_SYNC_OBJECT, OBJ_COND, false);
	if (e)
		record_submit(e);
	e = lock_event(ctx, EV_LOCK_RELEASE, cookie, true);
	if (e)
		submit_and_stash(e, pending_slot(true));
}

/* The mutex is held again when pthread_cond_*wait returns, whatever its result. */
SEC("uretprobe")
int BPF_KRETPROBE(cond_wait_exit)
{
	emit_return(EV_LOCK_ACQUIRED, 0);
	return 0;
}

/*
 * pthread_cond_init/signal/broadcast/destroy, pthread_barrier_init/destroy:
 * they name an object whose words the library reads and writes with plain
 * moves (glibc's condition variable counters are relaxed atomics), so the
 * analyzer and the watcher must know them as synchronization. No stack:
 * this event is never shown.
 */
static __always_inline void sync_object(struct pt_regs *ctx, __u64 cookie)
{
	struct ipcrace_event *e;

	e = lock_event(ctx, EV_SYNC_OBJECT, cookie, false);
	if (e)
		record_submit(e);
}

/* Offset of count in glibc's struct pthread_barrier (in, current_round, count). */
#define GLIBC_BARRIER_COUNT_OFF 8

/*
 * pthread_barrier_wait: the arrival at entry is release-type (DESIGN.md),
 * with the barrier's count, so that the analyzer can tell rounds apart;
 * the departure at return.
 */
static __always_inline void barrier_enter(struct pt_regs *ctx, __u64 cookie)
{
	struct ipcrace_event *e;
	__u32 count = 0;

	e = lock_event(ctx, EV_BARRIER_ARRIVE, cookie, true);
	if (!e)
		return;
	bpf_probe_read_user(&count, sizeof(count), (void *)(e->addr + GLIBC_BARRIER_COUNT_OFF));
	e->arg0 = count;
	submit_and_stash(e, pending_slot(true));
}

SEC("uretprobe")
int BPF_KRETPROBE(barrier_exit, long ret)
{
	emit_return(EV_BARRIER_DEPART, (int)ret);
	return 0;
}

/* pthread_create(pthread_t *thread, ...): remember where the id goes. */
static __always_inline void thread_create_enter(struct pt_regs *ctx)
{
	__u64 thread_ptr = PT_REGS_PARM1(ctx);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&pending_threads, &tid, &thread_ptr, BPF_ANY);
}

static __always_inline void thread_create_return(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ipcrace_event *e;
	__u64 *ptr, thread = 0;

	ptr = bpf_map_lookup_elem(&pending_threads, &tid);
	if (!ptr)
		return;
	bpf_probe_read_user(&thread, sizeof(thread), (void *)*ptr);
	bpf_map_delete_elem(&pending_threads, &tid);
	e = event_reserve(EV_THREAD_CREATE_RET, OBJ_NONE);
	if (!e)
		return;
	e->arg0 = thread;
	e->result = (int)ret;
	record_submit(e);
}

SEC("uretprobe")
int BPF_KRETPROBE(thread_create_exit, long ret)
{
	thread_create_return(ret);
	return 0;
}

/* pthread_join(pthread_t thread, ...): acquire-type, at return. */
static __always_inline void thread_join_enter(struct pt_regs *ctx)
{
	__u64 thread = PT_REGS_PARM1(ctx);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&pending_threads, &tid, &thread, BPF_ANY);
}

static __always_inline void thread_join_return(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ipcrace_event *e;
	__u64 *thread;

	thread = bpf_map_lookup_elem(&pending_threads, &tid);
	if (!thread)
		return;
	e = event_reserve(EV_THREAD_JOIN_RET, OBJ_NONE);
	if (e) {
		e->arg0 = *thread;
		e->result = (int)ret;
		record_submit(e);
	}
	bpf_map_delete_elem(&pending_threads, &tid);
}

SEC("uretprobe")
int BPF_KRETPROBE(thread_join_exit, long ret)
{
	thread_join_return(ret);
	return 0;
}

/*
 * pthread_once(once_control, init): the state word at entry says whether
 * this caller may run the initializer (not started), waits (in progress)
 * or returns at once (done); the return is acquire-type.
 * __cxa_guard_acquire(guard): the return says whether the caller must
 * initialize (1) or another thread did (0). Both kept in pending_inits.
 */
static __always_inline void init_enter(struct pt_regs *ctx, __u64 cookie, __u16 type)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_lock p = {
		.addr = lock_arg(ctx, cookie),
		.obj = lock_cookie_obj(cookie),
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

SEC("uretprobe")
int BPF_KRETPROBE(once_exit, long ret)
{
	init_exit(EV_ONCE_RET, (int)ret);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(guard_acquire_exit, long ret)
{
	init_exit(EV_GUARD_ACQUIRE_RET, (int)ret);
	return 0;
}

/* __cxa_guard_release: release-type, before the guard byte is set. */
static __always_inline void guard_release(struct pt_regs *ctx, __u64 cookie)
{
	struct ipcrace_event *e;

	e = lock_event(ctx, EV_GUARD_RELEASE, cookie, true);
	if (e)
		record_submit(e);
}

/* A session's return: what the role's return program does (lock_sessions). */
static __always_inline void session_return(struct pt_regs *ctx, __u64 cookie)
{
	long ret = PT_REGS_RC(ctx);

	switch (lock_cookie_role(cookie)) {
	case LOCK_ROLE_LOCK:
		emit_return(EV_LOCK_ACQUIRED, (int)ret);
		break;
	case LOCK_ROLE_COND_WAIT:
		emit_return(EV_LOCK_ACQUIRED, 0);
		break;
	case LOCK_ROLE_THREAD_CREATE:
		thread_create_return(ret);
		break;
	case LOCK_ROLE_THREAD_JOIN:
		thread_join_return(ret);
		break;
	case LOCK_ROLE_BARRIER:
		emit_return(EV_BARRIER_DEPART, (int)ret);
		break;
	case LOCK_ROLE_ONCE:
		init_exit(EV_ONCE_RET, (int)ret);
		break;
	case LOCK_ROLE_GUARD_ACQUIRE:
		init_exit(EV_GUARD_ACQUIRE_RET, (int)ret);
		break;
	case LOCK_ROLE_RELEASE:
		release_return();
		break;
	case LOCK_ROLE_DESTROY:
	case LOCK_ROLE_SYNC_OBJECT:
	case LOCK_ROLE_GUARD_RELEASE:
		break;
	}
}

/*
 * The entry of every probed function: its role from the cookie. One
 * program, so that the verifier checks capture_stack once per load. As a
 * session (lock_sessions) also the return, and the entry's result says
 * whether the return runs: an untraced process's calls never trap twice.
 */
static __always_inline int lock_call_entry(struct pt_regs *ctx, __u64 cookie)
{
	__u32 tgid = current_tgid();

	if (!is_traced(tgid) || lock_probes_arming(tgid))
		return SESSION_NO_RETURN;
	switch (lock_cookie_role(cookie)) {
	case LOCK_ROLE_LOCK:
		return lock_enter(ctx, cookie);
	case LOCK_ROLE_RELEASE:
		return lock_release(ctx, cookie);
	case LOCK_ROLE_DESTROY:
		lock_destroy(ctx, cookie);
		return SESSION_NO_RETURN;
	case LOCK_ROLE_COND_WAIT:
		cond_wait_enter(ctx, cookie);
		return SESSION_RETURN;
	case LOCK_ROLE_THREAD_CREATE:
		thread_create_enter(ctx);
		return SESSION_RETURN;
	case LOCK_ROLE_THREAD_JOIN:
		thread_join_enter(ctx);
		return SESSION_RETURN;
	case LOCK_ROLE_SYNC_OBJECT:
		sync_object(ctx, cookie);
		return SESSION_NO_RETURN;
	case LOCK_ROLE_BARRIER:
		barrier_enter(ctx, cookie);
		return SESSION_RETURN;
	case LOCK_ROLE_ONCE:
		init_enter(ctx, cookie, EV_ONCE_ENTER);
		return SESSION_RETURN;
	case LOCK_ROLE_GUARD_ACQUIRE:
		init_enter(ctx, cookie, EV_GUARD_ACQUIRE_RET);
		return SESSION_RETURN;
	case LOCK_ROLE_GUARD_RELEASE:
		guard_release(ctx, cookie);
		return SESSION_NO_RETURN;
	}
	return SESSION_NO_RETURN;
}

/*
 * Not a session: 0 whatever the entry says (a perf-event uprobe's program
 * returning non-zero asks for a perf sample as well).
 */
SEC("uprobe")
int BPF_KPROBE(lock_call)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	int run_return;

	if (session_is_return(ctx)) {
		session_return(ctx, cookie);
		return 0;
	}
	run_return = lock_call_entry(ctx, cookie);
	return lock_sessions ? run_return : 0;
}

/* An empty program: the baseline cost of a bare uprobe, for benchmarks. */
SEC("uprobe")
int BPF_KPROBE(bare_uprobe)
{
	return 0;
}
