/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cgroup v2 for --cgroup PATH and --unit NAME: where the cgroup is, its id
 * (what BPF compares, bpf/process.bpf.c), the processes in it and in the
 * cgroups below it, and whether a process is inside.
 */
#ifndef IPCRACE_CGROUP_H
#define IPCRACE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define CGROUP_PATH_LEN 4096

struct cgroup_target {
	char dir[CGROUP_PATH_LEN];	/* absolute, in the cgroup2 mount */
	char rel[CGROUP_PATH_LEN];	/* as /proc/PID/cgroup names it ("/a/b", "/" at the root) */
	__u64 id;			/* the cgroup id (kernfs node id) */
};

/*
 * PATH absolute in a cgroup2 mount, or relative to it (the mount found in
 * /proc/self/mountinfo: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a
 * hybrid system). 0, or a negative errno with one line printed.
 */
int cgroup__resolve(const char *path, struct cgroup_target *cg);

/*
 * The cgroup of systemd unit NAME (NAME.service when NAME has no suffix):
 * systemctl's ControlGroup, or, without a running systemd, the directory
 * of that name in the cgroup2 mount. 0 or a negative errno (one line).
 */
int cgroup__resolve_unit(const char *unit, struct cgroup_target *cg);

/* Every process in cg and the cgroups below it, malloc'ed. 0 or -errno. */
int cgroup__procs(const struct cgroup_target *cg, int **pids, size_t *nr);

/* True when process pid is in cg or a cgroup below it. */
bool cgroup__holds(const struct cgroup_target *cg, int pid);

#endif /* IPCRACE_CGROUP_H */
