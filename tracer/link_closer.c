// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Closing link descriptors in a process of their own (tracer/link_closer.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "link_closer.h"
#include "uprobe_multi.h"

/* closes of one batch that wait at once (each waits for its grace periods) */
#define CLOSE_WORKERS 64
/* descriptors in one message (ipcrace sends one at a time) */
#define FDS_PER_MSG 16

/* the first byte of a message to the closer process */
#define MSG_CLOSE 'c'		/* descriptors: close them */
#define MSG_ATTACH 'a'		/* struct attach_req; descriptors: program, file, data, reply */

/*
 * An attach request: a uprobe_multi link of the program on the file, its
 * offsets and cookies (cnt of each) in the data memfd, the link (or an
 * errno) sent back on the reply socket.
 */
struct attach_req {
	char kind;
	__u32 attach_type;
	__u32 cnt;
	__u32 pid;
	bool ret;
};

struct attach_reply {
	int err;		/* 0: the link descriptor comes with it */
};

/* what the closer process reports after each batch, and last */
struct closer_stats {
	__u64 closed;
	double busy_ms;
};

struct link_closer {
	int sock;		/* SOCK_SEQPACKET to the closer process */
	size_t closed_here;	/* closed on the spot: the closer was gone */
	struct closer_stats stats;	/* its last report */
};

/* --- the closer process -------------------------------------------------------- */

struct close_batch {
	const int *fds;
	size_t nr;
	size_t next;		/* under lock */
	pthread_mutex_t lock;
};

static void *close_worker(void *arg)
{
	struct close_batch *b = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		i = b->next++;
		pthread_mutex_unlock(&b->lock);
		if (i >= b->nr)
			return NULL;
		close(b->fds[i]);
	}
}

/* Closes fds[0..nr) on up to CLOSE_WORKERS threads at once. */
static void close_all(const int *fds, size_t nr)
{
	struct close_batch b = { .fds = fds, .nr = nr };
	pthread_t workers[CLOSE_WORKERS];
	size_t n = 0, i;

	pthread_mutex_init(&b.lock, NULL);
	for (i = 0; i < CLOSE_WORKERS && i < nr; i++)
		if (!pthread_create(&workers[n], NULL, close_worker, &b))
			n++;
	if (!n)
		close_worker(&b);
	for (i = 0; i < n; i++)
		pthread_join(workers[i], NULL);
	pthread_mutex_destroy(&b.lock);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* the closer process's queue: the receiver fills it, the closing thread empties it */
struct closer_queue {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int *fds;		/* under lock */
	size_t nr, cap;
	bool ended;		/* under lock: ipcrace closed its side */
	int sock;
};

/* Queues one received descriptor to be closed. */
static void queue_fd(struct closer_queue *q, int fd)
{
	if (q->nr == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 256;
		int *grown = realloc(q->fds, cap * sizeof(*grown));

		if (!grown) {
			close(fd);	/* no room: closed here, waited for */
			return;
		}
		q->fds = grown;
		q->cap = cap;
	}
	q->fds[q->nr++] = fd;
}

struct attach_job {
	struct attach_req req;
	int prog_fd, file_fd, data_fd, reply_fd;
};

static void send_reply(int sock, int err, int fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct attach_reply r = { .err = err };
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (!err) {
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* One attach, on a thread of its own: attaches run at once, as ipcrace asks them. */
static void *attach_main(void *arg)
{
	struct attach_job *j = arg;
	size_t bytes = (size_t)j->req.cnt * 2 * sizeof(__u64);
	char path[64];
	__u64 *data;
	int fd = -EINVAL;

	data = j->req.cnt ? mmap(NULL, bytes, PROT_READ, MAP_PRIVATE, j->data_fd, 0) : MAP_FAILED;
	if (data != MAP_FAILED) {
		/* the file as ipcrace opened it, whatever mount namespace this is */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", j->file_fd);
		fd = uprobe_multi__attach_here(j->prog_fd, j->req.attach_type, path, data,
					       data + j->req.cnt, j->req.cnt, j->req.ret, j->req.pid);
		munmap(data, bytes);
	}
	send_reply(j->reply_fd, fd < 0 ? fd : 0, fd);
	if (fd >= 0)
		close(fd);	/* ipcrace holds it now (or, dead, its socket's queue) */
	close(j->prog_fd);
	close(j->file_fd);
	close(j->data_fd);
	close(j->reply_fd);
	free(j);
	return NULL;
}

static void start_attach(const struct attach_req *req, const int *fds, size_t nr)
{
	struct attach_job *j = NULL;
	pthread_attr_t attr;
	pthread_t t;

	if (nr == 4 && (j = malloc(sizeof(*j)))) {
		*j = (struct attach_job){ .req = *req, .prog_fd = fds[0], .file_fd = fds[1],
					  .data_fd = fds[2], .reply_fd = fds[3] };
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (!pthread_create(&t, &attr, attach_main, j)) {
			pthread_attr_destroy(&attr);
			return;
		}
		pthread_attr_destroy(&attr);
		attach_main(j);		/* no thread: here */
		return;
	}
	free(j);
	for (size_t i = 0; i < nr; i++)
		close(fds[i]);	/* the requester sees its reply socket close */
}

/* Receives one message: descriptors to close, or an attach. 0 at the end, -1 on error. */
static int receive_fds(struct closer_queue *q)
{
	char control[CMSG_SPACE(FDS_PER_MSG * sizeof(int))];
	struct attach_req req;
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	int fds[FDS_PER_MSG];
	struct cmsghdr *c;
	size_t nr = 0;
	ssize_t n;

	do
		n = recvmsg(q->sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		if (k > FDS_PER_MSG - nr)
			k = FDS_PER_MSG - nr;
		memcpy(fds + nr, CMSG_DATA(c), k * sizeof(int));
		nr += k;
	}
	if (req.kind == MSG_ATTACH && n == sizeof(req)) {
		start_attach(&req, fds, nr);
		return 1;
	}
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < nr; i++)
		queue_fd(q, fds[i]);
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	return 1;
}

/* The closing thread: what is queued, a batch at a time, reported after each. */
static void *closing_main(void *arg)
{
	struct closer_queue *q = arg;
	struct closer_stats st = {};
	int *batch;
	size_t nr;
	double t0;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->nr && !q->ended)
			pthread_cond_wait(&q->wake, &q->lock);
		if (!q->nr)
			break;
		batch = q->fds;
		nr = q->nr;
		q->fds = NULL;
		q->nr = q->cap = 0;
		pthread_mutex_unlock(&q->lock);
		t0 = now_ms();
		close_all(batch, nr);
		free(batch);
		st.busy_ms += now_ms() - t0;
		st.closed += nr;
		send(q->sock, &st, sizeof(st), MSG_DONTWAIT | MSG_NOSIGNAL);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	send(q->sock, &st, sizeof(st), MSG_NOSIGNAL);
	return NULL;
}

/*
 * The closer process: closes what it receives (the closes of one batch wait
 * at once), reports after each batch, and when ipcrace closes its side (or
 * dies) closes the rest and ends. Why a process: a SIGKILL of ipcrace while
 * one of its threads closes a link makes the kernel give that close up and
 * leak its uprobes ("failed to unregister, leaking uprobe"), breakpoints
 * left in the traced processes for good; here nobody sends one. The
 * receiver never waits for a close, so ipcrace's sends never wait either.
 */
static void __attribute__((noreturn)) closer_main(int sock)
{
	struct closer_queue q = { .sock = sock };
	pthread_t closing;
	bool threaded;

	pthread_mutex_init(&q.lock, NULL);
	pthread_cond_init(&q.wake, NULL);
	threaded = !pthread_create(&closing, NULL, closing_main, &q);
	while (receive_fds(&q) > 0)
		if (!threaded) {
			close_all(q.fds, q.nr);
			q.nr = 0;
		}
	pthread_mutex_lock(&q.lock);
	q.ended = true;
	pthread_cond_signal(&q.wake);
	pthread_mutex_unlock(&q.lock);
	if (threaded)
		pthread_join(closing, NULL);
	_exit(0);
}

/*
 * In the closer process: nothing of ipcrace's but the socket (returned), out
 * of its session, no signal but SIGKILL and those of its own faults.
 */
static int closer_setup(int sock)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS };
	int null;

	setsid();
	prctl(PR_SET_NAME, "ipcrace-detach");
	for (int sig = 1; sig < NSIG; sig++) {
		bool fault = false;

		for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
			fault |= sig == faults[i];
		if (!fault && sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			signal(sig, SIG_IGN);
	}
	if (sock < 3)
		sock = fcntl(sock, F_DUPFD_CLOEXEC, 3);
	if (sock < 0)
		_exit(1);
	/* the links inherited by fork: their last references stay with ipcrace */
	if (sock > 3)
		close_range(3, sock - 1, 0);
	close_range(sock + 1, ~0U, 0);
	null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3; fd++)
		if (null >= 0 && fd != null)
			dup2(null, fd);
	if (null > 2)
		close(null);
	return sock;
}

/* --- ipcrace's side -------------------------------------------------------------- */

struct link_closer *link_closer__new(void)
{
	struct link_closer *c = calloc(1, sizeof(*c));
	pid_t middle;
	int sv[2], status, err;

	if (!c)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = errno;
		free(c);
		errno = err;
		return NULL;
	}
	middle = fork();
	if (middle < 0) {
		err = errno;
		close(sv[0]);
		close(sv[1]);
		free(c);
		errno = err;
		return NULL;
	}
	if (middle == 0) {
		/* the grandchild is reparented away: ipcrace reaps its whole tree */
		if (fork() == 0) {
			closer_main(closer_setup(sv[1]));
		}
		_exit(0);
	}
	close(sv[1]);
	while (waitpid(middle, &status, 0) < 0 && errno == EINTR)
		;
	c->sock = sv[0];
	return c;
}

/* Reads the closer's reports: all that are there, or until it ends (wait). */
static void read_stats(struct link_closer *c, bool wait)
{
	struct closer_stats st;
	ssize_t n;

	for (;;) {
		n = recv(c->sock, &st, sizeof(st), wait ? 0 : MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(st))
			return;
		c->stats = st;
	}
}

void link_closer__close(struct link_closer *c, int fd)
{
	char control[CMSG_SPACE(sizeof(int))], data = 'c';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	if (!c) {
		close(fd);
		return;
	}
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do
		n = sendmsg(c->sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	/* sent: the closer holds the last reference now; if not, this close waits */
	close(fd);
	if (n < 0)
		c->closed_here++;
}

/* sendmsg of data with the descriptors fds[0..nr) */
static int send_with_fds(int sock, const void *data, size_t len, const int *fds, size_t nr)
{
	char control[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = CMSG_SPACE(nr * sizeof(int)),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nr * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nr * sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* The attach's reply: the link fd, a negative errno, or -EPIPE when there was none. */
static int receive_reply(int sock)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct attach_reply r;
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cm;
	ssize_t n;
	int fd = -1;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (n != sizeof(r))
		return fd >= 0 ? (close(fd), -EPIPE) : -EPIPE;
	if (r.err)
		return fd >= 0 ? (close(fd), r.err) : r.err;
	return fd >= 0 ? fd : -EPIPE;
}

int link_closer__attach(struct link_closer *c, int prog_fd, __u32 attach_type, const char *path,
			const __u64 *offsets, const __u64 *cookies, __u32 cnt, bool ret, int pid)
{
	struct attach_req req = { .kind = MSG_ATTACH, .attach_type = attach_type, .cnt = cnt,
				  .pid = (__u32)pid, .ret = ret };
	size_t half = (size_t)cnt * sizeof(__u64);
	int file_fd = -1, data_fd = -1, sv[2] = { -1, -1 }, fd;

	if (!c || !cnt)
		return -EPIPE;
	file_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (file_fd < 0)
		return -errno;
	data_fd = memfd_create("ipcrace-attach", MFD_CLOEXEC);
	if (data_fd < 0 || pwrite(data_fd, offsets, half, 0) != (ssize_t)half ||
	    pwrite(data_fd, cookies, half, half) != (ssize_t)half ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		fd = -EPIPE;
		goto out;
	}
	fd = send_with_fds(c->sock, &req, sizeof(req), (int[]){ prog_fd, file_fd, data_fd, sv[1] }, 4);
	if (fd)
		goto out;
	close(sv[1]);
	sv[1] = -1;
	fd = receive_reply(sv[0]);
out:
	close(file_fd);
	if (data_fd >= 0)
		close(data_fd);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return fd;
}

static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static struct link_closer *shared;

static void shared_start(void)
{
	shared = link_closer__new();
}

struct link_closer *link_closer__shared(void)
{
	pthread_once(&shared_once, shared_start);
	return shared;
}

size_t link_closer__closed(struct link_closer *c)
{
	if (!c)
		return 0;
	read_stats(c, false);
	return c->stats.closed + c->closed_here;
}

double link_closer__busy_ms(struct link_closer *c)
{
	if (!c)
		return 0;
	read_stats(c, false);
	return c->stats.busy_ms;
}

/* Hands the rest over; wait: until the closer has closed everything. */
static void finish(struct link_closer *c, bool wait)
{
	shutdown(c->sock, SHUT_WR);
	if (wait)
		read_stats(c, true);
	close(c->sock);
	free(c);
}

void link_closer__free(struct link_closer *c)
{
	if (c)
		finish(c, true);
}

void link_closer__release(struct link_closer *c)
{
	if (c)
		finish(c, false);
}
