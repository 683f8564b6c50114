// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../analyzer/array.h"
#include "pidset.h"
#include "procfs.h"

#define CGROUP_DEPTH_MAX 32	/* cgroups below the named one */
#define UNIT_SEARCH_DEPTH 6	/* slices above a unit's cgroup, without systemd */

extern char **environ;

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

void pidset__remove(struct pidset *s, __u32 pid)
{
	size_t i;

	for (i = 0; i < s->nr && s->pids[i] != pid; i++)
		;
	if (i == s->nr)
		return;
	memmove(&s->pids[i], &s->pids[i + 1], (s->nr - i - 1) * sizeof(*s->pids));
	s->nr--;
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

/* The mount point of the cgroup2 hierarchy (its root mounted), or -ENODEV. */
static int cgroup2_mount(char *out, size_t len)
{
	char buf[65536], *line, *next;
	ssize_t n = procfs__read("/proc/self/mountinfo", buf, sizeof(buf));

	if (n < 0)
		return n;
	for (line = buf; line && *line; line = next) {
		char root[PATH_MAX], point[PATH_MAX];
		char *sep;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 || strcmp(root, "/"))
			continue;
		snprintf(out, len, "%s", point);
		return 0;
	}
	return -ENODEV;
}

static int cgroup_id(const char *dir, __u64 *id)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[8];
	} h = { .fh.handle_bytes = 8 };
	struct stat st;
	int mount_id;

	/* the kernfs node id is the cgroup's file handle, as BPF reads it */
	if (!name_to_handle_at(AT_FDCWD, dir, &h.fh, &mount_id, 0) && h.fh.handle_bytes == 8) {
		memcpy(id, h.fh.f_handle, 8);
		return 0;
	}
	if (stat(dir, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

static bool below(const char *path, const char *mount, size_t mlen)
{
	return !strncmp(path, mount, mlen) && (path[mlen] == '/' || path[mlen] == '\0');
}

int pidset__resolve_cgroup(const char *path, struct pidset_cgroup *cg)
{
	char mount[PATH_MAX], real[PATH_MAX], joined[2 * PATH_MAX + 2];
	struct stat st;
	size_t mlen;
	int err;

	err = cgroup2_mount(mount, sizeof(mount));
	if (err)
		return err;
	mlen = strlen(mount);
	/* as given (absolute in the mount), else relative to the mount */
	if (!realpath(path, real) || !below(real, mount, mlen)) {
		snprintf(joined, sizeof(joined), "%s/%s", mount, path);
		if (!realpath(joined, real) || !below(real, mount, mlen))
			return -ENOENT;
	}
	if (stat(real, &st) || !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	snprintf(cg->dir, sizeof(cg->dir), "%s", real);
	snprintf(cg->rel, sizeof(cg->rel), "%s", real[mlen] ? real + mlen : "/");
	return cgroup_id(cg->dir, &cg->id);
}

/* systemctl show -p ControlGroup --value -- unit, into out ("" when none). */
static void systemd_cgroup(const char *unit, char *out, size_t len)
{
	char *argv[] = { "systemctl", "show", "--property=ControlGroup", "--value", "--",
			 (char *)unit, NULL };
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = 0;
	size_t have = 0;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC))
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "systemctl", &fa, NULL, argv, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while (pid > 0 && have < len - 1 && (n = read(pipefd[0], out + have, len - 1 - have)) > 0)
		have += n;
	out[have] = '\0';
	close(pipefd[0]);
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	out[strcspn(out, "\n")] = '\0';
	if (pid <= 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		out[0] = '\0';
}

/* A directory named name below dir (depth levels at most), into out. */
static bool find_dir(const char *dir, const char *name, int depth, char *out, size_t len)
{
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (depth < 0)
		return false;
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub))
			continue;
		if (!strcmp(de->d_name, name)) {
			snprintf(out, len, "%s", sub);
			found = true;
		} else {
			found = find_dir(sub, name, depth - 1, out, len);
		}
	}
	closedir(d);
	return found;
}

int pidset__resolve_unit(const char *unit, struct pidset_cgroup *cg)
{
	char name[256], path[PATH_MAX], mount[PATH_MAX];

	if (!*unit || strchr(unit, '/') || strlen(unit) > 200)
		return -EINVAL;
	snprintf(name, sizeof(name), "%s%s", unit, strchr(unit, '.') ? "" : ".service");
	systemd_cgroup(name, path, sizeof(path));
	if (path[0])
		return pidset__resolve_cgroup(path, cg);
	/* no systemd to ask: the unit's cgroup is a directory of its name */
	if (!cgroup2_mount(mount, sizeof(mount)) &&
	    find_dir(mount, name, UNIT_SEARCH_DEPTH, path, sizeof(path)))
		return pidset__resolve_cgroup(path, cg);
	return -ENOENT;
}

static int add_cgroup_at(struct pidset *s, const char *dir, int depth)
{
	char path[PATH_MAX], buf[1 << 16];
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
		if (snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) >= (int)sizeof(path))
			continue;
		err = add_cgroup_at(s, path, depth + 1);
		if (err == -ENOENT)
			err = 0;	/* removed meanwhile */
	}
	closedir(dh);
	return err;
}

int pidset__add_resolved(struct pidset *s, const struct pidset_cgroup *cg)
{
	return add_cgroup_at(s, cg->dir, 0);
}

int pidset__add_cgroup(struct pidset *s, const char *path)
{
	struct pidset_cgroup cg;
	int err = pidset__resolve_cgroup(path, &cg);

	return err ? err : pidset__add_resolved(s, &cg);
}

int pidset__add_unit(struct pidset *s, const char *unit)
{
	struct pidset_cgroup cg;
	int err = pidset__resolve_unit(unit, &cg);

	return err ? err : pidset__add_resolved(s, &cg);
}

void pidset__free(struct pidset *s)
{
	free(s->pids);
	memset(s, 0, sizeof(*s));
}
