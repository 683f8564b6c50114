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
#include <sys/wait.h>
#include <unistd.h>

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

int target__spawn(struct target *t, char *const argv[])
{
	int pipefd[2], err;
	char go;

	err = resolve_exe(argv[0], t->exe, sizeof(t->exe));
	if (err) {
		fprintf(stderr, "ipcrace: cannot run %s: %s\n", argv[0], strerror(-err));
		return err;
	}
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
	t->pid = fork();
	if (t->pid < 0) {
		err = -errno;
		fprintf(stderr, "ipcrace: fork: %m\n");
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (t->pid == 0) {
		close(pipefd[1]);
		/* EOF without the go byte: ipcrace gave up, do not run untraced */
		if (read(pipefd[0], &go, 1) != 1)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execv(t->exe, argv);
		fprintf(stderr, "ipcrace: exec %s: %m\n", t->exe);
		_exit(127);
	}
	close(pipefd[0]);
	t->release_fd = pipefd[1];
	return 0;
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
	if (t->release_fd >= 0)
		close(t->release_fd);
	t->release_fd = -1;
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
}
