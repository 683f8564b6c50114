// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../analyzer/array.h"
#include "pidset.h"
#include "procfs.h"

#define CGROUP_DEPTH_MAX 32

bool pidset__has(const struct pidset *s, __u32 pid)
{
	for (size_t i = 0; i < s->nr; i++)
		if (s->pids[i] == pid)
			return true;
	return false;
}

int pidset__add(struct pidset *s, __u32 pid)
{
	if (pidset__has(s, pid))
		return 0;
	if (array__reserve(&s->pids, &s->cap, s->nr + 1, sizeof(*s->pids)))
		return -ENOMEM;
	s->pids[s->nr++] = pid;
	return 0;
}

int pidset__add_trees(struct pidset *s, const int *roots, size_t nr)
{
	int *pids = NULL, err;
	size_t n = 0;

	err = procfs__descendants(roots, nr, &pids, &n);
	for (size_t i = 0; !err && i < n; i++)
		err = pidset__add(s, pids[i]);
	free(pids);
	return err;
}

static int add_cgroup_at(struct pidset *s, const char *dir, int depth)
{
	char path[4096], buf[1 << 16];
	struct dirent *d;
	ssize_t n;
	DIR *dh;
	int err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = procfs__read(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	for (char *p = buf, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0 && (err = pidset__add(s, pid)))
			return err;
	}
	if (depth >= CGROUP_DEPTH_MAX)
		return 0;
	dh = opendir(dir);
	if (!dh)
		return 0;
	while (!err && (d = readdir(dh))) {
		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		err = add_cgroup_at(s, path, depth + 1);
		if (err == -ENOENT)
			err = 0;	/* removed meanwhile */
	}
	closedir(dh);
	return err;
}

int pidset__add_cgroup(struct pidset *s, const char *dir)
{
	return add_cgroup_at(s, dir, 0);
}

int pidset__add_unit(struct pidset *s, const char *unit)
{
	static const char *const slices[] = { "system.slice", "user.slice", "init.scope", "" };
	char path[4096];

	for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", slices[i], unit);
		if (!access(path, F_OK))
			return pidset__add_cgroup(s, path);
	}
	return -ENOENT;
}

void pidset__free(struct pidset *s)
{
	free(s->pids);
	memset(s, 0, sizeof(*s));
}
