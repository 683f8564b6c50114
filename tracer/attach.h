/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What an attach covers, and which of those processes are adopted already.
 * -p PID[,PID...]: each process, all its threads and every descendant it
 * has when tracing starts (what they start later is followed by BPF from
 * their fork). --cgroup PATH, --unit NAME: every process in the cgroup and
 * below it (those that enter it later are marked by BPF, bpf/process.bpf.c,
 * and found again by a rescan). ipcrace itself is never covered: a scope
 * that would include it (its pid, its guardian's, an ancestor of ipcrace,
 * a cgroup holding it) is refused.
 */
#ifndef IPCRACE_ATTACH_H
#define IPCRACE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct attach_opts {
	const int *pids;		/* -p */
	size_t nr_pids;
	const char *cgroup;		/* --cgroup PATH */
	const char *unit;		/* --unit NAME */
};

struct attach_set;

/*
 * Checks the scope: the pids exist, the cgroup or unit resolves. NULL +
 * errno with one line printed.
 */
struct attach_set *attach_set__new(const struct attach_opts *opts);
void attach_set__free(struct attach_set *a);

/* Adopts pid (ppid: its parent when that is traced too, else 0); 0 or -errno. */
typedef int (*attach_adopt_fn)(void *ctx, int pid, int ppid);

/*
 * Adopts every process the scope covers that is not adopted yet, and
 * scans again until a scan finds none new (a process forked by one not yet
 * marked traced shows up in the next). Refuses, adopting nothing, when the
 * scope covers self or guardian (one line, -ELOOP). Returns the number
 * adopted or a negative errno (the adopter's first error).
 */
int attach_set__scan(struct attach_set *a, int self, int guardian, attach_adopt_fn fn, void *ctx);

/* Records pid as adopted (a fork or a join seen by BPF); false when it was already. */
bool attach_set__add(struct attach_set *a, int pid);
bool attach_set__has(const struct attach_set *a, int pid);
/* pid exited: forgotten, so that a process that takes its pid over is adopted afresh. */
void attach_set__forget(struct attach_set *a, int pid);

/* The adopted processes, in the order they were adopted. */
size_t attach_set__nr(const struct attach_set *a);
int attach_set__pid(const struct attach_set *a, size_t i);

/* The traced cgroup's id for BPF, 0 without --cgroup / --unit. */
__u64 attach_set__cgroup_id(const struct attach_set *a);

/* What the scope is, for messages: "pid 12", "cgroup /system.slice/x". */
const char *attach_set__describe(const struct attach_set *a);

#endif /* IPCRACE_ATTACH_H */
