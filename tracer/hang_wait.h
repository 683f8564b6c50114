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
	HW_EXITED,		/* a zombie: exited, not reaped yet; it waits on nobody */
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
	/*
	 * HW_COND: the mutex it will need once signalled (0: not known);
	 * HW_MUTEX: cond_reacquire when it is re-taking the mutex of a
	 * condition variable it was woken from.
	 */
	__u64 mutex;
	bool cond_reacquire;
	char object[192];		/* "pipe inode 1234", "flock on /tmp/x", "" */
	/* Why the targets can end it: "held by", "holds the write end", ... */
	char relation[64];
	struct hang_target targets[HANG_TARGETS_MAX];
	size_t nr_targets;
	bool unknown;			/* some waker may exist that is not listed */
};

struct hang_host;
struct frame;

/* What the classifier knows of the thread's stack (every part may be empty). */
struct hang_wait_stack {
	const char *const *functions;	/* innermost frames' functions, inlined ones too; NULL entries */
	size_t nr_functions;
	const struct frame *frames;	/* the symbolized frames, innermost first */
	const __u64 (*regs)[UREG_NR];	/* each frame's registers (NULL: not read) */
	size_t nr_frames;
};

/* The host state classification reads lazily (/proc/locks, fd tables). */
struct hang_host *hang_host__new(void);
void hang_host__free(struct hang_host *h);

/*
 * Classifies t from its system call, its stack (with no function names the
 * futex words are read to guess) and the host's state. Never fails: what
 * is not understood is HW_SYSCALL or HW_FUTEX with unknown set.
 */
void hang_wait__classify(struct hang_host *h, const struct hang_task *t,
			 const struct hang_wait_stack *stack, struct hang_wait *out);

/* For the classifiers (hang_futex.c): pid's memory, 0 or -EFAULT. */
int hang_wait__read(__u32 pid, __u64 addr, void *buf, size_t len);
/* The thread group of a live thread, 0 when it does not exist. */
__u32 hang_wait__tgid_of(__u32 tid);
/* pid's thread tid (0: any of its threads) can end the wait. */
void hang_wait__add_target(struct hang_wait *w, __u32 pid, __u32 tid);

/* "mutex", "pipe read", ... for the report. */
const char *hang_wait__kind_name(enum hang_wait_kind k);

#endif /* IPCRACE_HANG_WAIT_H */
