/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The traced command: created stopped (blocked before exec) so every probe
 * is in place before its first instruction, then released.
 */
#ifndef IPCRACE_TARGET_H
#define IPCRACE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "scope.h"

struct target {
	pid_t pid;
	int release_fd;		/* write end of the pipe the child waits on */
	char exe[4096];		/* resolved executable path */
	struct scope scope;	/* private copies of the probed files (scope.h) */
};

struct target_opts {
	const char *const *private_files;	/* besides the executable: libc */
	size_t nr_private_files;
	bool host_wide;		/* share the host's files (probes trap host-wide) */
};

/*
 * Forks the child that will exec argv; it waits for target__release. Makes
 * the caller a child subreaper, so orphaned descendants are still reaped here.
 * Unless opts->host_wide, the child first moves to a mount namespace of its
 * own with private copies of its executable (and a script's interpreter)
 * and of opts->private_files (scope.h); when that cannot be done, the
 * target runs with the host's files and t->scope.why says why.
 * Returns 0 or a negative errno (one line printed).
 */
int target__spawn(struct target *t, char *const argv[], const struct target_opts *opts);

/*
 * The path to probe for a file the tree maps: its private copy when it has
 * one (written to buf), else NULL (a probe on path traps host-wide).
 */
const char *target__probe_path(const struct target *t, const char *path, char *buf, size_t len);

/* Lets the child exec; 0 or a negative errno. */
int target__release(struct target *t);

/* Kills the child (the setup failed before release). */
void target__abort(struct target *t);

/* Closes ipcrace's descriptors of the private copies (once probes are gone). */
void target__close(struct target *t);

#endif /* IPCRACE_TARGET_H */
