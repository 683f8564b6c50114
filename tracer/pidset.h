/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A set of processes (tgids), filled the ways users name them: a pid with
 * its descendants, a cgroup v2 directory with the cgroups below it, a
 * systemd unit's cgroup.
 */
#ifndef IPCRACE_PIDSET_H
#define IPCRACE_PIDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct pidset {
	__u32 *pids;			/* in order of addition */
	size_t nr;
	size_t cap;
};

bool pidset__has(const struct pidset *s, __u32 pid);
/* Adds pid unless present. 0 or -ENOMEM. */
int pidset__add(struct pidset *s, __u32 pid);
/* Every existing process in the trees rooted at roots. 0 or -ENOMEM. */
int pidset__add_trees(struct pidset *s, const int *roots, size_t nr);
/* Every process of the cgroup at dir and below. 0, -ENOENT (no such cgroup), -errno. */
int pidset__add_cgroup(struct pidset *s, const char *dir);
/* The cgroup of the systemd unit NAME (system, user or init slice). 0 or -ENOENT. */
int pidset__add_unit(struct pidset *s, const char *unit);
void pidset__free(struct pidset *s);

#endif /* IPCRACE_PIDSET_H */
