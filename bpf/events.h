/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records shared by the BPF programs, the tracer and the trace file.
 *
 * This header includes nothing: the BPF side gets __u64 and friends from
 * vmlinux.h, userspace from <linux/types.h>. Fixed-width types only, 8-byte
 * fields first, explicit padding; userspace checks the sizes with
 * _Static_assert (tracer/ and analyzer/trace.c), because these structs are
 * written to trace files byte for byte and the format must not drift.
 */
#ifndef IPCRACE_EVENTS_H
#define IPCRACE_EVENTS_H

#define IPCRACE_COMM_LEN 16
#define IPCRACE_MAX_STACK 32

/* Ring buffer record kinds: every record starts with struct ipcrace_rec. */
enum ipcrace_rec_kind {
	IPCRACE_REC_EVENT = 1,
	IPCRACE_REC_STACK = 2,
	IPCRACE_REC_PATH = 3,
	IPCRACE_REC_WAKE = 4,	/* header only: wakes the consumer, carries nothing */
	IPCRACE_REC_USTACK = 5,	/* struct ipcrace_ustack: registers + top of the user stack */
	IPCRACE_REC_JOIN = 6,	/* struct ipcrace_join: a process became traced without a fork */
};

struct ipcrace_rec {
	__u32 kind;		/* enum ipcrace_rec_kind */
	__u32 size;		/* whole record, header included */
};

/*
 * --cgroup: a process entered the traced cgroup (moved there, or forked
 * into it by an untraced parent) and BPF marked it traced: userspace
 * probes and describes it. Not written to the trace.
 */
struct ipcrace_join {
	struct ipcrace_rec hdr;
	__u32 pid;
	__u32 __pad;
};

/*
 * Event types. The event-order rule (DESIGN.md): release-type events are
 * emitted at entry, before the operation takes effect; acquire-type events
 * at return, with the result. Stream order is then consistent with
 * causality.
 */
enum ipcrace_event_type {
	/* process lifecycle (raw tracepoints) */
	EV_FORK = 1,		/* new process: arg0 = child pid, arg1 = child tid */
	EV_THREAD_SPAWN,	/* new thread in this process: arg0 = pid, arg1 = child tid */
	EV_EXEC,		/* the process exec'd (comm is the new one) */
	EV_EXIT,		/* a thread exits: arg0 = exit code, flags EVF_GROUP_DEAD on the last */

	/* pthread_create / pthread_join (uprobes) */
	EV_THREAD_CREATE_RET,	/* pthread_create returned: arg0 = pthread_t, result */
	EV_THREAD_JOIN_RET,	/* pthread_join returned: arg0 = pthread_t joined, result */

	/* locks and semaphores (uprobes) */
	EV_LOCK_ATTEMPT,	/* entry of a lock/wait call, before it can block */
	EV_LOCK_ACQUIRED,	/* return of a lock/wait call; result = its return value */
	EV_LOCK_RELEASE,	/* entry of unlock/post */
	EV_LOCK_DESTROY,	/* entry of pthread_mutex_destroy / sem_destroy */

	/* address space (raw syscall tracepoints, emitted at exit) */
	EV_MMAP,		/* addr = start, arg0 = length, arg1 = prot | flags << 32 */
	EV_MUNMAP,		/* addr = start, arg0 = length */
	EV_MREMAP,		/* addr = new start, arg0 = new length, arg1 = old start */
	EV_SHMAT,		/* addr = start, arg0 = shmid */
	EV_SHMDT,		/* addr = start */

	/* IPC channels (issue: IPC tracing) */
	EV_CHAN_SEND,		/* entry of write/send: arg0 = bytes requested, arg1 = fd */
	EV_CHAN_RECV,		/* return of read/recv with data: arg0 = bytes, arg1 = fd */
				/* (sendmmsg/recvmmsg: arg0 = messages; msgsnd/msgrcv: arg1 = msqid) */
	EV_FUTEX_WAKE,		/* entry of FUTEX_WAKE */
	EV_FUTEX_WAIT_RET,	/* FUTEX_WAIT returned; result */
	EV_WAIT_REAPED,		/* wait4/waitid reaped arg0 = pid; arg1 = wait status (wait4) */
	EV_NAME_OBJECT,		/* shm_open/memfd_create/mq_open: key names a path in comm-less arg */

	/* memory accesses (perf breakpoints) */
	EV_MEM_ACCESS,		/* addr = accessed address, arg0 = ip, arg1 = size */

	/*
	 * A channel endpoint appeared (pipe, pipe2, socketpair, connect,
	 * accept, accept4; at exit, on success): arg0 = fd, arg1 = the other
	 * fd (pipe: write end, socketpair: second socket, accept: listening
	 * socket; -1 for connect); key = the channel a read/recv on arg0 uses.
	 * Informational: no happens-before edge.
	 */
	EV_CHAN_OPEN,

	/*
	 * A call named a synchronization object whose words are the
	 * library's own, never data (condition variables: init, wait,
	 * signal, broadcast, destroy; barrier init and destroy): addr/key =
	 * the object, obj = its kind. No happens-before edge.
	 */
	EV_SYNC_OBJECT,
	/*
	 * pthread_barrier_wait: arrival at entry (release-type; arg0 = the
	 * barrier's count, read from glibc's struct), departure at return
	 * (acquire-type; result 0 or PTHREAD_BARRIER_SERIAL_THREAD). Every
	 * arrival of a round happens before every departure of that round.
	 */
	EV_BARRIER_ARRIVE,
	EV_BARRIER_DEPART,
	/*
	 * pthread_once: entry (arg0 = the once_control word as the call found
	 * it) and return. The initializer happens before every return.
	 */
	EV_ONCE_ENTER,
	EV_ONCE_RET,
	/*
	 * C++ static initialization: __cxa_guard_acquire returned (result 1:
	 * the caller initializes; 0: already done, an acquire), and
	 * __cxa_guard_release at entry (release-type: the initializer is
	 * done). addr/key = the guard; obj OBJ_GUARD.
	 */
	EV_GUARD_ACQUIRE_RET,
	EV_GUARD_RELEASE,
	/*
	 * connect on a stream socket, at entry (release-type: what the
	 * connector did is before the accept that takes the connection):
	 * arg0 = fd; key = the connection as the accepting side names it
	 * (CHANKEY_UNIX: the connecting sock; CHANKEY_INET_STREAM: a = the
	 * listener endpoint, b = the connector's endpoint, 0 when it is not
	 * bound yet).
	 */
	EV_CHAN_CONNECT,
	/*
	 * accept returned a connection (acquire-type; after EV_CHAN_OPEN):
	 * arg0 = new fd, arg1 = listening fd; key = the connection as
	 * EV_CHAN_CONNECT names it (CHANKEY_CONNECT_UNIX: the accepted
	 * socket's peer; CHANKEY_CONNECT_INET: a = its local endpoint, b =
	 * the connector's).
	 */
	EV_CHAN_ACCEPT,
	/*
	 * Made by the tracer, not BPF: process pid runs code whose
	 * synchronization ipcrace cannot see (analyzer/syncvis.h): a library
	 * with atomic instructions the access probes do not cover, or an
	 * executable not probed. addr = the first atomic instruction in the
	 * process, arg0 = how many the file holds, arg1 = enum
	 * ipcrace_unseen_code. No happens-before edge.
	 */
	EV_SYNC_UNSEEN,
	/*
	 * A confirmation hold (bpf/confirm.bpf.h): the thread was held at its
	 * access to a candidate word before the access ran. ts = when the
	 * hold began, addr = the word (key resolved), arg0 = the accessing
	 * instruction, arg1 = how long it was held (ns); flags EVF_READ /
	 * EVF_WRITE of the held access; result 1 when the word's value
	 * changed during the hold (another thread wrote it: a conflict no
	 * lock held across the hold allows), else 0.
	 */
	EV_CONFIRM_HOLD,
	/*
	 * The release half of an atomic RMW (LOCK-prefixed, XCHG), from an
	 * access probe at or just before it, before it runs (release-type):
	 * what the thread did so far is before any later access of the word.
	 * The RMW itself follows as an EV_MEM_ACCESS recorded after it ran.
	 * addr = the word (key resolved), arg0 = the RMW's instruction,
	 * arg1 = its size; flags EVF_PROBE | EVF_ATOMIC; no stack.
	 */
	EV_ATOMIC_RELEASE,
	/*
	 * Signals as synchronization (bpf/signal.bpf.h). EV_SIGNAL_SEND,
	 * release-type: the thread installs a handler (rt_sigaction with a new
	 * action, at entry) or sends a signal to a traced process (kill,
	 * tgkill, tkill, sigqueue; the signal_generate tracepoint, once it is
	 * queued). EV_SIGNAL_DELIVER, acquire-type: the thread is about to run
	 * a handler (signal_deliver). arg0 = the signal, arg1 = enum
	 * ipcrace_signal_how (SEND), addr = the receiving process, key =
	 * KEY_PRIVATE (a = receiving process, b = signal); obj OBJ_SIGNAL.
	 * Every send of a signal to a process happens before every later
	 * handler run of it there.
	 */
	EV_SIGNAL_SEND,
	EV_SIGNAL_DELIVER,
	/*
	 * Made by the tracer, not BPF: a sampling window of process pid's
	 * lock probes (--overhead, tracer/lock_sampler.h). arg0 = enum
	 * ipcrace_lock_gap_edge: LOCK_GAP_BEGIN comes before, in stream order,
	 * every lock or IPC call of pid its probes could miss; LOCK_GAP_END
	 * after all of them (arg1 = the begin's ts). Between the two, pid's
	 * synchronization is partly unseen (analyzer: lockstate.h,
	 * race.h). tid = pid; no object, no stack.
	 */
	EV_LOCK_GAP,

	EV_TYPE_MAX,
};

/* EV_LOCK_GAP arg0. */
enum ipcrace_lock_gap_edge {
	LOCK_GAP_BEGIN = 1,
	LOCK_GAP_END = 2,
};

/* EV_SYNC_UNSEEN arg1: why the code's atomics are not seen. */
enum ipcrace_unseen_code {
	UNSEEN_CODE_LIBRARY = 1,	/* a library the access probes do not cover */
	UNSEEN_CODE_EXECUTABLE,		/* the executable, without access probes (off, over the limit) */
};

/* Object kinds (what a lock or channel is). */
enum ipcrace_obj_kind {
	OBJ_NONE = 0,
	OBJ_MUTEX,
	OBJ_RWLOCK,		/* flags EVF_READ for rdlock, EVF_WRITE for wrlock */
	OBJ_SPIN,
	OBJ_SEM,		/* POSIX semaphore, named or unnamed */
	OBJ_SYSV_SEM,
	OBJ_FLOCK,
	OBJ_FCNTL_LOCK,
	OBJ_PIPE,
	OBJ_FIFO,
	OBJ_SOCKET,
	OBJ_MQ,
	OBJ_SYSV_MSG,
	OBJ_EVENTFD,
	OBJ_FUTEX,
	OBJ_MEMORY,
	OBJ_COND,		/* pthread_cond_t */
	OBJ_BARRIER,		/* pthread_barrier_t */
	OBJ_ONCE,		/* pthread_once_t */
	OBJ_GUARD,		/* C++ static-initialization guard (64 bits) */
	OBJ_SIGNAL,		/* a signal number of a process (EV_SIGNAL_*) */
	OBJ_KIND_MAX,
};

/* EV_SIGNAL_SEND arg1: how the thread orders the handler's run. */
enum ipcrace_signal_how {
	SIGNAL_BY_SIGACTION = 1,	/* installed the handler */
	SIGNAL_BY_KILL = 2,		/* sent the signal */
};

/* Event flags. */
#define EVF_TRY		(1u << 0)	/* trylock / trywait: never blocks */
#define EVF_TIMED	(1u << 1)	/* timed or clock variant */
#define EVF_READ	(1u << 2)	/* rwlock read side; memory read */
#define EVF_WRITE	(1u << 3)	/* rwlock write side; memory write */
#define EVF_GROUP_DEAD	(1u << 4)	/* EV_EXIT: last thread of the process */
#define EVF_ATOMIC	(1u << 5)	/* memory access by a LOCK-prefixed or XCHG insn */
#define EVF_KEY_UNRESOLVED (1u << 6)	/* BPF could not look up the VMA */
/*
 * The release function shares its address with the object's init function
 * (glibc: pthread_spin_unlock is pthread_spin_init), so this "release" may
 * be an initialisation: not a misuse when the thread never held the lock.
 */
#define EVF_MAYBE_INIT	(1u << 7)
/* EV_MMAP made up at exec for the text of the new executable (mapped by the
 * kernel, not by an mmap call) */
#define EVF_EXEC_IMAGE	(1u << 8)
/*
 * The first event reserved after one or more were lost (ring buffer full),
 * on any CPU: the analyzer forgets what the lost events could have changed.
 */
#define EVF_AFTER_LOSS	(1u << 9)
/*
 * EV_MEM_ACCESS from an access probe (bpf/access.bpf.c): arg0 is the exact
 * address of the accessing instruction, arg1 the bytes accessed, read/write
 * decoded from the operand (a watchpoint hit instead reports the next
 * instruction, classified by the tracer).
 */
#define EVF_PROBE	(1u << 10)
/*
 * EV_MEM_ACCESS by a relaxed atomic (C11 memory_order_relaxed, named by
 * the source line the tracer found for the instruction): an atomic access,
 * never a data race, that orders nothing (x86 would order it; C11 does not,
 * and the program's correctness may not rely on it).
 */
#define EVF_RELAXED	(1u << 11)
/*
 * EV_LOCK_ATTEMPT of a call whose return is not probed (a blocking lock of
 * a mutex kind whose lock cannot fail: bpf/locks.bpf.c): no
 * EV_LOCK_ACQUIRED follows. The call acquired the lock by the thread's next
 * event, whatever it is, but for the call's own futex waits and accesses
 * to the lock's words (analyzer/lock_defer.h): the holder's release was
 * emitted before the lock became free, so it precedes that event in stream
 * order as it would precede a return probe's.
 */
#define EVF_ACQUIRE_DEFERRED (1u << 12)
/*
 * EV_MEM_ACCESS of a load recorded by the probe at the instruction after
 * it (AOP_POST, bpf/access.bpf.c): after it ran. A probe's other plain
 * accesses are recorded before they run: an acquire load among them may
 * run later, and read a release recorded after it (the analyzer lets it
 * acquire that too, at its thread's next event: hb_sync.c).
 */
#define EVF_AFTER_RUN	(1u << 13)
/*
 * EV_MEM_ACCESS by a plain load or store whose source names an ordered
 * atomic (acquire, release, acq_rel, seq_cst: AOP_ORDERED at a probe, the
 * tracer's classification of a watchpoint hit): a C11 atomic compiled to
 * a plain move. Its location is an atomic variable, as an RMW of it makes
 * one: a flag only ever stored with release stores and loaded with
 * acquire loads is synchronization, not data.
 */
#define EVF_ORDERED	(1u << 14)

/*
 * Object identity, process-independent (DESIGN.md, "Identity").
 * KEY_FILE: a word in a shared mapping or a channel: a = dev, b = inode,
 *           c = offset in the object (0 for a channel).
 * KEY_PRIVATE: a word in private memory: a = pid (tgid), b = address.
 * KEY_SYSV_SEM: a = semid, b = semnum. KEY_SYSV_MSG: a = msqid.
 *
 * Channels (EV_CHAN_*, obj OBJ_PIPE..OBJ_EVENTFD) use KEY_FILE with c saying
 * what a and b are. A channel key names one direction of data flow, so that
 * the send on one end and the receive on the other share it:
 * CHANKEY_INODE: pipe, FIFO, mq: a = dev, b = inode (both ends share it).
 * CHANKEY_UNIX: unix socket: a = the receiving struct sock (the sender's
 *           peer, the receiver's own), b = 0. An unconnected sendto cannot
 *           be resolved in BPF: key KEY_NONE with EVF_KEY_UNRESOLVED.
 * CHANKEY_INET_STREAM: TCP: a = receiver endpoint, b = sender endpoint,
 *           endpoint = IPv4 address (network order) << 16 | port (host
 *           order); IPv6 addresses are folded to 32 bits (v4-mapped: the
 *           IPv4 address).
 * CHANKEY_INET_DGRAM: UDP: a = the receiver's port, b = 0 (a receiver
 *           bound to 0.0.0.0 and a sender naming 127.0.0.1 still agree).
 * CHANKEY_EVENTFD: a = 0, b = the kernel's eventfd context (all eventfds
 *           share one anonymous inode).
 * Kernel addresses in keys are identities only; a freed and reused object
 * can alias an older one (extra edges, never missing ones).
 */
#define CHANKEY_INODE		0
#define CHANKEY_UNIX		1
#define CHANKEY_INET_STREAM	2
#define CHANKEY_INET_DGRAM	3
#define CHANKEY_EVENTFD		4
/* A stream connection being set up (EV_CHAN_CONNECT, EV_CHAN_ACCEPT). */
#define CHANKEY_CONNECT_UNIX	5	/* a = the connecting struct sock */
#define CHANKEY_CONNECT_INET	6	/* a = listener endpoint, b = connector endpoint */

enum ipcrace_key_space {
	KEY_NONE = 0,
	KEY_FILE,
	KEY_PRIVATE,
	KEY_SYSV_SEM,
	KEY_SYSV_MSG,
};

struct ipcrace_key {
	__u64 a;
	__u64 b;
	__u64 c;
	__u32 space;		/* enum ipcrace_key_space */
	__u32 __pad;
};

struct ipcrace_event {
	struct ipcrace_rec hdr;	/* kind = IPCRACE_REC_EVENT */
	__u64 ts;		/* CLOCK_MONOTONIC, ns */
	__u64 stack_id;		/* 0: no stack; else the id of a stack record */
	__u64 addr;		/* user address of the object in this process */
	__u64 arg0;
	__u64 arg1;
	struct ipcrace_key key;
	__u32 pid;		/* tgid */
	__u32 tid;
	__u16 type;		/* enum ipcrace_event_type */
	__u16 obj;		/* enum ipcrace_obj_kind */
	__s32 result;		/* return value of the call, for return events */
	__u32 flags;		/* EVF_* */
	__u32 __pad;
	char comm[IPCRACE_COMM_LEN];
};

/*
 * A user stack, deduplicated in the kernel by a 64-bit hash of its frames:
 * the record is emitted (before the event that names it) the first time the
 * stack is seen. ips[0] is the return address into the caller of the hooked
 * function; all frames are return addresses unless STACKF_EXACT_IP says
 * ips[0] is the exact instruction (memory accesses).
 */
#define STACKF_EXACT_IP (1u << 0)

struct ipcrace_stack {
	struct ipcrace_rec hdr;	/* kind = IPCRACE_REC_STACK */
	__u64 id;
	__u32 nr;		/* frames used in ips[] */
	__u32 flags;		/* STACKF_* */
	__u64 ips[IPCRACE_MAX_STACK];
};

/*
 * A user stack as registers and the top of the user stack, for DWARF
 * unwinding offline (perf's --call-graph dwarf): emitted instead of an
 * ipcrace_stack, with the same id naming, the first time its call site is
 * seen. regs[] are the user registers at the event (UREG_*): the ones
 * x86-64 CFA rules and the callee-saved restores need. data[] holds size
 * bytes of the user stack from regs[UREG_SP] up. first_frame, when not 0,
 * replaces the unwound frame 0 (the return address into the caller of a
 * hooked function, or the exact instruction of a memory access, as in
 * ipcrace_stack.ips[0]); STACKF_EXACT_IP as there.
 *
 * Only hdr.size bytes travel through the ring buffer (header + size,
 * rounded up to 8): data[] is the capacity, not what each record costs.
 */
enum ipcrace_ureg {
	UREG_IP = 0,
	UREG_SP,
	UREG_BP,
	UREG_BX,
	UREG_R12,
	UREG_R13,
	UREG_R14,
	UREG_R15,
	UREG_NR,
};

#define IPCRACE_USTACK_MAX 16384	/* capacity; the size sent is a knob */

struct ipcrace_ustack {
	struct ipcrace_rec hdr;	/* kind = IPCRACE_REC_USTACK */
	__u64 id;
	__u64 regs[UREG_NR];
	__u64 first_frame;
	__u32 size;		/* bytes used in data[] */
	__u32 flags;		/* STACKF_* */
	__u8 data[IPCRACE_USTACK_MAX];
};

#define IPCRACE_USTACK_HDR_LEN 96	/* offsetof(struct ipcrace_ustack, data) */

/*
 * The path of a mapped file, sent once per file (dev, ino) before the first
 * event that maps it: processes that exit before userspace reads their
 * /proc/PID/maps still symbolize. Built from dentries and mounts in BPF.
 */
#define IPCRACE_PATH_LEN 256

struct ipcrace_path {
	struct ipcrace_rec hdr;	/* kind = IPCRACE_REC_PATH */
	__u64 dev;		/* as in stat */
	__u64 ino;
	char path[IPCRACE_PATH_LEN];
};

/* Index of the counters in the per-CPU "counters" map. */
enum ipcrace_counter {
	CNT_LOST_EVENTS = 0,	/* ring buffer reservation failed */
	CNT_LOST_STACKS,
	CNT_USTACKS,		/* stack snapshots sent (call sites seen for the first time) */
	CNT_USTACK_BYTES,	/* their bytes in the ring buffer */
	CNT_USTACK_FALLBACK,	/* snapshots not taken (stack unreadable): frame pointers used */
	CNT_UNTRACED_PEER,	/* Unix-socket sends/receives not recorded: the peer is untraced */
	CNT_MAX,
};

#endif /* IPCRACE_EVENTS_H */
