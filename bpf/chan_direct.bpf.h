/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Channel identity with direct loads: chan_identify's keys, read from the
 * file, inode, super block and socket as typed kernel pointers instead of
 * with a probe read per struct (the reads were most of what naming a
 * channel cost, a helper call each). bpf_rdonly_cast (Linux 6.2) makes a
 * pointer read from the fd table a read-only typed pointer, and each of
 * its loads a faulting load that reads 0 from a bad address, as the probe
 * reads did; the verifier turns the cast itself into a register move. Its
 * second argument must be a constant: the BTF id of the struct in the
 * running kernel, which userspace finds in /sys/kernel/btf/vmlinux and
 * sets before load (tracer/kernel_btf.c). The sys_enter variant that uses
 * this is loaded only when the kernel has bpf_rdonly_cast; the other one
 * (sys_enter_probe) uses chan_identify.
 */
#ifndef IPCRACE_CHAN_DIRECT_BPF_H
#define IPCRACE_CHAN_DIRECT_BPF_H

#include "chan_identity.bpf.h"

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* BTF ids of struct file, socket and unix_sock in the running kernel, set before load */
const volatile __u32 kbtf_file = 0;
const volatile __u32 kbtf_socket = 0;
const volatile __u32 kbtf_unix_sock = 0;

/* socket_view_read's view with direct loads; false: no sock. */
static __always_inline bool socket_view_load(struct socket *sock, bool sending,
					     struct sock_view *v)
{
	struct sock *sk = sock->sk;

	if (!sk)
		return false;
	v->family = sk->__sk_common.skc_family;
	if (v->family == IPC_AF_UNIX) {
		struct unix_sock *u = bpf_rdonly_cast(sk, kbtf_unix_sock);

		v->rx = sending ? (__u64)u->peer : (__u64)sk;
		return true;
	}
	if (v->family != IPC_AF_INET && v->family != IPC_AF_INET6)
		return true;
	v->lport = sk->__sk_common.skc_num;
	v->rport = bpf_ntohs(sk->__sk_common.skc_dport);
	v->type = sk->sk_type;
	if (v->type == IPC_SOCK_DGRAM)
		return true;
	if (v->family == IPC_AF_INET) {
		v->laddr = sk->__sk_common.skc_rcv_saddr;
		v->raddr = sk->__sk_common.skc_daddr;
	} else {
		v->laddr = in6_fold_words(sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32);
		v->raddr = in6_fold_words(sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32);
	}
	return true;
}

/* chan_identify with direct loads: the same kinds and keys. */
IPCRACE_SUBPROG int chan_identify_direct(__u64 file, int sending, __u64 dst_user,
					 struct ipcrace_key *k)
{
	struct super_block *sb;
	struct inode *inode;
	struct file *f;
	__u32 mode;

	if (!file || !k)
		return OBJ_NONE;
	f = bpf_rdonly_cast((void *)file, kbtf_file);
	inode = f->f_inode;
	if (!inode)
		return OBJ_NONE;
	mode = inode->i_mode;
	sb = inode->i_sb;
	switch (mode & IPC_S_IFMT) {
	case IPC_S_IFIFO:
		return fifo_key(k, sb->s_dev, inode->i_ino, sb->s_magic);
	case IPC_S_IFSOCK: {
		struct sock_view v = {};

		if (!socket_view_load(bpf_rdonly_cast(f->private_data, kbtf_socket), sending, &v) ||
		    !socket_view_key(&v, sending, dst_user, k))
			k->space = KEY_NONE;
		return OBJ_SOCKET;
	}
	default:
		break;
	}
	if (sb->s_magic == IPC_ANON_INODE_FS_MAGIC && file_is_eventfd((struct file *)file))
		return eventfd_key(k, (__u64)f->private_data);
	return OBJ_NONE;
}

#endif /* IPCRACE_CHAN_DIRECT_BPF_H */
