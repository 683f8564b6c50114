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
#include "cgroup.h"
#include "procfs.h"

#define WALK_DEPTH_MAX 32	/* cgroups below the traced one */
#define UNIT_SEARCH_DEPTH 6	/* slices above a unit's cgroup, without systemd */

extern char **environ;

/* The mount point of the cgroup2 hierarchy (its root mounted), or -ENOENT. */
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
	return -ENOENT;
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

int cgroup__resolve(const char *path, struct cgroup_target *cg)
{
	char mount[PATH_MAX], real[PATH_MAX], joined[2 * PATH_MAX + 2];
	size_t mlen;
	struct stat st;
	int err;

	err = cgroup2_mount(mount, sizeof(mount));
	if (err) {
		fprintf(stderr, "ipcrace: --cgroup %s: no cgroup2 hierarchy is mounted\n", path);
		return err;
	}
	mlen = strlen(mount);
	/* as given (absolute in the mount), else relative to the mount */
	if (!realpath(path, real) || strncmp(real, mount, mlen) ||
	    (real[mlen] != '/' && real[mlen] != '\0')) {
		snprintf(joined, sizeof(joined), "%s/%s", mount, path);
		if (!realpath(joined, real) || strncmp(real, mount, mlen) ||
		    (real[mlen] != '/' && real[mlen] != '\0')) {
			fprintf(stderr, "ipcrace: --cgroup %s: no such cgroup in %s\n", path, mount);
			return -ENOENT;
		}
	}
	if (stat(real, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ipcrace: --cgroup %s: not a cgroup directory\n", path);
		return -ENOTDIR;
	}
	snprintf(cg->dir, sizeof(cg->dir), "%s", real);
	snprintf(cg->rel, sizeof(cg->rel), "%s", real[mlen] ? real + mlen : "/");
	err = cgroup_id(cg->dir, &cg->id);
	if (err)
		fprintf(stderr, "ipcrace: --cgroup %s: %s\n", path, strerror(-err));
	return err;
}

/* systemctl show -p ControlGroup --value -- unit, into out ("" when none). */
static void systemd_cgroup(const char *unit, char *out, size_t len)
{
	char *argv[] = { "systemctl", "show", "--property=ControlGroup", "--value", "--",
			 (char *)unit, NULL };
	posix_spawn_file_actions_t fa;
	int pipefd[2], status;
	size_t have = 0;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC))
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "systemctl", &fa, NULL, argv, environ)) {
		pid = -1;
	}
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

int cgroup__resolve_unit(const char *unit, struct cgroup_target *cg)
{
	char name[256], path[PATH_MAX], mount[PATH_MAX];

	if (!*unit || strchr(unit, '/') || strlen(unit) > 200) {
		fprintf(stderr, "ipcrace: --unit '%s': not a unit name\n", unit);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%s%s", unit, strchr(unit, '.') ? "" : ".service");
	systemd_cgroup(name, path, sizeof(path));
	if (path[0])
		return cgroup__resolve(path, cg);
	/* no systemd to ask: the unit's cgroup is a directory of its name */
	if (!cgroup2_mount(mount, sizeof(mount)) &&
	    find_dir(mount, name, UNIT_SEARCH_DEPTH, path, sizeof(path)))
		return cgroup__resolve(path, cg);
	fprintf(stderr, "ipcrace: --unit %s: no cgroup for %s (is it running?)\n", unit, name);
	return -ENOENT;
}

static int collect_procs(const char *dir, int depth, int **pids, size_t *nr, size_t *cap)
{
	char path[PATH_MAX], buf[65536];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = procfs__read(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ENOENT ? 0 : (int)n;	/* removed meanwhile */
	for (char *p = buf; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (array__reserve(pids, cap, *nr + 1, sizeof(**pids)))
			return -ENOMEM;
		(*pids)[(*nr)++] = pid;
		p = end;
		while (*p == '\n')
			p++;
	}
	if (depth <= 0)
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while (!err && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		err = collect_procs(path, depth - 1, pids, nr, cap);
	}
	closedir(d);
	return err;
}

int cgroup__procs(const struct cgroup_target *cg, int **pids, size_t *nr)
{
	size_t cap = 0;
	int err;

	*pids = NULL;
	*nr = 0;
	err = collect_procs(cg->dir, WALK_DEPTH_MAX, pids, nr, &cap);
	if (err) {
		free(*pids);
		*pids = NULL;
		*nr = 0;
	}
	return err;
}

bool cgroup__holds(const struct cgroup_target *cg, int pid)
{
	char path[64], buf[8192], *line;
	size_t rlen = strlen(cg->rel);

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (procfs__read(path, buf, sizeof(buf)) < 0)
		return false;
	for (line = buf; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char *p;

		if (strncmp(line, "0::", 3))
			continue;
		p = line + 3;
		p[strcspn(p, "\n")] = '\0';
		if (!strcmp(cg->rel, "/"))
			return true;
		return !strncmp(p, cg->rel, rlen) && (p[rlen] == '\0' || p[rlen] == '/');
	}
	return false;
}
