// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../analyzer/array.h"
#include "hang_cond.h"
#include "hang_futex.h"
#include "hang_sock.h"
#include "hang_wait.h"
#include "procfs.h"

/* x86-64 system call numbers this file understands. */
enum {
	SYS_read = 0, SYS_write = 1, SYS_poll = 7, SYS_pread64 = 17, SYS_pwrite64 = 18,
	SYS_readv = 19, SYS_writev = 20, SYS_select = 23, SYS_pause = 34, SYS_nanosleep = 35,
	SYS_connect = 42, SYS_accept = 43, SYS_sendto = 44, SYS_recvfrom = 45,
	SYS_sendmsg = 46, SYS_recvmsg = 47, SYS_wait4 = 61, SYS_semop = 65,
	SYS_msgsnd = 69, SYS_msgrcv = 70, SYS_fcntl = 72, SYS_flock = 73,
	SYS_rt_sigtimedwait = 128, SYS_rt_sigsuspend = 130, SYS_futex = 202,
	SYS_semtimedop = 220, SYS_clock_nanosleep = 230, SYS_epoll_wait = 232,
	SYS_mq_timedsend = 242, SYS_mq_timedreceive = 243, SYS_waitid = 247,
	SYS_pselect6 = 270, SYS_ppoll = 271, SYS_epoll_pwait = 281, SYS_accept4 = 288,
	SYS_recvmmsg = 299, SYS_sendmmsg = 307, SYS_epoll_pwait2 = 441, SYS_futex_waitv = 449,
};

static const struct {
	int nr;
	const char *name;
} syscall_names[] = {
	{ SYS_read, "read" }, { SYS_write, "write" }, { SYS_poll, "poll" },
	{ SYS_pread64, "pread64" }, { SYS_pwrite64, "pwrite64" }, { SYS_readv, "readv" },
	{ SYS_writev, "writev" }, { SYS_select, "select" }, { SYS_pause, "pause" },
	{ SYS_nanosleep, "nanosleep" }, { SYS_connect, "connect" }, { SYS_accept, "accept" },
	{ SYS_sendto, "sendto" }, { SYS_recvfrom, "recvfrom" }, { SYS_sendmsg, "sendmsg" },
	{ SYS_recvmsg, "recvmsg" }, { SYS_wait4, "wait4" }, { SYS_semop, "semop" },
	{ SYS_msgsnd, "msgsnd" }, { SYS_msgrcv, "msgrcv" }, { SYS_fcntl, "fcntl" },
	{ SYS_flock, "flock" }, { SYS_rt_sigtimedwait, "rt_sigtimedwait" },
	{ SYS_rt_sigsuspend, "rt_sigsuspend" }, { SYS_futex, "futex" },
	{ SYS_semtimedop, "semtimedop" }, { SYS_clock_nanosleep, "clock_nanosleep" },
	{ SYS_epoll_wait, "epoll_wait" }, { SYS_mq_timedsend, "mq_timedsend" },
	{ SYS_mq_timedreceive, "mq_timedreceive" }, { SYS_waitid, "waitid" },
	{ SYS_pselect6, "pselect6" }, { SYS_ppoll, "ppoll" }, { SYS_epoll_pwait, "epoll_pwait" },
	{ SYS_accept4, "accept4" }, { SYS_recvmmsg, "recvmmsg" }, { SYS_sendmmsg, "sendmmsg" },
	{ SYS_epoll_pwait2, "epoll_pwait2" }, { SYS_futex_waitv, "futex_waitv" },
};

#define TASK_RUNNING 0
#define TASK_STOPPED 4
#define TASK_TRACED 8
#define F_SETLKW_ 7
#define F_OFD_SETLKW_ 38
#define POLL_FDS_MAX 64

/* One open file of some process on the host: who holds what, how. */
struct fd_entry {
	__u64 dev;
	__u64 ino;
	__u32 pid;
	__u32 flags;		/* open flags (O_ACCMODE) */
	int fd;
};

struct lock_entry {
	__u64 dev;
	__u64 ino;
	__u64 start;
	__u64 end;		/* inclusive; ~0 for EOF */
	__s32 pid;		/* -1: OFD lock (no owning process) */
	bool blocked;		/* a waiter ("->" line), not a holder */
	char type[16];		/* FLOCK, POSIX, OFDLCK */
};

struct hang_host {
	struct hang_conds *conds;
	bool fds_read;
	struct fd_entry *fds;
	size_t nr_fds, cap_fds;
	struct hang_socks *socks;
	bool locks_read;
	struct lock_entry *locks;
	size_t nr_locks, cap_locks;
};

struct hang_host *hang_host__new(void)
{
	struct hang_host *h = calloc(1, sizeof(*h));

	if (h) {
		h->socks = hang_socks__new();
		h->conds = hang_conds__new();
	}
	if (h && (!h->socks || !h->conds)) {
		hang_host__free(h);
		h = NULL;
	}
	return h;
}

void hang_host__free(struct hang_host *h)
{
	if (!h)
		return;
	hang_socks__free(h->socks);
	hang_conds__free(h->conds);
	free(h->fds);
	free(h->locks);
	free(h);
}

static const char *syscall_name(long nr)
{
	for (size_t i = 0; i < sizeof(syscall_names) / sizeof(syscall_names[0]); i++)
		if (syscall_names[i].nr == nr)
			return syscall_names[i].name;
	return NULL;
}

int hang_wait__read(__u32 pid, __u64 addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)addr, .iov_len = len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

/* The thread group of a live thread, 0 when it does not exist. */
__u32 hang_wait__tgid_of(__u32 tid)
{
	long tgid;

	if (!tid || tid > 0x3fffffff)
		return 0;
	return procfs__status_field(tid, "Tgid", &tgid) ? 0 : tgid;
}

void hang_wait__add_target(struct hang_wait *w, __u32 pid, __u32 tid)
{
	for (size_t i = 0; i < w->nr_targets; i++)
		if (w->targets[i].pid == pid && w->targets[i].tid == tid)
			return;
	if (w->nr_targets == HANG_TARGETS_MAX) {
		w->unknown = true;	/* more wakers than listed */
		return;
	}
	w->targets[w->nr_targets++] = (struct hang_target){ .pid = pid, .tid = tid };
}

/* --- fd tables ------------------------------------------------------------ */

static int collect_fds(int pid, void *ctx)
{
	struct hang_host *h = ctx;
	char dir[64], path[64 + 256];
	struct dirent *d;
	struct stat st;
	unsigned int flags;
	DIR *dh;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	dh = opendir(dir);
	if (!dh)
		return 0;	/* gone, or a kernel thread */
	while ((d = readdir(dh))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (stat(path, &st) || procfs__fd_flags(pid, atoi(d->d_name), &flags))
			continue;
		if (array__reserve(&h->fds, &h->cap_fds, h->nr_fds + 1, sizeof(*h->fds)))
			break;
		h->fds[h->nr_fds++] = (struct fd_entry){
			.dev = st.st_dev, .ino = st.st_ino, .pid = pid, .flags = flags,
			.fd = atoi(d->d_name),
		};
	}
	closedir(dh);
	return 0;
}

static void read_fds(struct hang_host *h)
{
	if (h->fds_read)
		return;
	h->fds_read = true;
	procfs__for_each_process(collect_fds, h);
}

/* --- /proc/locks ---------------------------------------------------------- */

/*
 * "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF", or with "->" after the
 * number for a waiter. Device numbers are hex major:minor.
 */
static int parse_lock(char *line, struct lock_entry *out)
{
	struct lock_entry e = {};
	char type[16], mode[16], rw[16], start[32], end[32], *p;
	unsigned int maj, min;
	unsigned long ino;
	int pid;

	p = strchr(line, ':');
	if (!p)
		return -EINVAL;
	p++;
	while (*p == ' ')
		p++;
	if (!strncmp(p, "->", 2)) {
		e.blocked = true;
		p += 2;
	}
	if (sscanf(p, "%15s %15s %15s %d %x:%x:%lu %31s %31s", type, mode, rw, &pid, &maj, &min,
		   &ino, start, end) != 9)
		return -EINVAL;
	e.dev = makedev(maj, min);
	e.ino = ino;
	e.pid = pid;
	e.start = strtoull(start, NULL, 10);
	e.end = strcmp(end, "EOF") ? strtoull(end, NULL, 10) : ~0ULL;
	snprintf(e.type, sizeof(e.type), "%s", type);
	*out = e;
	return 0;
}

static void parse_lock_line(struct hang_host *h, char *line)
{
	struct lock_entry e;

	if (parse_lock(line, &e) ||
	    array__reserve(&h->locks, &h->cap_locks, h->nr_locks + 1, sizeof(*h->locks)))
		return;
	h->locks[h->nr_locks++] = e;
}

static bool lock_conflicts(const struct lock_entry *e, const char *type, __u64 start, __u64 end)
{
	return !e->blocked && !strcmp(e->type, type) && e->start <= end && e->end >= start;
}

/*
 * An OFD lock belongs to an open file description, not a process:
 * /proc/locks says pid -1. Each fd's /proc/PID/fdinfo lists the locks its
 * description holds ("lock:\t1: OFDLCK ADVISORY WRITE -1 ..."): every
 * process with an fd on that description holds the lock.
 */
static bool ofd_holders(struct hang_host *h, __u64 dev, __u64 ino, __u64 start, __u64 end,
			struct hang_wait *w)
{
	char path[64], line[512];
	struct lock_entry e;
	bool found = false;
	FILE *f;

	read_fds(h);
	for (size_t i = 0; i < h->nr_fds; i++) {
		if (h->fds[i].dev != dev || h->fds[i].ino != ino)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/fdinfo/%d", h->fds[i].pid, h->fds[i].fd);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "lock:", 5) || parse_lock(line + 5, &e))
				continue;
			if (e.dev == dev && e.ino == ino && lock_conflicts(&e, "OFDLCK", start, end)) {
				hang_wait__add_target(w, h->fds[i].pid, 0);
				found = true;
			}
		}
		fclose(f);
	}
	return found;
}

static void read_locks(struct hang_host *h)
{
	char line[512];
	FILE *f;

	if (h->locks_read)
		return;
	h->locks_read = true;
	f = fopen("/proc/locks", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		parse_lock_line(h, line);
	fclose(f);
}

/* --- helpers over the thread's fds ---------------------------------------- */

static int fd_identity(__u32 pid, int fd, __u64 *dev, __u64 *ino, char *target, size_t len)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%u/fd/%d", pid, fd);
	if (stat(path, &st))
		return -errno;
	*dev = st.st_dev;
	*ino = st.st_ino;
	if (procfs__fd_target(pid, fd, target, len) < 0)
		snprintf(target, len, "fd %d", fd);
	return 0;
}

static void describe_channel(char *out, size_t len, const char *target, int fd, __u64 ino)
{
	if (!strncmp(target, "pipe:", 5))
		snprintf(out, len, "pipe inode %llu (fd %d)", (unsigned long long)ino, fd);
	else if (!strncmp(target, "socket:", 7))
		snprintf(out, len, "socket inode %llu (fd %d)", (unsigned long long)ino, fd);
	else
		snprintf(out, len, "%s (fd %d)", target, fd);
}

/* Every process holding the file (dev, ino) open, whatever its mode. */
static void holders(struct hang_host *h, __u64 dev, __u64 ino, struct hang_wait *w)
{
	read_fds(h);
	for (size_t i = 0; i < h->nr_fds; i++)
		if (h->fds[i].dev == dev && h->fds[i].ino == ino)
			hang_wait__add_target(w, h->fds[i].pid, 0);
}

/* A socket: whoever holds its peer can end the wait. */
static void socket_wait(struct hang_host *h, __u64 dev, __u64 ino, struct hang_wait *w)
{
	__u64 peer = 0;

	switch (hang_socks__peer(h->socks, ino, &peer, w->object, sizeof(w->object))) {
	case PEER_LOCAL:
		snprintf(w->relation, sizeof(w->relation), "whose peer is held by");
		holders(h, dev, peer, w);
		if (!w->nr_targets)
			w->unknown = true;	/* held by a process we cannot see */
		return;
	case PEER_REMOTE:
		snprintf(w->relation, sizeof(w->relation), "peer on another host");
		w->unknown = true;
		return;
	case PEER_UNKNOWN:
		break;
	}
	snprintf(w->relation, sizeof(w->relation), "peer not resolved");
	w->unknown = true;
}

/*
 * A read (want_write false: who can write) or write (who can read) on fd:
 * every process holding the same file open the other way can end it.
 * Sockets name no peer in the fd tables: their waker is unknown.
 */
static void channel_wait(struct hang_host *h, const struct hang_task *t, int fd, bool reading,
			 struct hang_wait *w)
{
	char target[160];
	__u64 dev = 0, ino = 0;	/* set by fd_identity when it returns 0 */

	w->kind = reading ? HW_CHANNEL_READ : HW_CHANNEL_WRITE;
	if (fd_identity(t->tgid, fd, &dev, &ino, target, sizeof(target))) {
		snprintf(w->object, sizeof(w->object), "fd %d", fd);
		w->unknown = true;
		return;
	}
	describe_channel(w->object, sizeof(w->object), target, fd, ino);
	w->obj = !strncmp(target, "pipe:", 5) ? OBJ_PIPE :
		 !strncmp(target, "socket:", 7) ? OBJ_SOCKET : OBJ_FIFO;
	if (w->obj == OBJ_SOCKET) {
		socket_wait(h, dev, ino, w);
		return;
	}
	snprintf(w->relation, sizeof(w->relation), reading ? "whose write end is held by" :
		 "whose read end is held by");
	read_fds(h);
	for (size_t i = 0; i < h->nr_fds; i++) {
		const struct fd_entry *e = &h->fds[i];
		unsigned int acc = e->flags & O_ACCMODE;

		if (e->dev != dev || e->ino != ino)
			continue;
		if (reading ? (acc == O_WRONLY || acc == O_RDWR) : (acc == O_RDONLY || acc == O_RDWR))
			hang_wait__add_target(w, e->pid, 0);
	}
	/*
	 * A blocked read has a writer (else it would return 0) and a blocked
	 * write a reader (else EPIPE): none in the fd tables we can read means
	 * a process we cannot see holds it (another PID namespace, an fd in
	 * flight), not that nobody can end the wait.
	 */
	if (!w->nr_targets) {
		snprintf(w->relation, sizeof(w->relation), reading ?
			 "whose write end no process seen here holds" :
			 "whose read end no process seen here holds");
		w->unknown = true;
	}
}

/* flock / fcntl: whoever holds a conflicting lock on the same file. */
static void file_lock_wait(struct hang_host *h, const struct hang_task *t, int fd,
			   enum hang_wait_kind kind, __u64 start, __u64 len, struct hang_wait *w)
{
	const char *want = kind == HW_FLOCK ? "FLOCK" : kind == HW_OFD_LOCK ? "OFDLCK" : "POSIX";
	__u64 dev = 0, ino = 0, end = len ? start + len - 1 : ~0ULL;
	char target[160];

	w->kind = kind;
	w->obj = kind == HW_FLOCK ? OBJ_FLOCK : OBJ_FCNTL_LOCK;
	if (fd_identity(t->tgid, fd, &dev, &ino, target, sizeof(target))) {
		snprintf(w->object, sizeof(w->object), "fd %d", fd);
		w->unknown = true;
		return;
	}
	snprintf(w->object, sizeof(w->object), "%s on %s",
		 kind == HW_FLOCK ? "flock" : kind == HW_OFD_LOCK ? "OFD lock" : "fcntl lock", target);
	snprintf(w->relation, sizeof(w->relation), "held by");
	read_locks(h);
	for (size_t i = 0; i < h->nr_locks; i++) {
		const struct lock_entry *e = &h->locks[i];

		if (e->blocked || e->dev != dev || e->ino != ino || strcmp(e->type, want))
			continue;
		if (kind != HW_FLOCK && (e->end < start || e->start > end))
			continue;
		if (e->pid > 0)
			hang_wait__add_target(w, e->pid, 0);
		else if (!ofd_holders(h, dev, ino, kind == HW_FLOCK ? 0 : start,
				      kind == HW_FLOCK ? ~0ULL : end, w))
			w->unknown = true;	/* an OFD lock whose description no fd shows */
	}
}


/* --- SysV semaphores ----------------------------------------------------- */

struct sembuf_raw {
	unsigned short num;
	short op;
	short flg;
};

static void sysv_sem_wait(const struct hang_task *t, struct hang_wait *w)
{
	struct sembuf_raw ops[8];
	int semid = t->regs.di;
	size_t nsops = t->regs.dx;

	w->kind = HW_SYSV_SEM;
	w->obj = OBJ_SYSV_SEM;
	snprintf(w->relation, sizeof(w->relation), "last changed by");
	if (nsops > 8)
		nsops = 8;
	if (!nsops || hang_wait__read(t->tgid, t->regs.si, ops, nsops * sizeof(ops[0]))) {
		snprintf(w->object, sizeof(w->object), "SysV semaphore set %d", semid);
		w->unknown = true;
		return;
	}
	for (size_t i = 0; i < nsops; i++) {
		int last;

		if (ops[i].op > 0)
			continue;
		snprintf(w->object, sizeof(w->object), "SysV semaphore %d #%u", semid, ops[i].num);
		w->addr = ops[i].num;
		/*
		 * A semaphore names no holder. The last process that changed
		 * it (semctl GETPID) took it, when it is used as a lock: it
		 * is the one who would post it. Ourselves: nothing known.
		 */
		last = semctl(semid, ops[i].num, GETPID);
		if (last > 0 && (__u32)last != t->tgid)
			hang_wait__add_target(w, last, 0);
		else
			w->unknown = true;
		return;
	}
	w->unknown = true;
}

/* --- poll, select, epoll -------------------------------------------------- */

static void merge_wait(struct hang_wait *into, const struct hang_wait *w)
{
	for (size_t i = 0; i < w->nr_targets; i++)
		hang_wait__add_target(into, w->targets[i].pid, w->targets[i].tid);
	into->unknown |= w->unknown;
}

static void poll_fd(struct hang_host *h, const struct hang_task *t, int fd, bool in, bool out,
		    struct hang_wait *w, size_t *described)
{
	struct hang_wait one = {};
	size_t used = strlen(w->object);

	if (in) {
		channel_wait(h, t, fd, true, &one);
		merge_wait(w, &one);
	}
	if (out) {
		memset(&one, 0, sizeof(one));
		channel_wait(h, t, fd, false, &one);
		merge_wait(w, &one);
	}
	if (*described < 4 && used + strlen(one.object) + 3 < sizeof(w->object))
		snprintf(w->object + used, sizeof(w->object) - used, "%s%s", used ? ", " : "",
			 one.object);
	(*described)++;
}

struct pollfd_raw {
	int fd;
	short events;
	short revents;
};

static void poll_wait(struct hang_host *h, const struct hang_task *t, struct hang_wait *w)
{
	size_t described = 0;

	w->kind = HW_POLL;
	snprintf(w->relation, sizeof(w->relation), "can be woken by");
	if (t->regs.orig_ax == SYS_poll || t->regs.orig_ax == SYS_ppoll) {
		struct pollfd_raw fds[POLL_FDS_MAX];
		size_t n = t->regs.si < POLL_FDS_MAX ? t->regs.si : POLL_FDS_MAX;

		if (t->regs.si > POLL_FDS_MAX)
			w->unknown = true;
		if (n && !hang_wait__read(t->tgid, t->regs.di, fds, n * sizeof(fds[0])))
			for (size_t i = 0; i < n; i++)
				if (fds[i].fd >= 0)
					poll_fd(h, t, fds[i].fd, fds[i].events & 1, fds[i].events & 4,
						w, &described);
		if (!n)
			w->kind = HW_SLEEP;
		return;
	}
	if (t->regs.orig_ax == SYS_select || t->regs.orig_ax == SYS_pselect6) {
		__u64 rd[16] = {}, wr[16] = {};
		int nfds = t->regs.di < 1024 ? t->regs.di : 1024;
		size_t bytes = (nfds + 63) / 64 * 8;

		if (t->regs.si && hang_wait__read(t->tgid, t->regs.si, rd, bytes))
			w->unknown = true;
		if (t->regs.dx && hang_wait__read(t->tgid, t->regs.dx, wr, bytes))
			w->unknown = true;
		for (int fd = 0; fd < nfds; fd++) {
			bool in = rd[fd / 64] >> (fd % 64) & 1, out = wr[fd / 64] >> (fd % 64) & 1;

			if (in || out)
				poll_fd(h, t, fd, in, out, w, &described);
		}
		if (!described && !w->unknown)
			w->kind = HW_SLEEP;
		return;
	}
	/* epoll: the fds registered in it, from its fdinfo ("tfd: N events: M ...") */
	{
		char path[64], *buf, *p;
		size_t len = 1 << 16;

		buf = malloc(len);
		snprintf(path, sizeof(path), "/proc/%u/fdinfo/%d", t->tgid, (int)t->regs.di);
		if (!buf || procfs__read(path, buf, len) < 0) {
			free(buf);
			w->unknown = true;
			return;
		}
		for (p = strstr(buf, "tfd:"); p; p = strstr(p + 4, "tfd:")) {
			unsigned int events = 0;
			int fd;

			if (sscanf(p, "tfd: %d events: %x", &fd, &events) == 2)
				poll_fd(h, t, fd, events & 1, events & 4, w, &described);
		}
		free(buf);
	}
}

/* --- children --------------------------------------------------------------- */

struct child_scan {
	__u32 parent;
	__s64 only;		/* a pid, or -1 for any child */
	struct hang_wait *w;
};

static int add_child(int pid, void *ctx)
{
	struct child_scan *c = ctx;

	if ((__u32)procfs__ppid(pid) == c->parent && (c->only < 0 || c->only == pid))
		hang_wait__add_target(c->w, pid, 0);
	return 0;
}

static void child_wait(const struct hang_task *t, struct hang_wait *w)
{
	struct child_scan c = { .parent = t->tgid, .only = -1, .w = w };
	__s64 arg = (__s64)t->regs.di;

	w->kind = HW_CHILD;
	snprintf(w->relation, sizeof(w->relation), "that is");
	if (t->regs.orig_ax == SYS_wait4 && arg > 0)
		c.only = arg;
	else if (t->regs.orig_ax == SYS_waitid && t->regs.di == 1 /* P_PID */)
		c.only = t->regs.si;
	snprintf(w->object, sizeof(w->object), c.only > 0 ? "child %lld" : "any child",
		 (long long)c.only);
	procfs__for_each_process(add_child, &c);
	if (!w->nr_targets)
		w->unknown = true;
}

/* --- the classifier ---------------------------------------------------------- */

void hang_wait__classify(struct hang_host *h, const struct hang_task *t,
			 const struct hang_wait_stack *stack, struct hang_wait *w)
{
	long sys = (long)t->regs.orig_ax;

	memset(w, 0, sizeof(*w));
	w->syscall = "";
	if (t->exit_state) {
		/* not reaped: the parent's wait, not its own; its registers are stale */
		w->kind = HW_EXITED;
		return;
	}
	if (t->state == TASK_RUNNING) {
		w->kind = HW_RUNNING;
		return;
	}
	if (t->state & (TASK_STOPPED | TASK_TRACED)) {
		w->kind = HW_STOPPED;
		return;
	}
	if (sys < 0) {
		w->kind = HW_RUNNING;	/* in the kernel for a fault, not a wait */
		return;
	}
	w->syscall = syscall_name(sys);
	if (!w->syscall)
		w->syscall = "";
	switch (sys) {
	case SYS_futex:
		hang_futex__classify(h->conds, t, stack, w);
		return;
	case SYS_read:
	case SYS_readv:
	case SYS_pread64:
	case SYS_recvfrom:
	case SYS_recvmsg:
	case SYS_recvmmsg:
	case SYS_mq_timedreceive:
		channel_wait(h, t, t->regs.di, true, w);
		return;
	case SYS_write:
	case SYS_writev:
	case SYS_pwrite64:
	case SYS_sendto:
	case SYS_sendmsg:
	case SYS_sendmmsg:
	case SYS_mq_timedsend:
		channel_wait(h, t, t->regs.di, false, w);
		return;
	case SYS_flock:
		file_lock_wait(h, t, t->regs.di, HW_FLOCK, 0, 0, w);
		return;
	case SYS_fcntl: {
		__s64 fl[4] = {};	/* struct flock: type, whence (shorts), start, len, pid */
		__u64 start = 0, len = 0;

		if (t->regs.si != F_SETLKW_ && t->regs.si != F_OFD_SETLKW_)
			break;
		if (!hang_wait__read(t->tgid, t->regs.dx, fl, sizeof(fl)) && ((fl[0] >> 16) & 0xffff) == SEEK_SET) {
			start = fl[1];
			len = fl[2];
		}
		file_lock_wait(h, t, t->regs.di, t->regs.si == F_SETLKW_ ? HW_POSIX_LOCK : HW_OFD_LOCK,
			       start, len, w);
		return;
	}
	case SYS_semop:
	case SYS_semtimedop:
		sysv_sem_wait(t, w);
		return;
	case SYS_wait4:
	case SYS_waitid:
		child_wait(t, w);
		return;
	case SYS_poll:
	case SYS_ppoll:
	case SYS_select:
	case SYS_pselect6:
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
		poll_wait(h, t, w);
		return;
	case SYS_nanosleep:
	case SYS_clock_nanosleep:
	case SYS_pause:
	case SYS_rt_sigsuspend:
	case SYS_rt_sigtimedwait:
		w->kind = HW_SLEEP;
		return;
	default:
		break;
	}
	w->kind = HW_SYSCALL;
	w->unknown = true;
}

const char *hang_wait__kind_name(enum hang_wait_kind k)
{
	switch (k) {
	case HW_RUNNING: return "running";
	case HW_STOPPED: return "stopped";
	case HW_SLEEP: return "sleeping";
	case HW_MUTEX: return "mutex";
	case HW_RWLOCK: return "rwlock";
	case HW_SEM: return "semaphore";
	case HW_COND: return "condition variable";
	case HW_BARRIER: return "barrier";
	case HW_JOIN: return "thread join";
	case HW_FUTEX: return "futex";
	case HW_FLOCK: return "flock";
	case HW_POSIX_LOCK: return "fcntl lock";
	case HW_OFD_LOCK: return "OFD lock";
	case HW_CHANNEL_READ: return "read";
	case HW_CHANNEL_WRITE: return "write";
	case HW_POLL: return "poll";
	case HW_SYSV_SEM: return "SysV semaphore";
	case HW_CHILD: return "child exit";
	case HW_SYSCALL: return "system call";
	case HW_EXITED: return "exited";
	}
	return "unknown";
}
