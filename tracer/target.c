// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"
#include "target.h"

/* The executable execvp would run, so its ELF can be checked beforehand. */
static int resolve_exe(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	const char *p;

	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK))
			return -errno;
		snprintf(out, len, "%s", cmd);
		return 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; p && *p;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		struct stat st;

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", cmd);
		if (!stat(buf, &st) && S_ISREG(st.st_mode) && !access(buf, X_OK)) {
			snprintf(out, len, "%s", buf);
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* A script's interpreter ("#!/bin/sh"): it is the code that runs. */
static void script_interpreter(const char *exe, char *out, size_t len)
{
	char line[256];
	ssize_t n;
	int fd;

	out[0] = '\0';
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return;
	line[n] = '\0';
	n = 2 + strspn(line + 2, " \t");
	line[n + strcspn(line + n, " \t\n")] = '\0';
	snprintf(out, len, "%s", line + n);
}

/* Parent: plans the private files (the executable first). */
static void scope_plan(struct target *t, const struct target_opts *opts)
{
	const char *paths[SCOPE_MAX_FILES];
	char interp[256];
	size_t n = 0, i;

	memset(&t->scope, 0, sizeof(t->scope));
	if (opts && opts->host_wide) {
		snprintf(t->scope.why, sizeof(t->scope.why), "IPCRACE_NO_SCOPE is set");
		return;
	}
	script_interpreter(t->exe, interp, sizeof(interp));
	paths[n++] = t->exe;
	if (interp[0])
		paths[n++] = interp;
	for (i = 0; opts && i < opts->nr_private_files && n < SCOPE_MAX_FILES; i++)
		paths[n++] = opts->private_files[i];
	scope__plan(&t->scope, paths, n);
}

/* Parent: what the child did about its namespace. */
static void scope_result(struct target *t, int report_fd)
{
	struct scope_report r;
	ssize_t n = read(report_fd, &r, sizeof(r));

	if (n != (ssize_t)sizeof(r)) {
		snprintf(t->scope.why, sizeof(t->scope.why), "the child did not report its "
			 "namespace set-up");
		t->scope.nr = 0;
		return;
	}
	if (r.err) {
		snprintf(t->scope.why, sizeof(t->scope.why), "%.*s", (int)sizeof(r.why), r.why);
		t->scope.nr = 0;
		return;
	}
	scope__open(&t->scope, t->pid);
}

/*
 * Parent: waits until the child sits in its read of the go pipe. Its pid
 * is marked traced after this returns, and a syscall entered before that
 * is not recorded: so its wait for the go byte is not in the trace (as a
 * pipe receive with no sender) however late the child is scheduled. Gives
 * up when the child is gone, /proc cannot tell (then the read may be
 * recorded, as before), or after SPAWN_WAIT_MAX_NS of a child that never
 * gets there.
 */
#define SPAWN_WAIT_MAX_NS (10ULL * 1000000000ULL)

static void wait_in_go_read(pid_t pid, int fd)
{
	struct timespec pause = { .tv_nsec = 20000 };
	unsigned long long waited = 0, arg0;
	siginfo_t si;
	long nr;
	int err;

	while (waited < SPAWN_WAIT_MAX_NS) {
		err = procfs__syscall(pid, &nr, &arg0);
		if (!err && nr == SYS_read && arg0 == (unsigned long long)fd)
			return;
		if (err && err != -EAGAIN)
			return;
		si.si_pid = 0;
		if (!waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid)
			return;	/* it died (a failed set-up): the caller finds out */
		nanosleep(&pause, NULL);
		waited += pause.tv_nsec;
		if (pause.tv_nsec < 1000000)
			pause.tv_nsec *= 2;
	}
}

int target__spawn(struct target *t, char *const argv[], const struct target_opts *opts)
{
	int pipefd[2], report[2] = { -1, -1 }, err;
	bool scoped;
	char go;

	err = resolve_exe(argv[0], t->exe, sizeof(t->exe));
	if (err) {
		fprintf(stderr, "ipcrace: cannot run %s: %s\n", argv[0], strerror(-err));
		return err;
	}
	scope_plan(t, opts);
	scoped = t->scope.nr > 0;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		err = -errno;
		fprintf(stderr, "ipcrace: prctl(PR_SET_CHILD_SUBREAPER): %m\n");
		return err;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		err = -errno;
		fprintf(stderr, "ipcrace: pipe: %m\n");
		return err;
	}
	if (scoped && pipe2(report, O_CLOEXEC)) {
		err = -errno;
		fprintf(stderr, "ipcrace: pipe: %m\n");
		goto out_pipe;
	}
	t->pid = fork();
	if (t->pid < 0) {
		err = -errno;
		fprintf(stderr, "ipcrace: fork: %m\n");
		goto out_report;
	}
	if (t->pid == 0) {
		close(pipefd[1]);
		if (scoped) {
			struct scope_report r;

			close(report[0]);
			/* on failure the tree shares the host's files; the parent says so */
			scope__enter(&t->scope, &r);
			if (write(report[1], &r, sizeof(r)) != sizeof(r))
				_exit(127);
			close(report[1]);
		}
		/* before the wait, untraced: the trace starts at the exec */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		/* EOF without the go byte: ipcrace gave up, do not run untraced */
		if (read(pipefd[0], &go, 1) != 1)
			_exit(127);
		execv(t->exe, argv);
		fprintf(stderr, "ipcrace: exec %s: %m\n", t->exe);
		_exit(127);
	}
	close(pipefd[0]);
	t->release_fd = pipefd[1];
	if (scoped) {
		close(report[1]);
		scope_result(t, report[0]);
		close(report[0]);
	}
	wait_in_go_read(t->pid, pipefd[0]);
	return 0;

out_report:
	if (report[0] >= 0) {
		close(report[0]);
		close(report[1]);
	}
out_pipe:
	close(pipefd[0]);
	close(pipefd[1]);
	return err;
}

const char *target__probe_path(const struct target *t, const char *path, char *buf, size_t len)
{
	return scope__probe_path(&t->scope, path, buf, len);
}

int target__release(struct target *t)
{
	char go = 'g';
	int err = 0;

	if (write(t->release_fd, &go, 1) != 1)
		err = -errno;
	close(t->release_fd);
	t->release_fd = -1;
	return err;
}

void target__abort(struct target *t)
{
	scope__close(&t->scope);
	if (t->release_fd >= 0)
		close(t->release_fd);
	t->release_fd = -1;
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
}

void target__close(struct target *t)
{
	scope__close(&t->scope);
}
