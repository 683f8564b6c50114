/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A set of processes (tgids), filled the ways users name them: a pid with
 * its descendants, a cgroup v2 directory with the cgroups below it, a
 * systemd unit's cgroup. The one place that resolves cgroups and units
 * (for hang, and for record/check, whose BPF compares the cgroup id).
 */
#ifndef IPCRACE_PIDSET_H
#define IPCRACE_PIDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PIDSET_PATH_LEN 4096

struct pidset {
	__u32 *pids;			/* in order of addition */
	size_t nr;
	size_t cap;
};

/* A resolved cgroup v2 directory. */
struct pidset_cgroup {
	char dir[PIDSET_PATH_LEN];	/* absolute, in the cgroup2 mount */
	char rel[PIDSET_PATH_LEN];	/* as /proc/PID/cgroup names it ("/a/b", "/" at the root) */
	__u64 id;			/* the cgroup id (kernfs node id), what BPF compares */
};

bool pidset__has(const struct pidset *s, __u32 pid);
/* Adds pid unless present. 0 or -ENOMEM. */
int pidset__add(struct pidset *s, __u32 pid);
/* Removes pid when present (the others keep their order). */
void pidset__remove(struct pidset *s, __u32 pid);
/* Every existing process in the trees rooted at roots. 0 or -ENOMEM. */
int pidset__add_trees(struct pidset *s, const int *roots, size_t nr);

/*
 * PATH absolute in the cgroup2 mount, or relative to it (the mount found in
 * /proc/self/mountinfo: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a
 * hybrid system). Silent: 0, -ENODEV (no cgroup2 mounted), -ENOENT (no such
 * cgroup), -ENOTDIR, -errno.
 */
int pidset__resolve_cgroup(const char *path, struct pidset_cgroup *cg);
/*
 * The cgroup of systemd unit NAME (NAME.service when NAME has no suffix):
 * systemctl's ControlGroup, or, without a running systemd, the directory
 * of that name in the cgroup2 mount. Silent: 0, -EINVAL (not a unit name),
 * -ENOENT (no cgroup for it), or as pidset__resolve_cgroup.
 */
int pidset__resolve_unit(const char *unit, struct pidset_cgroup *cg);

/* Every process of the resolved cgroup and the cgroups below it. 0 or -errno. */
int pidset__add_resolved(struct pidset *s, const struct pidset_cgroup *cg);
/* Resolves PATH (as above), then adds its processes. 0 or -errno. */
int pidset__add_cgroup(struct pidset *s, const char *path);
/* Resolves the unit (as above), then adds its processes. 0 or -errno. */
int pidset__add_unit(struct pidset *s, const char *unit);
void pidset__free(struct pidset *s);

#endif /* IPCRACE_PIDSET_H */
