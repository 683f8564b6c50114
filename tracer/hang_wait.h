/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What a thread is blocked on, read from outside: its system call and
 * arguments (saved user registers), the words it waits on (read with
 * process_vm_readv), /proc/locks, the fd tables of the host's processes,
 * SysV semaphore state. Nothing in the thread is changed. What it waits on
 * is named as a lock or channel, with the threads or processes that could
 * end the wait.
 */
#ifndef IPCRACE_HANG_WAIT_H
#define IPCRACE_HANG_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "../bpf/events.h"
#include "../bpf/hang/hang.h"

enum hang_wait_kind {
	HW_RUNNING = 0,		/* on a CPU or runnable */
	HW_STOPPED,		/* stopped by a signal or a debugger */
	HW_SLEEP,		/* sleeping on a timer or for a signal: ends by itself */
	HW_MUTEX,
	HW_RWLOCK,
	HW_SEM,
	HW_COND,
	HW_BARRIER,
	HW_JOIN,
	HW_FUTEX,		/* a futex word not recognised as any of the above */
	HW_FLOCK,
	HW_POSIX_LOCK,		/* fcntl F_SETLKW */
	HW_OFD_LOCK,		/* fcntl F_OFD_SETLKW */
	HW_CHANNEL_READ,	/* pipe, FIFO, socket, mq: waits for data */
	HW_CHANNEL_WRITE,	/* ... for room */
	HW_POLL,		/* poll/select/epoll on several fds */
	HW_SYSV_SEM,
	HW_CHILD,		/* wait4/waitid */
	HW_SYSCALL,		/* another blocking system call, not understood */
};

#define HANG_TARGETS_MAX 32

/* Who can end the wait: a thread, or any thread of a process (tid 0). */
struct hang_target {
	__u32 pid;
	__u32 tid;
};

struct hang_wait {
	enum hang_wait_kind kind;
	const char *syscall;		/* its name, "" when not in one */
	/*
	 * The object waited on: obj is an enum ipcrace_obj_kind, addr its
	 * address in the thread's process (locks, futex words), or a channel
	 * or file described in `object` (the report names locks itself).
	 */
	__u16 obj;
	__u64 addr;
	char object[192];		/* "pipe inode 1234", "flock on /tmp/x", "" */
	/* Why the targets can end it: "held by", "holds the write end", ... */
	char relation[64];
	struct hang_target targets[HANG_TARGETS_MAX];
	size_t nr_targets;
	bool unknown;			/* some waker may exist that is not listed */
};

struct hang_host;

/* The host state classification reads lazily (/proc/locks, fd tables). */
struct hang_host *hang_host__new(void);
void hang_host__free(struct hang_host *h);

/*
 * Classifies t. functions[0..nr) are the function names of its innermost
 * frames (may be NULL entries or nr 0: then the futex words are read to
 * guess). Never fails: what is not understood is HW_SYSCALL or HW_FUTEX
 * with unknown set.
 */
void hang_wait__classify(struct hang_host *h, const struct hang_task *t,
			 const char *const *functions, size_t nr, struct hang_wait *out);

/* "mutex", "pipe read", ... for the report. */
const char *hang_wait__kind_name(enum hang_wait_kind k);

#endif /* IPCRACE_HANG_WAIT_H */
