/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Channel identity: which pipe, FIFO, socket or eventfd an fd names, read
 * with CO-RE from the task's fd table while the fd still names the file
 * the syscall works on (CHANKEY_* in events.h say what a key is).
 */
#ifndef IPCRACE_CHAN_IDENTITY_BPF_H
#define IPCRACE_CHAN_IDENTITY_BPF_H

#include <bpf/bpf_endian.h>
#include "ipc_abi.bpf.h"

/* ---- fd table and channel identity ----------------------------------- */

/*
 * Several fields of one kernel struct in one read: the bytes from the
 * first field's offset to the end of the last one (CO-RE offsets, constants
 * once relocated), when they span at most SPAN_BYTES. A helper call per
 * field was most of what naming a pipe cost.
 */
#define SPAN_BYTES 96
#define span_start(type, first) bpf_core_field_offset(type, first)
#define span_len(type, first, last) \
	(bpf_core_field_offset(type, last) + bpf_core_field_size(type, last) - \
	 bpf_core_field_offset(type, first))
/* the field's offset in the span: computed apart (the verifier refuses fp - x) */
static __always_inline __u32 span_offset(__u32 field_off, __u32 first_off)
{
	__u32 rel = field_off - first_off;

	barrier_var(rel);
	return rel;
}
#define span_get(buf, type, first, field, T) \
	(*(T *)((buf) + span_offset(bpf_core_field_offset(type, field), span_start(type, first))))

/*
 * current->files->fdt->fd[fd], or NULL. The fd table's fields are loaded
 * directly from the current task (the verifier makes them faulting
 * loads: a NULL files or fdt reads as 0); only the slot, at a variable
 * index, takes a helper call.
 */
static __always_inline struct file *fd_to_file(__u64 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file *f = NULL;

	if (!fdt || fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]);
	return f;
}

/*
 * eventfd files are anonymous-inode files named "[eventfd]": comparing the
 * dentry name needs no kernel symbol (f_op == &eventfd_fops would).
 */
static __always_inline bool file_is_eventfd(struct file *f)
{
	static const char want[] = "[eventfd]";
	const unsigned char *name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	char buf[sizeof(want)] = {};

	if (bpf_probe_read_kernel_str(buf, sizeof(buf), name) != sizeof(want))
		return false;
	for (int i = 0; i < sizeof(want); i++) {
		if (buf[i] != want[i])
			return false;
	}
	return true;
}

/* 32 bits of an IPv6 address given as words: the IPv4 one if v4-mapped, else a fold. */
static __always_inline __u32 in6_fold_words(const __u32 w[4])
{
	if (w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff))
		return w[3];
	return w[0] ^ w[1] ^ w[2] ^ w[3];
}

/* The same of a kernel address. */
static __always_inline __u32 in6_fold(const struct in6_addr *a)
{
	__u32 w[4];

	bpf_probe_read_kernel(w, sizeof(w), a);
	return in6_fold_words(w);
}

static __always_inline __u64 inet_endpoint(__u32 addr, __u16 port)
{
	return (__u64)addr << 16 | port;
}

/* Destination port of a sendto/sendmsg address, 0 if none or not inet. */
static __always_inline __u16 user_inet_port(__u64 uaddr)
{
	__u16 sa[2] = {};

	if (!uaddr || bpf_probe_read_user(sa, sizeof(sa), (void *)uaddr))
		return 0;
	if (sa[0] != IPC_AF_INET && sa[0] != IPC_AF_INET6)
		return 0;
	return bpf_ntohs(sa[1]);
}

/*
 * What a socket's key is made of, as read from the kernel (socket_view_read
 * here with probe reads, socket_view_load in chan_direct.bpf.h with direct
 * loads): only what the family and type need is filled.
 */
struct sock_view {
	__u64 rx;		/* AF_UNIX: the sock that receives (the peer's when sending) */
	__u32 laddr;		/* inet stream: local and remote address (IPv6 folded) */
	__u32 raddr;
	__u16 family;
	__u16 type;		/* inet */
	__u16 lport;		/* inet, host order */
	__u16 rport;
};

/*
 * The key of one direction of a socket (CHANKEY_* in events.h): sending
 * names the peer's receiving side, receiving names our own. dst_user is
 * the address argument of sendto/sendmsg (0 if none). false: no identity.
 */
static __always_inline bool socket_view_key(const struct sock_view *v, bool sending,
					    __u64 dst_user, struct ipcrace_key *k)
{
	k->space = KEY_FILE;
	if (v->family == IPC_AF_UNIX) {
		if (!v->rx)
			return false;
		k->a = v->rx;
		k->b = 0;
		k->c = CHANKEY_UNIX;
		return true;
	}
	if (v->family != IPC_AF_INET && v->family != IPC_AF_INET6)
		return false;
	if (v->type == IPC_SOCK_DGRAM) {
		__u16 port = v->lport;

		if (sending) {
			port = user_inet_port(dst_user);
			if (!port)
				port = v->rport;
		}
		if (!port)
			return false;
		k->a = port;
		k->b = 0;
		k->c = CHANKEY_INET_DGRAM;
		return true;
	}
	k->a = sending ? inet_endpoint(v->raddr, v->rport) : inet_endpoint(v->laddr, v->lport);
	k->b = sending ? inet_endpoint(v->laddr, v->lport) : inet_endpoint(v->raddr, v->rport);
	k->c = CHANKEY_INET_STREAM;
	return true;
}

/* A socket's view with probe reads; false: no sock. */
static __always_inline bool socket_view_read(struct socket *sock, bool sending,
					     struct sock_view *v)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);
	char head[SPAN_BYTES];
	__u32 len = span_len(struct sock_common, skc_daddr, skc_family);
	bool one_read;

	if (!sk)
		return false;
	/* the addresses, ports and family lead struct sock_common: one read */
	one_read = len <= sizeof(head) &&
		   bpf_core_field_offset(struct sock_common, skc_daddr) <
		   bpf_core_field_offset(struct sock_common, skc_rcv_saddr) &&
		   bpf_core_field_offset(struct sock_common, skc_rcv_saddr) <
		   bpf_core_field_offset(struct sock_common, skc_dport) &&
		   bpf_core_field_offset(struct sock_common, skc_dport) <
		   bpf_core_field_offset(struct sock_common, skc_num) &&
		   bpf_core_field_offset(struct sock_common, skc_num) <
		   bpf_core_field_offset(struct sock_common, skc_family) &&
		   !bpf_probe_read_kernel(head, len, (void *)sk +
					  span_start(struct sock_common, skc_daddr));
	if (one_read)
		v->family = span_get(head, struct sock_common, skc_daddr, skc_family, __u16);
	else
		v->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (v->family == IPC_AF_UNIX) {
		v->rx = sending ? (__u64)BPF_CORE_READ((struct unix_sock *)sk, peer) : (__u64)sk;
		return true;
	}
	if (v->family != IPC_AF_INET && v->family != IPC_AF_INET6)
		return true;
	if (one_read) {
		v->lport = span_get(head, struct sock_common, skc_daddr, skc_num, __u16);
		v->rport = bpf_ntohs(span_get(head, struct sock_common, skc_daddr, skc_dport, __u16));
	} else {
		v->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		v->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	}
	v->type = BPF_CORE_READ(sk, sk_type);
	if (v->type == IPC_SOCK_DGRAM)
		return true;
	if (v->family == IPC_AF_INET && one_read) {
		v->laddr = span_get(head, struct sock_common, skc_daddr, skc_rcv_saddr, __u32);
		v->raddr = span_get(head, struct sock_common, skc_daddr, skc_daddr, __u32);
	} else if (v->family == IPC_AF_INET) {
		v->laddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		v->raddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	} else {
		v->laddr = in6_fold(&sk->__sk_common.skc_v6_rcv_saddr);
		v->raddr = in6_fold(&sk->__sk_common.skc_v6_daddr);
	}
	return true;
}

/*
 * --- Unix sockets whose peer is not traced ---
 *
 * A connected AF_UNIX stream or seqpacket socket keeps the credentials of
 * its other end (net/unix/af_unix.c): sk_peer_pid is the thread group
 * that connected (on the accepted socket), that called listen() on the
 * listening socket (on the connecting one: copied from it), or that made
 * the socketpair (both ends). When that process is alive and not traced,
 * a send or receive on the socket can make no happens-before edge: the
 * other end's sends and receives are never recorded, so nothing joins
 * ours. Such a call is counted (CNT_UNTRACED_PEER) and not recorded.
 *
 * A skipped event that would have had a partner makes a missing edge, and
 * a missing edge a false race, so the test is kept to what the creds can
 * vouch for:
 * - the peer's process must be alive (its struct pid still names a thread
 *   group): a sock keeps its struct pid after the process exits, and the
 *   number may then be reused, or the process's children may hold the end
 *   it made; an exited peer counts as traced;
 * - datagram sockets are never skipped (no peer creds: any process may
 *   send to a bound name);
 * - the peer sock's own creds must not name the calling process: on a
 *   socket this process connected itself, sk_peer_pid names whoever called
 *   listen(), not whoever accepted (a listener made by an untraced
 *   systemd or prefork master and accepted by a traced worker); the peer
 *   sock's creds then name us, and the call is recorded;
 * - the traced set is the one of the moment: a process that joins it
 *   (a fork of a traced one, a process entering the traced cgroup) has
 *   its calls recorded from then on. A receive is judged at its exit, so
 *   data a newly traced peer sent while we blocked is recorded.
 * What the creds cannot see (README, Limits): an end that moved from the
 *   untraced process named in them to a traced one by SCM_RIGHTS or
 *   pidfd_getfd, or was inherited by a process attached with -p or
 *   forked into a traced cgroup while its maker stays untraced and alive.
 *   IPCRACE_RECORD_UNTRACED_PEERS=1 turns the skip off.
 */
const volatile __u32 unix_peer_skip = 1;

/* The tgid of a struct pid (initial namespace), 0 if it names no live thread group. */
static __always_inline __u32 live_tgid(struct pid *pid)
{
	if (!pid || !BPF_CORE_READ(pid, tasks[PIDTYPE_TGID].first))
		return 0;
	return BPF_CORE_READ(pid, numbers[0].nr);
}

/*
 * True when a send (sending: rx is the peer's sock) or receive (rx is
 * ours) on a Unix socket named by its receiving sock rx need not be
 * recorded: see above. Probe reads, for both sys_enter variants.
 */
static __always_inline bool unix_peer_untraced(__u64 rx, bool sending)
{
	struct sock *peer, *own;
	__u32 tgid, type;

	if (!unix_peer_skip || !rx)
		return false;
	if (sending) {
		peer = (struct sock *)rx;
		own = (struct sock *)BPF_CORE_READ((struct unix_sock *)peer, peer);
	} else {
		own = (struct sock *)rx;
		peer = (struct sock *)BPF_CORE_READ((struct unix_sock *)own, peer);
	}
	if (!own || !peer)
		return false;
	type = BPF_CORE_READ(own, sk_type);
	if (type != IPC_SOCK_STREAM && type != IPC_SOCK_SEQPACKET)
		return false;
	tgid = live_tgid(BPF_CORE_READ(own, sk_peer_pid));
	if (!tgid || is_traced(tgid))
		return false;
	return BPF_CORE_READ(peer, sk_peer_pid, numbers[0].nr) != current_tgid();
}

/* i_mode, i_sb, i_ino of an inode; false if unreadable */
static __always_inline bool inode_fields(struct inode *inode, __u32 *mode, struct super_block **sb,
					 __u64 *ino)
{
	char buf[SPAN_BYTES];
	__u32 len = span_len(struct inode, i_mode, i_ino);

	if (len <= sizeof(buf) && span_start(struct inode, i_mode) == 0 &&
	    bpf_core_field_offset(struct inode, i_sb) < bpf_core_field_offset(struct inode, i_ino)) {
		if (bpf_probe_read_kernel(buf, len, inode))
			return false;
		*mode = span_get(buf, struct inode, i_mode, i_mode, __u16);
		*sb = span_get(buf, struct inode, i_mode, i_sb, struct super_block *);
		*ino = span_get(buf, struct inode, i_mode, i_ino, unsigned long);
		return true;
	}
	*mode = BPF_CORE_READ(inode, i_mode);
	*sb = BPF_CORE_READ(inode, i_sb);
	*ino = BPF_CORE_READ(inode, i_ino);
	return true;
}

/* s_dev and s_magic of a super block */
static __always_inline void sb_fields(struct super_block *sb, __u32 *dev, unsigned long *magic)
{
	char buf[SPAN_BYTES];
	__u32 len = span_len(struct super_block, s_dev, s_magic);

	if (len <= sizeof(buf) &&
	    bpf_core_field_offset(struct super_block, s_dev) <
	    bpf_core_field_offset(struct super_block, s_magic) &&
	    !bpf_probe_read_kernel(buf, len, (void *)sb + span_start(struct super_block, s_dev))) {
		*dev = span_get(buf, struct super_block, s_dev, s_dev, __u32);
		*magic = span_get(buf, struct super_block, s_dev, s_magic, unsigned long);
		return;
	}
	*dev = BPF_CORE_READ(sb, s_dev);
	*magic = BPF_CORE_READ(sb, s_magic);
}

/* A pipe's or FIFO's key: key_from_file's KEY_FILE(dev, ino, 0). Returns its OBJ_*. */
static __always_inline int fifo_key(struct ipcrace_key *k, __u32 dev, __u64 ino,
				    unsigned long magic)
{
	k->space = KEY_FILE;
	k->a = user_dev(dev);
	k->b = ino;
	k->c = 0;
	return magic == IPC_PIPEFS_MAGIC ? OBJ_PIPE : OBJ_FIFO;
}

/* An eventfd's key: its eventfd_ctx (the file's private data). */
static __always_inline int eventfd_key(struct ipcrace_key *k, __u64 ctx)
{
	k->space = KEY_FILE;
	k->a = 0;
	k->b = ctx;
	k->c = CHANKEY_EVENTFD;
	return OBJ_EVENTFD;
}

/*
 * What kind of channel the file is (OBJ_PIPE, OBJ_FIFO, OBJ_SOCKET,
 * OBJ_EVENTFD; OBJ_NONE: not a channel) and its key in k. A socket whose
 * direction cannot be named keeps KEY_NONE.
 */
IPCRACE_SUBPROG int chan_identify(__u64 file, int sending, __u64 dst_user,
				  struct ipcrace_key *k)
{
	struct file *f = (struct file *)file;
	__u32 len = span_len(struct file, private_data, f_inode);
	struct super_block *sb;
	struct inode *inode;
	unsigned long magic;
	void *private;
	__u32 mode, dev;
	char buf[16];
	__u64 ino;

	if (!f || !k)
		return OBJ_NONE;
	/* the file's private data (a socket's struct socket) and inode: adjacent */
	if (len <= sizeof(buf) &&
	    bpf_core_field_offset(struct file, private_data) <
	    bpf_core_field_offset(struct file, f_inode)) {
		if (bpf_probe_read_kernel(buf, len, (void *)f + span_start(struct file, private_data)))
			return OBJ_NONE;
		private = span_get(buf, struct file, private_data, private_data, void *);
		inode = span_get(buf, struct file, private_data, f_inode, struct inode *);
	} else {
		private = BPF_CORE_READ(f, private_data);
		inode = BPF_CORE_READ(f, f_inode);
	}
	if (!inode || !inode_fields(inode, &mode, &sb, &ino))
		return OBJ_NONE;
	switch (mode & IPC_S_IFMT) {
	case IPC_S_IFIFO:
		sb_fields(sb, &dev, &magic);
		return fifo_key(k, dev, ino, magic);
	case IPC_S_IFSOCK: {
		struct sock_view v = {};

		if (!socket_view_read(private, sending, &v) ||
		    !socket_view_key(&v, sending, dst_user, k))
			k->space = KEY_NONE;
		return OBJ_SOCKET;
	}
	default:
		break;
	}
	magic = BPF_CORE_READ(sb, s_magic);
	if (magic == IPC_ANON_INODE_FS_MAGIC && file_is_eventfd(f))
		return eventfd_key(k, (__u64)private);
	return OBJ_NONE;
}

#endif /* IPCRACE_CHAN_IDENTITY_BPF_H */
