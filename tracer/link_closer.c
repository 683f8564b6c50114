// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Closing link descriptors in a process of their own (tracer/link_closer.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "link_closer.h"

/* closes of one batch that wait at once (each waits for its grace periods) */
#define CLOSE_WORKERS 64
/* descriptors in one message (ipcrace sends one at a time) */
#define FDS_PER_MSG 16

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

/* Receives one message's descriptors into q: 0 at the end, -1 on error. */
static int receive_fds(struct closer_queue *q)
{
	char data, control[CMSG_SPACE(FDS_PER_MSG * sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(q->sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	pthread_mutex_lock(&q->lock);
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(c);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < k; i++) {
			if (q->nr == q->cap) {
				size_t cap = q->cap ? 2 * q->cap : 256;
				int *grown = realloc(q->fds, cap * sizeof(*grown));

				if (!grown) {
					close(fds[i]);	/* no room: closed here, waited for */
					continue;
				}
				q->fds = grown;
				q->cap = cap;
			}
			q->fds[q->nr++] = fds[i];
		}
	}
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
