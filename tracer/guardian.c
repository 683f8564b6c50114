// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "../bpf/stops.h"
#include "guardian.h"
#include "procfs.h"

#define DISMISS_BYTE 'q'
#define READY_TIMEOUT_MS 5000
#define ALIVE_POLL_MS 100	/* how often ipcrace's state is looked at */
#define GONE_POLL_MS 20		/* continues this often while ipcrace is dying */
/*
 * After ipcrace is gone entirely (no BPF program attached any more): how
 * long a program that was running at that moment may take to publish its
 * stop (microseconds; these are generous), before the last scans.
 */
#define SETTLE_FIRST_MS 20
#define SETTLE_LAST_MS 200
#define SCAN_MAX 65536		/* entries continued per scan: the map holds 4096 */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Continues every process in the map, deleting each entry first; a key
 * with ARM_KEY_CONTINUING is a process ipcrace was continuing when it died.
 */
static unsigned int continue_all(int map_fd)
{
	unsigned int n = 0, i;
	__u32 pid;

	/* restart from the first key each time: the entry just deleted was it */
	for (i = 0; i < SCAN_MAX && !bpf_map_get_next_key(map_fd, NULL, &pid); i++) {
		bpf_map_delete_elem(map_fd, &pid);
		if (!kill(pid & ~ARM_KEY_CONTINUING, SIGCONT))
			n++;
	}
	return n;
}

/* Closes every descriptor but the ones kept (stderr stays: one line to say). */
static void close_others(int keep0, int keep1, int keep2)
{
	int fds[1024], nr = 0, fd, null;
	DIR *d;
	struct dirent *de;

	do {
		nr = 0;
		d = opendir("/proc/self/fd");
		if (!d)
			break;
		while ((de = readdir(d)) && nr < (int)(sizeof(fds) / sizeof(fds[0]))) {
			fd = atoi(de->d_name);
			if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dirfd(d) ||
			    fd == keep0 || fd == keep1 || fd == keep2 || fd <= 2)
				continue;
			fds[nr++] = fd;
		}
		closedir(d);
		for (int i = 0; i < nr; i++)
			close(fds[i]);
	} while (nr == (int)(sizeof(fds) / sizeof(fds[0])));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
}

static void leave_signals_and_session(void)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN,
				       SIGTTOU, SIGPIPE, SIGUSR1, SIGUSR2 };
	sigset_t none;
	int fd;

	/* not in ipcrace's process group: Ctrl-C and a group kill miss it */
	setsid();
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "ipcrace-guard");
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "-1000", 5) != 5) {
			/* best effort: an unprivileged run cannot lower it */
		}
		close(fd);
	}
}

#define PF_EXITING_FLAG 0x4	/* include/linux/sched.h: in do_exit() */

/*
 * ipcrace is dying: its main thread is in do_exit (after a SIGKILL the
 * release of its uprobe links there can take the kernel a minute, the
 * socket still open), has exited (a zombie while another thread finishes),
 * or it is gone.
 */
static bool ipcrace_dying(pid_t ipcrace)
{
	char path[64], buf[1024], *p;
	unsigned long flags;
	char state;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)ipcrace);
	if (procfs__read(path, buf, sizeof(buf)) < 0)
		return true;
	p = strrchr(buf, ')');
	/* pid (comm) state ppid pgrp session tty_nr tpgid flags */
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return false;
	return state == 'Z' || state == 'X' || (flags & PF_EXITING_FLAG);
}

/*
 * Until ipcrace is gone entirely (its last thread, so its BPF links, are
 * released; after a SIGKILL that can take the kernel a minute, in
 * synchronize_rcu_tasks_trace): continues whatever its programs still stop
 * meanwhile. No time limit: a stop after the guardian left would be for good.
 */
static unsigned int continue_until_gone(int map_fd, int pidfd, pid_t ipcrace)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	char path[64];
	unsigned int n = 0;

	snprintf(path, sizeof(path), "/proc/%d", (int)ipcrace);
	for (;;) {
		n += continue_all(map_fd);
		if (pidfd >= 0 ? poll(&p, 1, GONE_POLL_MS) == 1 : access(path, F_OK) != 0)
			break;
		if (pidfd < 0)
			sleep_ms(GONE_POLL_MS);
	}
	return n;
}

static void __attribute__((noreturn)) guardian_main(int sock, int map_fd, int pidfd,
						    pid_t ipcrace)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	unsigned int continued;
	bool dismissed = false;
	pid_t self;
	char buf[16];
	ssize_t n;
	int ready;

	leave_signals_and_session();
	close_others(sock, map_fd, pidfd);
	self = getpid();
	if (write(sock, &self, sizeof(self)) != sizeof(self))
		_exit(1);
	for (;;) {
		ready = poll(&p, 1, ALIVE_POLL_MS);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0) {
			/* the socket may outlive ipcrace's main thread: look */
			if (!dismissed && ipcrace_dying(ipcrace))
				break;
			continue;
		}
		n = read(sock, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			dismissed |= memchr(buf, DISMISS_BYTE, n) != NULL;
			continue;
		}
		break;	/* end of file (or an error): ipcrace is gone or done */
	}
	continued = continue_all(map_fd);
	if (!dismissed) {
		continued += continue_until_gone(map_fd, pidfd, ipcrace);
		sleep_ms(SETTLE_FIRST_MS);
		continued += continue_all(map_fd);
		sleep_ms(SETTLE_LAST_MS);
		continued += continue_all(map_fd);
		if (continued)
			fprintf(stderr, "ipcrace: guardian: ipcrace ended without detaching; "
				"continued %u stopped process%s\n", continued,
				continued == 1 ? "" : "es");
	}
	_exit(0);
}

int guardian__start(struct guardian *g, int stops_map_fd)
{
	int sv[2], pidfd, err, status;
	pid_t middle, pid = 0, self = getpid();
	struct pollfd p;
	ssize_t n;

	g->pid = 0;
	g->sock = -1;
	/* no pidfd (before Linux 5.3): the guardian settles longer instead */
	pidfd = syscall(SYS_pidfd_open, self, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		fprintf(stderr, "ipcrace: guardian: socketpair: %m\n");
		goto out_pidfd;
	}
	middle = fork();
	if (middle < 0) {
		err = -errno;
		fprintf(stderr, "ipcrace: guardian: fork: %m\n");
		goto out_sock;
	}
	if (middle == 0) {
		/* the grandchild is reparented away from ipcrace */
		close(sv[0]);
		if (fork() == 0)
			guardian_main(sv[1], stops_map_fd, pidfd, self);
		_exit(0);
	}
	close(sv[1]);
	sv[1] = -1;
	while (waitpid(middle, &status, 0) < 0 && errno == EINTR)
		;
	p = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	if (poll(&p, 1, READY_TIMEOUT_MS) != 1 ||
	    (n = read(sv[0], &pid, sizeof(pid))) != sizeof(pid) || pid <= 0) {
		err = -ECHILD;
		fprintf(stderr, "ipcrace: guardian: did not start\n");
		goto out_sock;
	}
	g->pid = pid;
	g->sock = sv[0];
	if (pidfd >= 0)
		close(pidfd);
	return 0;

out_sock:
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
out_pidfd:
	if (pidfd >= 0)
		close(pidfd);
	return err;
}

void guardian__dismiss(struct guardian *g)
{
	char q = DISMISS_BYTE;

	if (!g || g->sock < 0)
		return;
	if (write(g->sock, &q, 1) != 1) {
		/* the guardian is gone already: nothing to tell it */
	}
	close(g->sock);
	g->sock = -1;
	g->pid = 0;
}
