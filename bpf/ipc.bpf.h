/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IPC syscalls, seen from the raw syscall tracepoints: the channels,
 * futexes, SysV semaphores, file locks and waits the happens-before order
 * is built from (DESIGN.md). Release-type events (send, wake, post, unlock)
 * are emitted at entry, acquire-type ones (receive with data, wait
 * returned, lock acquired) at exit with the result.
 *
 * Channel identities are read with CO-RE from the fd table at entry, while
 * the fd still names the file the syscall works on; see CHANKEY_* in
 * events.h for what a channel key is.
 */
#ifndef IPCRACE_IPC_BPF_H
#define IPCRACE_IPC_BPF_H

#include "ipc_abi.bpf.h"
#include "chan_direct.bpf.h"
#include "ustack.bpf.h"

/* ---- emitters ----------------------------------------------------------- */

/* --ipc-stacks: a stack for each channel event (a capture per I/O call) */
const volatile __u32 ipc_stacks = 0;

/* what: CHAN(type, obj) (a BPF call has at most five arguments) */
#define CHAN(type, obj) ((__u32)(type) << 16 | (obj))

IPCRACE_SUBPROG int emit_chan(void *ctx __arg_ctx, __u32 what, const struct ipcrace_key *k,
			      __u64 arg0, __u64 arg1)
{
	__u16 type = what >> 16, obj = what & 0xffff;
	struct ipcrace_event *e;
	__u64 stack_id;

	if (!k)
		return 0;
	/* the caller of the libc wrapper and its callers, as for locks */
	stack_id = ipc_stacks ? capture_stack(ctx, 0, 0) : 0;
	e = event_reserve(type, obj);
	if (!e)
		return 0;
	e->arg0 = arg0;
	e->arg1 = arg1;
	e->key = *k;
	e->stack_id = stack_id;
	if (k->space == KEY_NONE)
		e->flags |= EVF_KEY_UNRESOLVED;
	record_submit(e);
	return 0;
}

static __always_inline void emit_lock(__u16 type, __u16 obj, const struct ipcrace_key *k,
				      __u32 flags, __u64 stack_id, long ret)
{
	struct ipcrace_event *e = event_reserve(type, obj);

	if (!e)
		return;
	e->key = *k;
	e->flags |= flags;
	e->stack_id = stack_id;
	e->result = ret;
	record_submit(e);
}

IPCRACE_SUBPROG int emit_futex(__u16 type, __u64 uaddr, long ret, __u32 flags)
{
	struct ipcrace_event *e = event_reserve(type, OBJ_FUTEX);

	if (!e)
		return 0;
	e->addr = uaddr;
	e->result = ret;
	e->flags |= flags;
	resolve_key(e, uaddr);
	record_submit(e);
	return 0;
}

static __always_inline void emit_reaped(__u64 pid, __u64 status)
{
	struct ipcrace_event *e = event_reserve(EV_WAIT_REAPED, OBJ_NONE);

	if (!e)
		return;
	e->arg0 = pid;
	e->arg1 = status;
	record_submit(e);
}

/* Stashes a key for the exit hook. */
static __always_inline void xtra_put_key(struct syscall_args *a, const struct ipcrace_key *k,
					 __u16 obj, __u32 flags)
{
	a->extra[XTRA_KEY_A] = k->a;
	a->extra[XTRA_KEY_B] = k->b;
	a->extra[XTRA_KEY_C] = k->c;
	a->extra[XTRA_META] = xtra_meta(k->space, obj, flags);
}

static __always_inline void xtra_get_key(const struct syscall_args *a, struct ipcrace_key *k,
					 __u16 *obj, __u32 *flags)
{
	__u64 meta = a->extra[XTRA_META];

	k->a = a->extra[XTRA_KEY_A];
	k->b = a->extra[XTRA_KEY_B];
	k->c = a->extra[XTRA_KEY_C];
	k->space = meta & 0xffff;
	k->__pad = 0;
	*obj = (meta >> 16) & 0xffff;
	*flags = meta >> 32;
}

/* ---- channels ------------------------------------------------------------ */

/* Sum of the first iovecs' lengths: the bytes a vectored send asks for. */
static __always_inline __u64 iov_bytes(__u64 iov, __u64 cnt)
{
	struct ipc_iovec v;
	__u64 sum = 0;

	for (int i = 0; i < IPC_MAX_IOV; i++) {
		if (i >= cnt)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(iov + i * sizeof(v))))
			break;
		sum += v.len;
	}
	return sum;
}

/* A Unix socket's send or receive whose peer is untraced (unix_peer_untraced). */
static __always_inline bool chan_peer_untraced(__u16 obj, const struct ipcrace_key *k,
					       bool sending)
{
	return obj == OBJ_SOCKET && k->space == KEY_FILE && k->c == CHANKEY_UNIX &&
	       unix_peer_untraced(k->a, sending);
}

/*
 * Send: EV_CHAN_SEND now, nothing at exit (1), unless its peer is
 * untraced. Receive: the key is read
 * now, while the fd names the channel, and kept for the exit hook (0).
 * Not a channel: 1. direct: named with chan_identify_direct (a constant:
 * which sys_enter variant this is).
 */
static __always_inline int chan_enter(void *ctx, struct syscall_args *a, bool sending,
				      __u64 bytes, __u64 dst_user, bool direct)
{
	__u64 f = (__u64)fd_to_file(a->args[0]);
	struct ipcrace_key k = {};
	__u16 obj;

	if (direct)
		obj = chan_identify_direct(f, sending, dst_user, &k);
	else
		obj = chan_identify(f, sending, dst_user, &k);
	if (obj == OBJ_NONE)
		return 1;
	if (sending) {
		if (chan_peer_untraced(obj, &k, true)) {
			count(CNT_UNTRACED_PEER);
			return 1;
		}
		emit_chan(ctx, CHAN(EV_CHAN_SEND, obj), &k, bytes, a->args[0]);
		return 1;
	}
	xtra_put_key(a, &k, obj, 0);
	return 0;
}

static __always_inline int sendmsg_enter(void *ctx, struct syscall_args *a, bool direct)
{
	struct ipc_msghdr m = {};

	bpf_probe_read_user(&m, sizeof(m), (void *)a->args[1]);
	return chan_enter(ctx, a, true, iov_bytes(m.iov, m.iovlen), m.name, direct);
}

/* pipe, socketpair: int fds[2] at a user address; the key of fds[0]. */
static __always_inline void chan_open_pair(void *ctx, __u64 ufds)
{
	struct ipcrace_key k = {};
	__s32 fds[2];
	__u16 obj;

	if (bpf_probe_read_user(fds, sizeof(fds), (void *)ufds))
		return;
	obj = chan_identify((__u64)fd_to_file(fds[0]), false, 0, &k);
	if (obj != OBJ_NONE)
		emit_chan(ctx, CHAN(EV_CHAN_OPEN, obj), &k, fds[0], fds[1]);
}

static __always_inline void chan_open_one(void *ctx, __u64 fd, __u64 other)
{
	struct ipcrace_key k = {};
	__u16 obj;

	obj = chan_identify((__u64)fd_to_file(fd), false, 0, &k);
	if (obj != OBJ_NONE)
		emit_chan(ctx, CHAN(EV_CHAN_OPEN, obj), &k, fd, other);
}

/*
 * connect on a stream socket, at entry: release-type, before the
 * connection exists (EV_CHAN_CONNECT in events.h). Unix: the connecting
 * sock, which becomes the accepted one's peer. TCP: the endpoint connected
 * to (the accepted socket's local one) and ours if bound already.
 */
static __always_inline void connect_enter(void *ctx, const struct syscall_args *a)
{
	struct file *f = fd_to_file(a->args[0]);
	struct ipcrace_key k = { .space = KEY_FILE };
	struct socket *sock;
	struct sock *sk;
	__u16 family, type, sa[2] = {};
	__u32 addr = 0, w[4] = {};

	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & IPC_S_IFMT) != IPC_S_IFSOCK)
		return;
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	type = BPF_CORE_READ(sk, sk_type);
	if (family == IPC_AF_UNIX && (type == IPC_SOCK_STREAM || type == IPC_SOCK_SEQPACKET)) {
		k.a = (__u64)sk;
		k.c = CHANKEY_CONNECT_UNIX;
	} else if ((family == IPC_AF_INET || family == IPC_AF_INET6) && type == IPC_SOCK_STREAM) {
		if (bpf_probe_read_user(sa, sizeof(sa), (void *)a->args[1]))
			return;
		if (sa[0] == IPC_AF_INET) {
			bpf_probe_read_user(&addr, sizeof(addr), (void *)(a->args[1] + 4));
		} else if (sa[0] == IPC_AF_INET6) {
			bpf_probe_read_user(w, sizeof(w), (void *)(a->args[1] + 8));
			addr = in6_fold_words(w);
		} else {
			return;
		}
		k.a = inet_endpoint(addr, bpf_ntohs(sa[1]));
		if (BPF_CORE_READ(sk, __sk_common.skc_num)) {
			__u32 laddr = family == IPC_AF_INET ?
				      BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr) :
				      in6_fold(&sk->__sk_common.skc_v6_rcv_saddr);

			k.b = inet_endpoint(laddr, BPF_CORE_READ(sk, __sk_common.skc_num));
		}
		k.c = CHANKEY_CONNECT_INET;
	} else {
		return;
	}
	emit_chan(ctx, CHAN(EV_CHAN_CONNECT, OBJ_SOCKET), &k, a->args[0], 0);
}

/* accept returned fd: the connection as its connect named it. */
static __always_inline void accept_exit(void *ctx, __u64 fd, __u64 listening)
{
	struct file *f = fd_to_file(fd);
	struct ipcrace_key k = { .space = KEY_FILE };
	struct socket *sock;
	struct sock *sk;
	__u16 family;
	__u32 laddr, raddr;

	if (!f)
		return;
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == IPC_AF_UNIX) {
		k.a = (__u64)BPF_CORE_READ((struct unix_sock *)sk, peer);
		if (!k.a)
			return;
		k.c = CHANKEY_CONNECT_UNIX;
	} else if (family == IPC_AF_INET || family == IPC_AF_INET6) {
		if (family == IPC_AF_INET) {
			laddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
			raddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		} else {
			laddr = in6_fold(&sk->__sk_common.skc_v6_rcv_saddr);
			raddr = in6_fold(&sk->__sk_common.skc_v6_daddr);
		}
		k.a = inet_endpoint(laddr, BPF_CORE_READ(sk, __sk_common.skc_num));
		k.b = inet_endpoint(raddr, bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)));
		k.c = CHANKEY_CONNECT_INET;
	} else {
		return;
	}
	emit_chan(ctx, CHAN(EV_CHAN_ACCEPT, OBJ_SOCKET), &k, fd, listening);
}

/* mq_timedsend / mq_timedreceive: the queue is the inode of its mqueue file. */
static __always_inline int mq_enter(void *ctx, struct syscall_args *a, bool sending)
{
	struct file *f = fd_to_file(a->args[0]);
	struct ipcrace_key k = {};

	if (!f)
		return 1;
	key_from_file(&k, f);
	if (sending) {
		emit_chan(ctx, CHAN(EV_CHAN_SEND, OBJ_MQ), &k, a->args[2], a->args[0]);
		return 1;
	}
	xtra_put_key(a, &k, OBJ_MQ, 0);
	return 0;
}

/* ---- futex ----------------------------------------------------------------- */

static __always_inline __u32 futex_cmd(__u64 op)
{
	return op & ~(__u64)(IPC_FUTEX_PRIVATE_FLAG | IPC_FUTEX_CLOCK_REALTIME);
}

/*
 * Wakes (and PI unlock, requeue: they wake uaddr) at entry; waits and PI
 * locks are kept for the exit. Requeued waiters wake on uaddr2 but report
 * uaddr: an edge that is missed, documented (glibc stopped requeueing in
 * 2.25).
 */
static __always_inline int futex_enter(struct syscall_args *a)
{
	switch (futex_cmd(a->args[1])) {
	case IPC_FUTEX_WAKE:
	case IPC_FUTEX_WAKE_BITSET:
	case IPC_FUTEX_REQUEUE:
	case IPC_FUTEX_CMP_REQUEUE:
	case IPC_FUTEX_CMP_REQUEUE_PI:
	case IPC_FUTEX_UNLOCK_PI:
		emit_futex(EV_FUTEX_WAKE, a->args[0], 0, 0);
		return 1;
	case IPC_FUTEX_WAKE_OP:
		emit_futex(EV_FUTEX_WAKE, a->args[0], 0, 0);
		emit_futex(EV_FUTEX_WAKE, a->args[4], 0, 0);
		return 1;
	case IPC_FUTEX_WAIT:
	case IPC_FUTEX_WAIT_BITSET:
	case IPC_FUTEX_WAIT_REQUEUE_PI:
	case IPC_FUTEX_LOCK_PI:
	case IPC_FUTEX_LOCK_PI2:
	case IPC_FUTEX_TRYLOCK_PI:
		return 0;
	default:
		return 1;
	}
}

static __always_inline void futex_exit(const struct syscall_args *a, long ret)
{
	__u32 cmd = futex_cmd(a->args[1]);
	__u32 flags = 0;

	if (cmd == IPC_FUTEX_TRYLOCK_PI)
		flags |= EVF_TRY;
	else if (a->args[3])
		flags |= EVF_TIMED;
	emit_futex(EV_FUTEX_WAIT_RET, a->args[0], ret, flags);
}

/* futex_waitv returns the index of the futex that woke it. */
static __always_inline void futex_waitv_exit(const struct syscall_args *a, long ret)
{
	struct futex_waitv w = {};

	if (ret < 0 || ret >= IPC_FUTEX_WAITV_MAX)
		return;
	if (bpf_probe_read_user(&w, sizeof(w), (void *)(a->args[0] + ret * sizeof(w))))
		return;
	emit_futex(EV_FUTEX_WAIT_RET, w.uaddr, 0, a->args[3] ? EVF_TIMED : 0);
}

/* ---- file locks ------------------------------------------------------------ */

static __always_inline int flock_enter(void *ctx, struct syscall_args *a)
{
	struct file *f = fd_to_file(a->args[0]);
	struct ipcrace_key k = {};
	__u32 op = a->args[1], flags;

	if (!f)
		return 1;
	key_from_file(&k, f);
	if (op & IPC_LOCK_UN) {
		emit_lock(EV_LOCK_RELEASE, OBJ_FLOCK, &k, 0, 0, 0);
		return 1;
	}
	if (!(op & (IPC_LOCK_SH | IPC_LOCK_EX)))
		return 1;
	flags = op & IPC_LOCK_SH ? EVF_READ : EVF_WRITE;
	if (op & IPC_LOCK_NB)
		flags |= EVF_TRY;
	a->stack_id = capture_stack(ctx, 0, 0);
	emit_lock(EV_LOCK_ATTEMPT, OBJ_FLOCK, &k, flags, a->stack_id, 0);
	xtra_put_key(a, &k, OBJ_FLOCK, flags);
	return 0;
}

/* fcntl record locks: key (dev, inode, l_start) as given (l_whence ignored). */
static __always_inline int fcntl_enter(void *ctx, struct syscall_args *a)
{
	__u64 cmd = a->args[1];
	struct ipcrace_key k = {};
	struct ipc_flock fl = {};
	struct file *f;
	__u32 flags = 0;

	if (cmd != IPC_F_SETLK && cmd != IPC_F_SETLKW &&
	    cmd != IPC_F_OFD_SETLK && cmd != IPC_F_OFD_SETLKW)
		return 1;
	f = fd_to_file(a->args[0]);
	if (!f || bpf_probe_read_user(&fl, sizeof(fl), (void *)a->args[2]))
		return 1;
	key_from_file(&k, f);
	k.c = fl.start;
	if (fl.type == IPC_F_UNLCK) {
		emit_lock(EV_LOCK_RELEASE, OBJ_FCNTL_LOCK, &k, 0, 0, 0);
		return 1;
	}
	if (fl.type == IPC_F_RDLCK)
		flags = EVF_READ;
	else if (fl.type == IPC_F_WRLCK)
		flags = EVF_WRITE;
	else
		return 1;
	if (cmd == IPC_F_SETLK || cmd == IPC_F_OFD_SETLK)
		flags |= EVF_TRY;
	a->stack_id = capture_stack(ctx, 0, 0);
	emit_lock(EV_LOCK_ATTEMPT, OBJ_FCNTL_LOCK, &k, flags, a->stack_id, 0);
	xtra_put_key(a, &k, OBJ_FCNTL_LOCK, flags);
	return 0;
}

static __always_inline void lock_exit(const struct syscall_args *a, long ret)
{
	struct ipcrace_key k;
	__u32 flags;
	__u16 obj;

	xtra_get_key(a, &k, &obj, &flags);
	emit_lock(EV_LOCK_ACQUIRED, obj, &k, flags, a->stack_id, ret);
}

/* ---- SysV semaphores and message queues ------------------------------------ */

static __always_inline void sysv_sem_key(struct ipcrace_key *k, __u64 semid, __u16 num)
{
	k->space = KEY_SYSV_SEM;
	k->a = semid;
	k->b = num;
	k->c = 0;
	k->__pad = 0;
}

/*
 * Each sembuf: sem_op > 0 is a post (release now), < 0 a wait (attempt now,
 * acquired at exit with the call's result), 0 (wait-for-zero) no edge. The
 * sembufs read here are kept in extra[] (4 x 6 bytes) for the exit.
 */
static __always_inline int semop_enter(void *ctx, struct syscall_args *a)
{
	struct ipc_sembuf ops[IPC_MAX_SOPS] = {};
	struct ipcrace_key k;
	__u64 nsops = a->args[2];
	__u32 timed = a->nr == NR_semtimedop && a->args[3] ? EVF_TIMED : 0;
	bool waits = false;

	for (int i = 0; i < IPC_MAX_SOPS; i++) {
		if (i >= nsops)
			break;
		if (bpf_probe_read_user(&ops[i], sizeof(ops[i]),
					(void *)(a->args[1] + i * sizeof(ops[i]))))
			break;
		sysv_sem_key(&k, a->args[0], ops[i].num);
		if (ops[i].op > 0) {
			emit_lock(EV_LOCK_RELEASE, OBJ_SYSV_SEM, &k, 0, 0, 0);
		} else if (ops[i].op < 0) {
			if (!waits)
				a->stack_id = capture_stack(ctx, 0, 0);
			waits = true;
			emit_lock(EV_LOCK_ATTEMPT, OBJ_SYSV_SEM, &k,
				  timed | (ops[i].flg & IPC_IPC_NOWAIT ? EVF_TRY : 0),
				  a->stack_id, 0);
		}
	}
	if (!waits)
		return 1;
	__builtin_memcpy(a->extra, ops, sizeof(ops));
	return 0;
}

static __always_inline void semop_exit(const struct syscall_args *a, long ret)
{
	struct ipc_sembuf ops[IPC_MAX_SOPS];
	__u32 timed = a->nr == NR_semtimedop && a->args[3] ? EVF_TIMED : 0;
	struct ipcrace_key k;

	__builtin_memcpy(ops, a->extra, sizeof(ops));
	for (int i = 0; i < IPC_MAX_SOPS; i++) {
		if (i >= a->args[2])
			break;
		if (ops[i].op >= 0)
			continue;
		sysv_sem_key(&k, a->args[0], ops[i].num);
		emit_lock(EV_LOCK_ACQUIRED, OBJ_SYSV_SEM, &k,
			  timed | (ops[i].flg & IPC_IPC_NOWAIT ? EVF_TRY : 0), a->stack_id, ret);
	}
}

static __always_inline void sysv_msg_key(struct ipcrace_key *k, __u64 msqid)
{
	k->space = KEY_SYSV_MSG;
	k->a = msqid;
	k->b = 0;
	k->c = 0;
	k->__pad = 0;
}

/* ---- waits -------------------------------------------------------------------- */

/* wait4 returns the pid for stopped and continued children too: not reaped. */
static __always_inline void wait4_exit(const struct syscall_args *a, long ret)
{
	__s32 status = 0;

	if (ret <= 0)
		return;
	if (a->args[1] && !bpf_probe_read_user(&status, sizeof(status), (void *)a->args[1])) {
		if ((status & 0xff) == 0x7f || status == 0xffff)
			return;
	}
	emit_reaped(ret, status);
}

static __always_inline void waitid_exit(const struct syscall_args *a, long ret)
{
	__s32 si[4] = {};	/* si_signo, si_errno, si_code, pad; si_pid follows */
	__s32 pid = 0;

	if (ret != 0 || !a->args[2] || (a->args[3] & IPC_WNOWAIT))
		return;
	if (bpf_probe_read_user(si, sizeof(si), (void *)a->args[2]) ||
	    bpf_probe_read_user(&pid, sizeof(pid), (void *)(a->args[2] + sizeof(si))))
		return;
	if (pid <= 0 || si[2] < IPC_CLD_EXITED || si[2] > IPC_CLD_DUMPED)
		return;
	emit_reaped(pid, 0);
}

/* ---- hooks ------------------------------------------------------------------ */

/* direct: chan_enter's (a constant) */
static __always_inline int ipc_enter(void *ctx, struct syscall_args *a, bool direct)
{
	switch (a->nr) {
	case NR_write:
	case NR_pwrite64:
		return chan_enter(ctx, a, true, a->args[2], 0, direct);
	case NR_writev:
		return chan_enter(ctx, a, true, iov_bytes(a->args[1], a->args[2]), 0, direct);
	case NR_sendto:
		return chan_enter(ctx, a, true, a->args[2], a->args[4], direct);
	case NR_sendmsg:
		return sendmsg_enter(ctx, a, direct);
	case NR_sendmmsg:
		return chan_enter(ctx, a, true, a->args[2], 0, direct);
	case NR_read:
	case NR_pread64:
	case NR_readv:
	case NR_recvfrom:
	case NR_recvmsg:
	case NR_recvmmsg:
		return chan_enter(ctx, a, false, 0, 0, direct);
	case NR_mq_timedsend:
		return mq_enter(ctx, a, true);
	case NR_mq_timedreceive:
		return mq_enter(ctx, a, false);
	case NR_msgsnd: {
		struct ipcrace_key k;

		sysv_msg_key(&k, a->args[0]);
		emit_chan(ctx, CHAN(EV_CHAN_SEND, OBJ_SYSV_MSG), &k, a->args[2], a->args[0]);
		return 1;
	}
	case NR_futex:
		return futex_enter(a);
	case NR_futex_wake:
		emit_futex(EV_FUTEX_WAKE, a->args[0], 0, 0);
		return 1;
	case NR_semop:
	case NR_semtimedop:
		return semop_enter(ctx, a);
	case NR_flock:
		return flock_enter(ctx, a);
	case NR_fcntl:
		return fcntl_enter(ctx, a);
	case NR_connect:
		connect_enter(ctx, a);
		return 0;	/* the exit names the connected channel */
	default:
		/* pipe, socketpair, connect, accept, waits, msgrcv, futex_wait(v) */
		return 0;
	}
}

static __always_inline void ipc_exit(void *ctx, struct syscall_args *a, long ret)
{
	struct ipcrace_key k;
	__u32 flags;
	__u16 obj;

	switch (a->nr) {
	case NR_read:
	case NR_pread64:
	case NR_readv:
	case NR_recvfrom:
	case NR_recvmsg:
	case NR_recvmmsg:
		if (ret > 0) {
			xtra_get_key(a, &k, &obj, &flags);
			/* judged now: the peer may have joined the traced set meanwhile */
			if (chan_peer_untraced(obj, &k, false)) {
				count(CNT_UNTRACED_PEER);
				break;
			}
			emit_chan(ctx, CHAN(EV_CHAN_RECV, obj), &k, ret, a->args[0]);
		}
		break;
	case NR_mq_timedreceive:
		/* a queued message may be empty: >= 0 is a message */
		if (ret >= 0) {
			xtra_get_key(a, &k, &obj, &flags);
			emit_chan(ctx, CHAN(EV_CHAN_RECV, obj), &k, ret, a->args[0]);
		}
		break;
	case NR_msgrcv:
		if (ret >= 0) {
			sysv_msg_key(&k, a->args[0]);
			emit_chan(ctx, CHAN(EV_CHAN_RECV, OBJ_SYSV_MSG), &k, ret, a->args[0]);
		}
		break;
	case NR_pipe:
	case NR_pipe2:
	case NR_socketpair:
		if (ret == 0)
			chan_open_pair(ctx, a->nr == NR_socketpair ? a->args[3] : a->args[0]);
		break;
	case NR_connect:
		if (ret == 0)
			chan_open_one(ctx, a->args[0], (__u64)-1);
		break;
	case NR_accept:
	case NR_accept4:
		if (ret >= 0) {
			chan_open_one(ctx, ret, a->args[0]);
			accept_exit(ctx, ret, a->args[0]);
		}
		break;
	case NR_futex:
		futex_exit(a, ret);
		break;
	case NR_futex_wait:
		emit_futex(EV_FUTEX_WAIT_RET, a->args[0], ret, a->args[4] ? EVF_TIMED : 0);
		break;
	case NR_futex_waitv:
		futex_waitv_exit(a, ret);
		break;
	case NR_semop:
	case NR_semtimedop:
		semop_exit(a, ret);
		break;
	case NR_flock:
	case NR_fcntl:
		lock_exit(a, ret);
		break;
	case NR_wait4:
		wait4_exit(a, ret);
		break;
	case NR_waitid:
		waitid_exit(a, ret);
		break;
	default:
		break;
	}
}

#endif /* IPCRACE_IPC_BPF_H */
