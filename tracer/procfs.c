// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../analyzer/array.h"
#include "procfs.h"

ssize_t procfs__read(const char *path, char *buf, size_t len)
{
	size_t have = 0;
	ssize_t n;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (have < len - 1) {
		n = read(fd, buf + have, len - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		have += n;
	}
	close(fd);
	buf[have] = '\0';
	return have;
}

int procfs__status_field(int pid, const char *field, long *out)
{
	char path[64], buf[4096];
	size_t flen = strlen(field);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = procfs__read(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			*out = strtol(line + flen + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

int procfs__ppid(int pid)
{
	long ppid;

	return procfs__status_field(pid, "PPid", &ppid) ? 0 : (int)ppid;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int procfs__for_each_process(int (*fn)(int pid, void *ctx), void *ctx)
{
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while (!ret && (d = readdir(dir)))
		if (all_digits(d->d_name))
			ret = fn(atoi(d->d_name), ctx);
	closedir(dir);
	return ret;
}

int procfs__threads(int pid, int **tids, size_t *nr)
{
	char path[64];
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;

	*tids = NULL;
	*nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -ESRCH;
	while ((d = readdir(dir))) {
		if (!all_digits(d->d_name))
			continue;
		if (array__reserve(tids, &cap, *nr + 1, sizeof(**tids))) {
			closedir(dir);
			free(*tids);
			*tids = NULL;
			*nr = 0;
			return -ENOMEM;
		}
		(*tids)[(*nr)++] = atoi(d->d_name);
	}
	closedir(dir);
	return 0;
}

struct parents {
	int *pid;
	int *ppid;
	size_t nr, cap, cap2;
	int err;
};

static int collect_parent(int pid, void *ctx)
{
	struct parents *p = ctx;

	if (array__reserve(&p->pid, &p->cap, p->nr + 1, sizeof(*p->pid)) ||
	    array__reserve(&p->ppid, &p->cap2, p->nr + 1, sizeof(*p->ppid))) {
		p->err = -ENOMEM;
		return 1;
	}
	p->pid[p->nr] = pid;
	p->ppid[p->nr] = procfs__ppid(pid);
	p->nr++;
	return 0;
}

static bool listed(const int *pids, size_t nr, int pid)
{
	for (size_t i = 0; i < nr; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

int procfs__descendants(const int *roots, size_t nr_roots, int **out, size_t *nr_out)
{
	struct parents p = {};
	size_t cap = 0, nr = 0, scanned = 0;
	int *pids = NULL;
	char path[64];
	int err;

	err = procfs__for_each_process(collect_parent, &p);
	if (!err)
		err = p.err;
	if (err)
		goto out;
	for (size_t i = 0; i < nr_roots; i++) {
		snprintf(path, sizeof(path), "/proc/%d", roots[i]);
		if (access(path, F_OK) || listed(pids, nr, roots[i]))
			continue;
		if (array__reserve(&pids, &cap, nr + 1, sizeof(*pids))) {
			err = -ENOMEM;
			goto out;
		}
		pids[nr++] = roots[i];
	}
	/* breadth first: the children of every listed process, until none is new */
	while (scanned < nr) {
		int parent = pids[scanned++];

		for (size_t i = 0; i < p.nr; i++) {
			if (p.ppid[i] != parent || listed(pids, nr, p.pid[i]))
				continue;
			if (array__reserve(&pids, &cap, nr + 1, sizeof(*pids))) {
				err = -ENOMEM;
				goto out;
			}
			pids[nr++] = p.pid[i];
		}
	}
out:
	free(p.pid);
	free(p.ppid);
	if (err) {
		free(pids);
		pids = NULL;
		nr = 0;
	}
	*out = pids;
	*nr_out = nr;
	return err;
}

ssize_t procfs__fd_target(int pid, int fd, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

int procfs__fd_flags(int pid, int fd, unsigned int *flags)
{
	char path[64], buf[1024], *f;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	n = procfs__read(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	f = strstr(buf, "flags:");
	if (!f)
		return -ENOENT;
	*flags = strtoul(f + 6, NULL, 8);
	return 0;
}

int procfs__parse_syscall(const char *text, long *nr, unsigned long long *arg0)
{
	char *end;
	long n;

	if (!strncmp(text, "running", 7))
		return -EAGAIN;
	errno = 0;
	n = strtol(text, &end, 10);
	if (errno || end == text || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	*nr = n;
	*arg0 = 0;
	if (n < 0)
		return 0;	/* "-1 SP PC": off the CPU outside a syscall */
	text = end;
	while (*text == ' ')
		text++;
	if (strncmp(text, "0x", 2))
		return -EINVAL;
	errno = 0;
	*arg0 = strtoull(text, &end, 16);
	if (errno || end == text + 2)
		return -EINVAL;
	return 0;
}

int procfs__syscall(int pid, long *nr, unsigned long long *arg0)
{
	char path[64], buf[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	n = procfs__read(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	return procfs__parse_syscall(buf, nr, arg0);
}

char procfs__parse_stat_state(const char *stat)
{
	const char *close = strrchr(stat, ')');

	if (!close || close[1] != ' ' || !isalpha((unsigned char)close[2]))
		return 0;
	return close[2];
}

bool procfs__process_exited(int pid)
{
	char path[96], buf[512];
	bool exited = true;
	int *tids, err;
	size_t nr;

	err = procfs__threads(pid, &tids, &nr);
	if (err)
		return err == -ESRCH;	/* reaped; out of memory: cannot tell */
	for (size_t i = 0; i < nr && exited; i++) {
		char state;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tids[i]);
		if (procfs__read(path, buf, sizeof(buf)) < 0)
			continue;	/* that thread is gone */
		state = procfs__parse_stat_state(buf);
		exited = state == 'Z' || state == 'X';
	}
	free(tids);
	return exited;
}
