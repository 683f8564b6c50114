/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The user-space ABI the IPC programs read: x86-64 syscall numbers, the
 * user structs they copy (sockaddr, msghdr, iovec, flock, sembuf...), and
 * how a syscall's stash (struct syscall_args.extra) is laid out between
 * its entry and its exit.
 */
#ifndef IPCRACE_IPC_ABI_BPF_H
#define IPCRACE_IPC_ABI_BPF_H

#include "common.bpf.h"


/* x86-64 syscall numbers */
enum {
	NR_read = 0,
	NR_write = 1,
	NR_pread64 = 17,
	NR_pwrite64 = 18,
	NR_readv = 19,
	NR_writev = 20,
	NR_pipe = 22,
	NR_connect = 42,
	NR_accept = 43,
	NR_sendto = 44,
	NR_recvfrom = 45,
	NR_sendmsg = 46,
	NR_recvmsg = 47,
	NR_socketpair = 53,
	NR_wait4 = 61,
	NR_semop = 65,
	NR_msgsnd = 69,
	NR_msgrcv = 70,
	NR_fcntl = 72,
	NR_flock = 73,
	NR_futex = 202,
	NR_semtimedop = 220,
	NR_mq_timedsend = 242,
	NR_mq_timedreceive = 243,
	NR_waitid = 247,
	NR_accept4 = 288,
	NR_pipe2 = 293,
	NR_recvmmsg = 299,
	NR_sendmmsg = 307,
	NR_futex_waitv = 449,
	NR_futex_wake = 454,
	NR_futex_wait = 455,
};

/* uapi constants (vmlinux.h has types, not macros) */
#define IPC_S_IFMT		0170000
#define IPC_S_IFIFO		0010000
#define IPC_S_IFSOCK		0140000
#define IPC_PIPEFS_MAGIC	0x50495045
#define IPC_ANON_INODE_FS_MAGIC	0x09041934
#define IPC_AF_UNIX		1
#define IPC_AF_INET		2
#define IPC_AF_INET6		10
#define IPC_SOCK_STREAM		1
#define IPC_SOCK_DGRAM		2
#define IPC_SOCK_SEQPACKET	5

#define IPC_FUTEX_WAIT			0
#define IPC_FUTEX_WAKE			1
#define IPC_FUTEX_REQUEUE		3
#define IPC_FUTEX_CMP_REQUEUE		4
#define IPC_FUTEX_WAKE_OP		5
#define IPC_FUTEX_LOCK_PI		6
#define IPC_FUTEX_UNLOCK_PI		7
#define IPC_FUTEX_TRYLOCK_PI		8
#define IPC_FUTEX_WAIT_BITSET		9
#define IPC_FUTEX_WAKE_BITSET		10
#define IPC_FUTEX_WAIT_REQUEUE_PI	11
#define IPC_FUTEX_CMP_REQUEUE_PI	12
#define IPC_FUTEX_LOCK_PI2		13
#define IPC_FUTEX_PRIVATE_FLAG		128
#define IPC_FUTEX_CLOCK_REALTIME	256

#define IPC_LOCK_SH		1
#define IPC_LOCK_EX		2
#define IPC_LOCK_NB		4
#define IPC_LOCK_UN		8
#define IPC_F_SETLK		6
#define IPC_F_SETLKW		7
#define IPC_F_OFD_SETLK		37
#define IPC_F_OFD_SETLKW	38
#define IPC_F_RDLCK		0
#define IPC_F_WRLCK		1
#define IPC_F_UNLCK		2
#define IPC_IPC_NOWAIT		04000
#define IPC_WNOWAIT		0x01000000
#define IPC_CLD_EXITED		1
#define IPC_CLD_DUMPED		3

/* semop: sembufs looked at per call; more are rare (and counted as none). */
#define IPC_MAX_SOPS		4
/* readv/writev/sendmsg: iovecs summed for the byte count */
#define IPC_MAX_IOV		8
/* futex_waitv: the kernel's own limit */
#define IPC_FUTEX_WAITV_MAX	128

/* User-space layouts read from syscall arguments (x86-64 ABI). */
struct ipc_iovec {
	__u64 base;
	__u64 len;
};

struct ipc_msghdr {
	__u64 name;
	__u32 namelen;
	__u32 __pad;
	__u64 iov;
	__u64 iovlen;
};

struct ipc_sembuf {
	__u16 num;
	__s16 op;
	__s16 flg;
};

struct ipc_flock {
	__s16 type;
	__s16 whence;
	__u32 __pad;
	__s64 start;
	__s64 len;
};

/* extra[] layout for a channel receive: the key read at entry. */
#define XTRA_KEY_A	0
#define XTRA_KEY_B	1
#define XTRA_KEY_C	2
#define XTRA_META	3	/* key space | obj << 16 | flags << 32 */

static __always_inline __u64 xtra_meta(__u32 space, __u16 obj, __u32 flags)
{
	return (__u64)(space & 0xffff) | (__u64)obj << 16 | (__u64)flags << 32;
}

static __always_inline bool ipc_syscall_is_interesting(long nr)
{
	switch (nr) {
	case NR_read: case NR_write: case NR_pread64: case NR_pwrite64:
	case NR_readv: case NR_writev: case NR_pipe: case NR_pipe2:
	case NR_connect: case NR_accept: case NR_accept4: case NR_socketpair:
	case NR_sendto: case NR_recvfrom: case NR_sendmsg: case NR_recvmsg:
	case NR_sendmmsg: case NR_recvmmsg:
	case NR_wait4: case NR_waitid:
	case NR_semop: case NR_semtimedop: case NR_msgsnd: case NR_msgrcv:
	case NR_fcntl: case NR_flock:
	case NR_futex: case NR_futex_wake: case NR_futex_wait: case NR_futex_waitv:
	case NR_mq_timedsend: case NR_mq_timedreceive:
		return true;
	default:
		return false;
	}
}

#endif /* IPCRACE_IPC_ABI_BPF_H */
